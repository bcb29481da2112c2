import DomainXML
import Foundation
import Verifier

/// Derives the probe domain from a defined one: the same UUID, name, machine, sysinfo,
/// controllers, disks (buses, targets, serials, addresses), booted with the probe kernel,
/// its disks behind throw-away qcow2 overlays so the guest's images cannot be written, and
/// without the devices the probe does not read (`unusedDeviceKinds`).
public enum ProbeDomain {
    /// `scratchCache`: the overlays are thrown away, so QEMU need not flush them (cache
    /// `unsafe`, as `-snapshot` does): a flush at exit costs seconds on a host with much dirty
    /// data. Off for a live migration, whose pivot puts a real new file under the same disk.
    public static func derive(from real: DomainDefinition, images: HostPaths.ProbeImages, run: RunDirectory,
                              after: BootAction, overlays: [String: String], scratchCache: Bool = true) -> DomainDefinition {
        var d = real
        d.os.kernel = images.kernel(for: real.os)
        d.os.initrd = images.initrd
        d.os.cmdline = "console=ttyS0 quiet vmserial.mode=report vmserial.after=\(after)"
        d.os.bootDevices = []
        d.onPoweroff = "destroy"
        d.onReboot = "restart"
        d.onCrash = "destroy"
        for i in d.devices.disks.indices {
            guard let src = d.devices.disks[i].source, let overlay = overlays[src] else { continue }
            d.devices.disks[i].source = overlay
            d.devices.disks[i].driverType = "qcow2"
            // The overlay is private to this run; sharing is a host-side property the guest cannot see.
            d.devices.disks[i].shareable = false
            if scratchCache {
                d.devices.disks[i].driverOther.removeAll { $0.name == "cache" || $0.name == "io" }
                d.devices.disks[i].driverOther.append(XElement.Attribute("cache", "unsafe"))
            }
        }
        d.devices.other.removeAll { $0.name == "serial" || $0.name == "console" }
        d.devices.other += consoleDevices(console: run.path("console.log"), report: run.path("report.txt"))
        leaveOutUnused(&d)
        return d
    }

    /// Devices the probe kernel has no use for: it reads the disks' serials and the SMBIOS
    /// tables, nothing else. Left out of its boots, the firmware does not initialise them
    /// (SeaBIOS resets every USB port of a USB controller, runs a graphics card's and a NIC's
    /// option ROM), and a probe takes no host resource the VM would hold: no tap device on a
    /// bridge, no VNC or SPICE port, no passed-through host device, no TPM state.
    /// Measured under TCG: libvirt's default USB controller and balloon alone cost 0.45 s of
    /// a 4.3 s probe boot. The disks, their controllers and addresses, the machine and the
    /// SMBIOS tables stay as they are, so the guest sees its disks as the VM does.
    static let unusedDeviceKinds: Set<String> = [
        "interface", "graphics", "video", "sound", "audio", "input", "hostdev", "redirdev", "redirfilter",
        "smartcard", "channel", "rng", "tpm", "watchdog", "filesystem", "hub", "shmem", "vsock",
        "parallel", "crypto", "memballoon",
    ]

    static func leaveOutUnused(_ d: inout DomainDefinition) {
        d.devices.other.removeAll { unusedDeviceKinds.contains($0.name) }
        // libvirt adds a balloon and (on pc and q35) a USB controller to a domain that names
        // none; "none" says there is none. A USB disk keeps its controllers.
        d.devices.other.append(XElement("memballoon", [("model", "none")]))
        if !d.devices.disks.contains(where: { $0.targetBus == "usb" }) {
            // A CCID controller (for smart cards, left out above) is itself a USB device.
            d.devices.controllers.removeAll { $0.type == "usb" || $0.type == "ccid" }
            d.devices.controllers.append(Controller(type: "usb", index: 0, model: "none"))
        }
    }

    /// ttyS0 for the kernel console, ttyS1 for the report, each into a file.
    static func consoleDevices(console: String, report: String) -> [XElement] {
        [
            XElement("serial", [("type", "file")], children: [XElement("source", [("path", console)]), XElement("target", [("port", "0")])]),
            XElement("serial", [("type", "file")], children: [XElement("source", [("path", report)]), XElement("target", [("port", "1")])]),
        ]
    }

    /// Every disk source of the domain.
    public static func sources(of d: DomainDefinition) -> [(source: String, format: String)] {
        d.devices.disks.compactMap { disk in disk.source.map { ($0, disk.driverType ?? "raw") } }
    }

    /// qcow2 overlays over every source that `existing` does not cover yet, in `run`.
    /// Returns `existing` plus the new source → overlay pairs.
    public static func makeOverlays(for d: DomainDefinition, run: RunDirectory, existing: [String: String] = [:]) throws -> [String: String] {
        var map = existing
        for s in sources(of: d) where map[s.source] == nil {
            guard FileManager.default.fileExists(atPath: s.source) else {
                throw VMSerialError.badInput("disk image \(s.source) of domain \(d.name) does not exist; restore it or re-launch with the right source")
            }
            let overlay = run.path("overlay-\(map.count).qcow2")
            // Written here for qcow2 and raw (no process per disk); qemu-img for other formats.
            if try !QcowOverlay.make(overlay: overlay, backing: s.source, format: s.format) {
                _ = try Tool.run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", s.format, "-b", s.source, overlay])
            }
            map[s.source] = overlay
        }
        return map
    }
}
