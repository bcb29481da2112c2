import Foundation
import Testing
@testable import DomainXML

let sampleMetadata = SerialMetadata(
    smbiosMode: "custom", smbiosSerial: "ASSET & <42>", uuid: "5f0c6c3e-8d1a-4b7e-9a51-0f3c2b6d7e10",
    disks: [
        .init(name: "root", volume: "vm1/root", bus: "virtio", target: "vda", serial: "VS0A1B2C3D4E5F6G7H8J", generated: true),
        .init(name: "data", volume: "team-share", bus: "scsi", target: "sda", serial: "MANUAL-0001", generated: false),
        .init(name: "scratch", volume: "vm1/scratch", bus: "nvme", target: "nvme0", serial: nil, generated: false),
    ])

@Suite("SerialMetadata")
struct SerialMetadataTests {
    @Test func renderThenParse() throws {
        let xml = sampleMetadata.element().rendered()
        #expect(xml.hasPrefix("<vms:instance xmlns:vms='https://vmserial.dev/xmlns/instance/1' version='1'>"))
        let parsed = try #require(SerialMetadata(metadata: [try XElement.parse(xml)]))
        #expect(parsed == sampleMetadata)
        #expect(parsed.disks[2].serial == nil)
        #expect(parsed.disks.map(\.generated) == [true, false, false])
    }

    @Test func parsedFromLibvirtsDump() throws {
        let m = try #require(try Domain(xml: libvirtDump).serialMetadata)
        #expect(m.smbiosMode == "unique")
        #expect(m.uuid == "5f0c6c3e-8d1a-4b7e-9a51-0f3c2b6d7e10")
        #expect(m.disks.map(\.target) == ["vda", "sda"])
        #expect(m.disks.map(\.serial) == ["VS0A1B2C3D4E5F6G7H8J", "MANUAL-0001"])
    }

    /// libvirt stores metadata under the prefix given to virDomainSetMetadata and may hand it
    /// back under another one; only the namespace counts.
    @Test(arguments: ["vmserial", "ns0", "x"])
    func foundWhateverThePrefix(prefix: String) throws {
        let xml = sampleMetadata.element().rendered()
            .replacingOccurrences(of: "vms:", with: "\(prefix):")
            .replacingOccurrences(of: "xmlns:vms=", with: "xmlns:\(prefix)=")
        #expect(xml.contains("<\(prefix):instance xmlns:\(prefix)='https://vmserial.dev/xmlns/instance/1'"))
        let m = try #require(SerialMetadata(metadata: [try XElement.parse(xml)]))
        #expect(m == sampleMetadata)
    }

    @Test func foundWithADefaultNamespace() throws {
        let xml = """
            <instance xmlns="https://vmserial.dev/xmlns/instance/1" version="1">
              <smbios mode="none" uuid="u-1"/>
              <disk name="root" volume="vm1/root" bus="sata" target="sda" serial="S1" generated="yes"/>
            </instance>
            """
        let m = try #require(SerialMetadata(metadata: [try XElement.parse(xml)]))
        #expect(m.smbiosMode == "none")
        #expect(m.smbiosSerial == nil)
        #expect(m.disks.map(\.serial) == ["S1"])
    }

    @Test func otherNamespacesAreIgnored() throws {
        let foreign = try XElement.parse("<app:instance xmlns:app='https://example.com/app'><app:smbios mode='unique' uuid='x'/></app:instance>")
        #expect(SerialMetadata(metadata: [foreign]) == nil)
        let wrongVersion = try XElement.parse(sampleMetadata.element().rendered()
            .replacingOccurrences(of: "instance/1", with: "instance/2"))
        #expect(SerialMetadata(metadata: [wrongVersion]) == nil)
        #expect(SerialMetadata(metadata: []) == nil)
    }

