import DomainXML
import Foundation
import ProcessRunner
import Testing
@testable import VMSerialKit

/// The probe's transient domain: the VM's disks, controllers, machine and SMBIOS tables, and
/// none of the devices the probe kernel does not read.
@Suite struct ProbeDomainTests {
    /// A desktop-style domain as virt-install and virt-manager write them (after libvirt filled
    /// in addresses): graphics, video, a NIC, a USB controller with a tablet and a redirected
    /// port, a smart card, a guest-agent channel, sound, RNG, TPM, watchdog, a balloon.
    static let desktop = """
    <domain type='kvm'>
      <name>desk</name>
      <uuid>4b1c9f0e-8d4e-4f43-9a57-0f6f3f1d2c11</uuid>
      <memory unit='KiB'>2097152</memory>
      <vcpu placement='static'>2</vcpu>
      <sysinfo type='smbios'><system><entry name='serial'>DESK-0001</entry></system></sysinfo>
      <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><boot dev='hd'/><smbios mode='sysinfo'/></os>
      <features><acpi/><apic/></features>
      <devices>
        <emulator>/usr/bin/qemu-system-x86_64</emulator>
        <disk type='file' device='disk'>
          <driver name='qemu' type='qcow2'/>
          <source file='/srv/desk/root.qcow2'/>
          <target dev='vda' bus='virtio'/>
          <serial>DESK-ROOT</serial>
          <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
        </disk>
        <disk type='file' device='disk'>
          <driver name='qemu' type='raw'/>
          <source file='/srv/desk/data.img'/>
          <target dev='sda' bus='sata'/>
          <serial>DESK-DATA</serial>
          <address type='drive' controller='0' bus='0' target='0' unit='0'/>
        </disk>
        <controller type='usb' index='0' model='qemu-xhci' ports='15'>
          <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
        </controller>
        <controller type='sata' index='0'>
          <address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/>
        </controller>
        <controller type='pci' index='0' model='pcie-root'/>
        <controller type='pci' index='1' model='pcie-root-port'>
          <model name='pcie-root-port'/>
          <target chassis='1' port='0x10'/>
          <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0' multifunction='on'/>
        </controller>
        <controller type='ccid' index='0'><address type='usb' bus='0' port='4'/></controller>
        <smartcard mode='passthrough' type='spicevmc'><address type='ccid' controller='0' slot='0'/></smartcard>
        <controller type='virtio-serial' index='0'>
          <address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>
        </controller>
        <interface type='network'>
          <mac address='52:54:00:6b:3c:58'/>
          <source network='default'/>
          <model type='virtio'/>
          <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
        </interface>
        <serial type='pty'><target type='isa-serial' port='0'><model name='isa-serial'/></target></serial>
        <console type='pty'><target type='serial' port='0'/></console>
        <channel type='unix'>
          <target type='virtio' name='org.qemu.guest_agent.0'/>
          <address type='virtio-serial' controller='0' bus='0' port='1'/>
        </channel>
        <input type='tablet' bus='usb'><address type='usb' bus='0' port='1'/></input>
        <input type='mouse' bus='ps2'/>
        <input type='keyboard' bus='ps2'/>
        <graphics type='vnc' port='-1' autoport='yes' passwd='s3cret'><listen type='address'/></graphics>
        <sound model='ich9'><address type='pci' domain='0x0000' bus='0x00' slot='0x1b' function='0x0'/></sound>
        <audio id='1' type='none'/>
        <video><model type='virtio' heads='1' primary='yes'/><address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/></video>
        <redirdev bus='usb' type='tcp'><source mode='connect' host='127.0.0.1' service='4000'/><address type='usb' bus='0' port='2'/></redirdev>
        <watchdog model='itco' action='reset'/>
        <memballoon model='virtio'><address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/></memballoon>
        <rng model='virtio'><backend model='random'>/dev/urandom</backend><address type='pci' domain='0x0000' bus='0x06' slot='0x00' function='0x0'/></rng>
        <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
      </devices>
    </domain>
    """

    func derived(_ xml: String) throws -> (real: DomainDefinition, probe: DomainDefinition) {
        let real = try DomainDefinition(xml: xml)
        let base = try QemuToolSupport.scratchFolder("probedomain")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let run = try RunDirectory(label: "t", qemu: .current, base: base)
        defer { run.remove() }
        let overlays = Dictionary(uniqueKeysWithValues: ProbeDomain.sources(of: real).enumerated().map { ($1.source, run.path("overlay-\($0).qcow2")) })
        let probe = ProbeDomain.derive(from: real, images: HostPaths.ProbeImages(folder: "/nonexistent"), run: run,
                                       after: .poweroff, overlays: overlays)
        // What libvirt is handed: the rendered XML, parsed again.
        return (real, try DomainDefinition(xml: probe.xml()))
    }

