import Foundation
import Testing
@testable import DomainXML
import ProcessRunner

/// Runs libvirt's `virt-xml-validate FILE domain` on `xml`; returns (exit status, output).
func validateWithLibvirtSchema(_ xml: String) throws -> (status: Int32, output: String) {
    let tool = ["/usr/bin/virt-xml-validate", "/usr/local/bin/virt-xml-validate"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
        ?? (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .map { "\($0)/virt-xml-validate" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let tool else {
        Issue.record("virt-xml-validate is missing: install libxml2-utils and libvirt-clients (apt-get install libxml2-utils libvirt-clients)")
        return (-1, "")
    }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("domainxml-\(UUID().uuidString).xml")
    try Data(xml.utf8).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let result = try Command(tool, [file.path, "domain"]).run()
    let out = result.output + result.errorOutput
    if !result.succeeded, out.contains("xmllint") {
        Issue.record("virt-xml-validate needs xmllint: install libxml2-utils")
    }
    return (result.status, out)
}

/// A domain as vmserial builds one: direct kernel boot, SMBIOS from sysinfo, one disk per
/// bus, NVMe through `<qemu:override>`, vmserial's metadata.
func builtDomain() -> Domain {
    let uuid = "0d7c1f52-3b0e-4a8a-9f1e-2c5d6e7f8a9b"
    var d = Domain(type: "qemu", name: "vm1", uuid: uuid, memoryKiB: 512 * 1024, vcpus: 1,
                   os: .init(arch: "x86_64", machine: "pc", kernel: "/boot/vmlinuz", initrd: "/boot/initrd.img",
                             cmdline: "console=ttyS0", smbiosMode: "sysinfo"),
                   sysinfo: .init(system: [(name: "serial", value: uuid), (name: "uuid", value: uuid)]),
                   features: ["acpi", "apic"], onPoweroff: "destroy", onReboot: "restart", onCrash: "destroy")
    d.devices.disks = [
        Disk(driverType: "qcow2", source: "/srv/vm1/root.qcow2", targetDev: "vda", targetBus: "virtio", serial: "VS0A1B2C3D4E5F6G7H8J"),
        Disk(driverType: "raw", source: "/srv/vm1/data.img", targetDev: "sda", targetBus: "scsi",
             serial: "MANUAL-0001", address: .drive(controller: 0, unit: 0)),
        Disk(driverType: "raw", source: "/srv/shared/team.img", targetDev: "sdb", targetBus: "sata",
             serial: "VSZZ99YY88XX77WW66VV", shareable: true, readonly: false),
        Disk(driverType: "raw", source: "/srv/iso/tools.img", targetDev: "vdb", targetBus: "virtio", serial: nil,
             readonly: true, address: .pci(bus: 0, slot: 7)),
    ]
    d.devices.controllers = [
        Controller(type: "scsi", index: 0, model: "virtio-scsi", address: .pci(bus: 0, slot: 5)),
        Controller(type: "sata", index: 0),
    ]
    d.devices.other = [
        XElement("serial", [("type", "pty")], children: [XElement("target", [("port", "0")])]),
        XElement("console", [("type", "pty")], children: [XElement("target", [("type", "serial"), ("port", "0")])]),
    ]
    var nvme = Disk(driverType: "raw", source: "/srv/vm1/fast,1.raw", targetDev: "vdc", targetBus: "virtio",
                    serial: "VSNVME0000000000000A")
    nvme.alias = QemuDeviceOverride.nvmeAlias(target: "vdc")
    d.devices.disks.append(nvme)
    d.qemuOverrides = [.nvme(target: "vdc")]
    d.serialMetadata = sampleMetadata
    return d
}

@Suite("libvirt's schema")
struct SchemaTests {
    @Test func builtDomainValidates() throws {
        let xml = builtDomain().xml()
        let (status, output) = try validateWithLibvirtSchema(xml)
        #expect(status == 0, "virt-xml-validate: \(output)\n\(xml)")
    }

    @Test func renderedLibvirtDumpValidates() throws {
        let xml = try Domain(xml: libvirtDump).xml()
        let (status, output) = try validateWithLibvirtSchema(xml)
        #expect(status == 0, "virt-xml-validate: \(output)\n\(xml)")
    }

    /// A disk on an NBD Unix socket (guest mode serves images through qemu-nbd): the source has
    /// no file, only a protocol and a host; it validates, keeps its serial and reads back whole.
    @Test func networkDiskValidatesAndReadsBack() throws {
        var d = builtDomain()
        d.devices.disks[1] = d.devices.disks[1].onNBDSocket("/run/vmserial/disk1.sock")
        let xml = d.xml()
        let source = try #require(try XElement.parse(xml).first("devices")?.all("disk")[1].first("source"))
        #expect(source.attributes.map(\.name) == ["protocol"], "\(xml)")
        #expect(source.elements.map(\.name) == ["host"], "\(xml)")
        let (status, output) = try validateWithLibvirtSchema(xml)
        #expect(status == 0, "virt-xml-validate: \(output)\n\(xml)")
        let back = try Domain(xml: xml).devices.disks[1]
        #expect(back.type == "network")
        #expect(back.source == nil)
        #expect(back.serial == "MANUAL-0001" && back.targetDev == "sda" && back.targetBus == "scsi")
        #expect(back.address == (try Domain(xml: builtDomain().xml())).devices.disks[1].address)
        #expect(back.sourceOther.map(\.name) == ["protocol"])
        #expect(back.sourceChildren.first?[attribute: "socket"] == "/run/vmserial/disk1.sock")
        #expect(builtDomain().devices.disks[2].onNBDSocket("/s").shareable, "a shared disk stays shared")
        #expect(builtDomain().devices.disks[3].onNBDSocket("/s").readonly, "a read-only disk stays read-only")
    }

    /// The validator is not a rubber stamp: a bus libvirt does not know fails.
    @Test func invalidDomainIsRejected() throws {
        var d = builtDomain()
        d.devices.disks[0].targetBus = "bogus"
        let (status, _) = try validateWithLibvirtSchema(d.xml())
        #expect(status != 0)
    }

    @Test func builtDomainReadsBack() throws {
        let d = builtDomain()
        let back = try Domain(xml: d.xml())
        // Parsing orders attributes, so compare the parsed form with itself after another round.
        #expect(try Domain(xml: back.xml()) == back)
        #expect(back.devices.disks.map(\.targetDev) == d.devices.disks.map(\.targetDev))
        #expect(back.devices.controllers.map(\.model) == ["virtio-scsi", nil])
        #expect(back.qemuOverrides == d.qemuOverrides)
        #expect(back.os == d.os)
        #expect(back.devices.disks.map(\.serial) == ["VS0A1B2C3D4E5F6G7H8J", "MANUAL-0001", "VSZZ99YY88XX77WW66VV", nil,
                                                     "VSNVME0000000000000A"])
        #expect(back.devices.disks.map(\.readonly) == [false, false, false, true, false])
        #expect(back.devices.disks.map { back.isNVMe($0) } == [false, false, false, false, true])
        #expect(back.devices.disks[3].address?.number("slot") == 7)
        #expect(back.sysinfo?[system: "serial"] == "0d7c1f52-3b0e-4a8a-9f1e-2c5d6e7f8a9b")
        #expect(back.serialMetadata == sampleMetadata)
        #expect(back.devices.disks[4].source == "/srv/vm1/fast,1.raw")
        #expect(back.devices.disks[4].alias == "ua-vmserial-nvme-vdc")
    }
}
