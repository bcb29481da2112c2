import DomainXML
import Foundation
import Verifier

/// Derives the probe domain from a defined one: the same UUID, name, machine, sysinfo,
/// controllers, disks (buses, targets, serials, addresses), booted with the probe kernel,
/// its disks behind throw-away qcow2 overlays so the guest's images cannot be written.
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
        return d
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