    func kinds(_ d: DomainDefinition) -> Set<String> { Set(d.devices.other.map(\.name)) }

    @Test("a desktop domain's probe keeps its disks, disk controllers, machine and SMBIOS; drops graphics, NIC, USB, channels, sound, RNG, TPM, watchdog, balloon")
    func desktopDomain() throws {
        let (real, probe) = try derived(Self.desktop)
        // What the guest sees of its disks is the VM's: target, bus, serial, address.
        #expect(probe.devices.disks.map(\.targetDev) == real.devices.disks.map(\.targetDev))
        #expect(probe.devices.disks.map(\.targetBus) == real.devices.disks.map(\.targetBus))
        #expect(probe.devices.disks.map(\.serial) == ["DESK-ROOT", "DESK-DATA"])
        #expect(probe.devices.disks.map(\.address) == real.devices.disks.map(\.address))
        #expect(probe.os.machine == "pc-q35-7.2")
        #expect(probe.sysinfo == real.sysinfo)
        #expect(probe.uuid == real.uuid)
        // Every controller but USB, addresses unchanged; USB is said to be absent, or libvirt adds one.
        let usb = probe.devices.controllers.filter { $0.type == "usb" }
        #expect(usb.count == 1 && usb.first?.model == "none", "\(usb)")
        #expect(probe.devices.controllers.filter { $0.type != "usb" } == real.devices.controllers.filter { !["usb", "ccid"].contains($0.type) },
                "the disks' controllers, PCI and virtio-serial stay; the smart card's CCID (a USB device) goes")
        // Left out: everything the probe does not read; the balloon is said to be absent too.
        let gone: Set<String> = ["interface", "graphics", "video", "sound", "audio", "input", "redirdev", "smartcard", "channel", "rng", "tpm", "watchdog"]
        #expect(kinds(probe).isDisjoint(with: gone), "\(kinds(probe))")
        let balloons = probe.devices.other.filter { $0.name == "memballoon" }
        #expect(balloons.count == 1 && balloons.first?[attribute: "model"] == "none")
        #expect(!probe.xml().contains("s3cret"), "no VNC password in the probe's XML")
        // libvirt's own schema accepts what is left.
        let folder = try QemuToolSupport.scratchFolder("probedomain-xml")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/probe.xml"
        try Data(probe.xml().utf8).write(to: URL(fileURLWithPath: file))
        let validate = try Command("/usr/bin/virt-xml-validate", [file, "domain"]).run()
        #expect(validate.succeeded, "virt-xml-validate (libvirt-clients, libxml2-utils): \(validate.output)\(validate.errorOutput)")
        // The probe's own consoles: kernel console and report, each into a file of the run.
        let serials = probe.devices.other.filter { $0.name == "serial" }
        #expect(serials.count == 2)
        #expect(serials.allSatisfy { $0[attribute: "type"] == "file" })
    }

    @Test("a disk on the USB bus keeps the USB controllers its serial is read through")
    func usbDisk() throws {
        let xml = Self.desktop.replacingOccurrences(of: "<target dev='sda' bus='sata'/>", with: "<target dev='sda' bus='usb'/>")
            .replacingOccurrences(of: "<address type='drive' controller='0' bus='0' target='0' unit='0'/>", with: "<address type='usb' bus='0' port='3'/>")
        let (real, probe) = try derived(xml)
        #expect(probe.devices.controllers.filter { $0.type == "usb" } == real.devices.controllers.filter { $0.type == "usb" })
        #expect(probe.devices.disks.first { $0.targetDev == "sda" }?.targetBus == "usb")
    }

    @Test("a domain with nothing to leave out gets only the absent balloon and USB said")
    func minimalDomain() throws {
        let xml = """
        <domain type='qemu'><name>m</name><uuid>0d7c1f52-3b0e-4a8a-9f1e-2c5d6e7f8a9b</uuid>
          <memory unit='KiB'>524288</memory><vcpu>1</vcpu>
          <os><type arch='x86_64' machine='pc'>hvm</type><kernel>/boot/vmlinuz</kernel></os>
          <devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/srv/m.img'/>
            <target dev='vda' bus='virtio'/><serial>M-1</serial></disk></devices>
        </domain>
        """
        let (_, probe) = try derived(xml)
        #expect(probe.devices.controllers.map(\.type) == ["usb"])
        #expect(probe.devices.other.map(\.name).sorted() == ["memballoon", "serial", "serial"])
    }
}