    @Test func settingReplacesOursAndKeepsOthers() throws {
        var d = try Domain(xml: libvirtDump)
        let foreign = try XElement.parse("<app:note xmlns:app='https://example.com/app'>keep me</app:note>")
        d.metadata.insert(foreign, at: 0)
        d.serialMetadata = sampleMetadata
        #expect(d.metadata.count == 2)
        #expect(d.metadata.first == foreign)
        let back = try Domain(xml: d.xml())
        #expect(back.serialMetadata == sampleMetadata)
        #expect(back.metadata.first?.text == "keep me")
        d.serialMetadata = nil
        #expect(d.metadata == [foreign])
    }
}

@Suite("NVMe disks through <qemu:override>")
struct QemuOverrideTests {
    @Test func readFromLibvirtsDump() throws {
        let d = try Domain(xml: libvirtDump)
        #expect(d.qemuOverrides == [
            QemuDeviceOverride(alias: "ua-vmserial-nvme-vdb", properties: [.init(name: "driver", type: "string", value: "nvme")]),
        ])
        #expect(d.devices.disks.map { d.isNVMe($0) } == [false, false, false, true])
        #expect(d.devices.disks[3].source == "/srv/vms/vm1/fast,1.raw")
    }

    @Test func nvmeOverrideNamesTheDisksAlias() {
        #expect(QemuDeviceOverride.nvmeAlias(target: "vdc") == "ua-vmserial-nvme-vdc")
        let o = QemuDeviceOverride.nvme(target: "vdc")
        #expect(o.alias == "ua-vmserial-nvme-vdc")
        #expect(o.properties == [.init(name: "driver", type: "string", value: "nvme")])
        #expect(o.element().rendered() == """
            <qemu:device alias='ua-vmserial-nvme-vdc'>
              <qemu:frontend>
                <qemu:property name='driver' type='string' value='nvme'/>
              </qemu:frontend>
            </qemu:device>

            """)
    }

    @Test func isNVMeNeedsAnOverrideForTheSameAliasThatSetsDriverNVMe() {
        var disk = Disk(driverType: "raw", source: "/a.img", targetDev: "vdb", targetBus: "virtio", serial: nil)
        var d = Domain(type: "qemu", name: "n", memoryKiB: 1024, vcpus: 1, os: .init())
        d.devices.disks = [disk]
        #expect(!d.isNVMe(disk))                       // no alias
        disk.alias = QemuDeviceOverride.nvmeAlias(target: "vdb")
        #expect(!d.isNVMe(disk))                       // alias, but no override
        d.qemuOverrides = [QemuDeviceOverride(alias: disk.alias!, properties: [.init(name: "serial", value: "X")])]
        #expect(!d.isNVMe(disk))                       // override of another property
        d.qemuOverrides = [.nvme(target: "vdc")]
        #expect(!d.isNVMe(disk))                       // another disk's override
        d.qemuOverrides.append(.nvme(target: "vdb"))
        #expect(d.isNVMe(disk))
    }

    @Test func overridesAndCommandLineRoundTrip() throws {
        var d = Domain(type: "qemu", name: "n", memoryKiB: 1024, vcpus: 1, os: .init(machine: "pc"),
                       qemuArgs: ["-s", "-global", "a.b=c,,d"])
        d.qemuOverrides = [.nvme(target: "vdb"), .nvme(target: "vdc")]
        let xml = d.xml()
        #expect(xml.contains("xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"))
        let back = try Domain(xml: xml)
        #expect(back.qemuOverrides == d.qemuOverrides)
        #expect(back.qemuArgs == ["-s", "-global", "a.b=c,,d"])
        #expect(try Domain(xml: back.xml()) == back)
    }

    @Test func overridesAloneDeclareTheQemuNamespace() throws {
        var d = Domain(type: "qemu", name: "n", memoryKiB: 1024, vcpus: 1, os: .init())
        d.qemuOverrides = [.nvme(target: "vda")]
        let root = try XElement.parse(d.xml())
        #expect(root[attribute: "xmlns:qemu"] == Domain.qemuNamespace)
        #expect(root.first("qemu:override")?.elements.count == 1)
        #expect(root.first("qemu:commandline") == nil)
    }
}
