import Foundation
import SerialPolicy
import Testing
@testable import VMSpec

/// The example spec from the issue, as a user writes it.
let exampleSpec = """
{
  "name": "vm1", "memoryMiB": 512, "vcpus": 1, "accel": "auto",
  "boot": { "kernel": "/boot/vmlinuz-6.1.0-amd64", "initrd": "/boot/initrd.img-6.1.0-amd64", "cmdline": "console=ttyS0" },
  "smbios": { "mode": "unique" }, "generateDiskSerials": true,
  "disks": [
    { "name": "root", "source": "root.qcow2", "format": "qcow2", "bus": "virtio" },
    { "name": "data", "source": "data.qcow2", "bus": "scsi", "serial": "MANUAL-0001" },
    { "name": "share", "volume": "team-share", "source": "share.qcow2", "bus": "sata", "shareable": true }
  ]
}
"""

@Suite("Decoding specs")
struct DecodeTests {
    @Test func exampleSpecDecodesEveryField() throws {
        let s = try SpecLoader.decode(Data(exampleSpec.utf8))
        #expect(s.name == "vm1")
        #expect(s.uuid == nil)
        #expect(s.memoryMiB == 512)
        #expect(s.vcpus == 1)
        #expect(s.accel == .auto)
        #expect(s.machine == .pc)
        #expect(s.boot == .kernel(kernel: "/boot/vmlinuz-6.1.0-amd64", initrd: "/boot/initrd.img-6.1.0-amd64", cmdline: "console=ttyS0"))
        #expect(s.smbios == VMSpec.SMBIOS(mode: .unique, serial: nil))
        #expect(s.generateDiskSerials == true)
        #expect(s.disks == [
            VMSpec.Disk(name: "root", volume: nil, source: "root.qcow2", format: .qcow2, bus: .virtio, target: nil, serial: nil, shareable: false),
            VMSpec.Disk(name: "data", volume: nil, source: "data.qcow2", format: nil, bus: .scsi, target: nil, serial: "MANUAL-0001", shareable: false),
            VMSpec.Disk(name: "share", volume: "team-share", source: "share.qcow2", format: nil, bus: .sata, target: nil, serial: nil, shareable: true),
        ])
    }

    @Test func nonDefaultValuesDecode() throws {
        let s = try SpecLoader.decode(Data("""
            { "name": "vm2", "uuid": "8E1A8B5E-4C57-4D5A-9E53-6C0F3F0B2D11", "memoryMiB": 2048, "vcpus": 4,
              "accel": "tcg", "machine": "q35", "boot": { "firmware": "uefi" },
              "smbios": { "mode": "custom", "serial": "ASSET-42" }, "generateDiskSerials": false,
              "disks": [ { "name": "d", "source": "/img/d.raw", "format": "raw", "bus": "nvme", "target": "nvme3" } ] }
            """.utf8))
        #expect(s.uuid == "8E1A8B5E-4C57-4D5A-9E53-6C0F3F0B2D11")
        #expect(s.memoryMiB == 2048)
        #expect(s.vcpus == 4)
        #expect(s.accel == .tcg)
        #expect(s.machine == .q35)
        #expect(s.boot == .firmware(.uefi))
        #expect(s.smbios == VMSpec.SMBIOS(mode: .custom, serial: "ASSET-42"))
        #expect(s.generateDiskSerials == false)
        #expect(s.disks.first?.bus == .nvme)
        #expect(s.disks.first?.target == "nvme3")
        #expect(s.disks.first?.format == .raw)
    }

    /// A file written before memory, vcpus, accel, machine, smbios and generateDiskSerials existed.
    @Test func olderFileStillLoadsWithDefaults() throws {
        let s = try SpecLoader.decode(Data("""
            { "name": "old", "boot": { "kernel": "/boot/vmlinuz" },
              "disks": [ { "name": "root", "source": "/img/root.img" } ] }
            """.utf8))
        #expect(s.memoryMiB == 512)
        #expect(s.vcpus == 1)
        #expect(s.accel == .auto)
        #expect(s.machine == .pc)
        #expect(s.smbios.mode == .unique)
        #expect(s.smbios.serial == nil)
        #expect(s.generateDiskSerials == true)
        #expect(s.uuid == nil)
        #expect(s.boot == .kernel(kernel: "/boot/vmlinuz", initrd: nil, cmdline: nil))
        let d = try #require(s.disks.first)
        #expect(d.bus == .virtio)
        #expect(d.format == nil)
        #expect(d.shareable == false)
        #expect(d.volume == nil)
        #expect(d.target == nil)
        let r = try SpecValidator.resolve(s, specPath: nil, baseDirectory: "/", checkFiles: false)
        #expect(r.disks.map(\.target) == ["vda"])
        #expect(r.disks.first?.volume == VolumeIdentity("old/root"))
    }

    @Test func encodeThenDecodeGivesTheSameSpec() throws {
        let s = try SpecLoader.decode(Data(exampleSpec.utf8))
        let again = try SpecLoader.decode(JSONEncoder().encode(s))
        #expect(again == s)
    }

    @Test func unknownTopLevelKeyIsNamed() throws {
        let e = #expect(throws: SpecError.self) {
            try SpecLoader.decode(Data(#"{ "name": "vm1", "boot": { "kernel": "/k" }, "memoryMB": 512 }"#.utf8))
        }
        let p = try #require(e?.problems.first)
        #expect(e?.problems.count == 1)
        #expect(p.field == "memoryMB")
        #expect(p.message.contains("\"memoryMB\""))
        #expect(p.fix.contains("memoryMiB"))
    }

    @Test func misspeltDiskKeyIsNamedWithItsDisk() throws {
        let e = #expect(throws: SpecError.self) {
            try SpecLoader.decode(Data(spec(disks: [
                #"{ "name": "root", "source": "/r.img" }"#,
                #"{ "name": "data", "source": "/d.img", "serail": "ABC" }"#,
            ]).utf8))
        }
        let p = try #require(e?.problems.first)
        #expect(p.field == "disks[1].serail")
        #expect(p.message.contains("\"serail\""))
        #expect(p.message.contains("disks[1]"))
        #expect(p.fix.contains("serial"))
    }

    @Test func unknownBusListsTheChoices() throws {
        let e = #expect(throws: SpecError.self) {
            try SpecLoader.decode(Data(spec(disks: [#"{ "name": "root", "source": "/r.img", "bus": "ide" }"#]).utf8))
        }
        let p = try #require(e?.problems.first)
        #expect(p.field == "disks[0].bus")
        #expect(p.message.contains("ide"))
        #expect(p.fix.contains("virtio, scsi, sata, nvme"))
        #expect(p.description.contains("disks[0].bus"))
        #expect(p.description.contains("virtio, scsi, sata, nvme"))
    }

    @Test(arguments: [
        (#""accel": "hvf""#, "hvf", "accel", "auto, kvm, tcg"),
        (#""machine": "virt""#, "virt", "machine", "pc, q35"),
        (#""smbios": { "mode": "os" }"#, "os", "smbios.mode", "unique, none, host, custom"),
    ])
    func unknownEnumValueListsTheChoices(member: String, value: String, field: String, choices: String) throws {
        let e = #expect(throws: SpecError.self) {
            try SpecLoader.decode(Data(spec(disks: [], extra: member).utf8))
        }
        let p = try #require(e?.problems.first)
        #expect(p.field == field)
        #expect(p.message.contains(value))
        #expect(p.fix.contains(choices))
    }

    @Test func bootWithKernelAndFirmwareIsRefused() throws {
        let e = #expect(throws: SpecError.self) {
            try SpecLoader.decode(Data(#"{ "name": "vm1", "boot": { "kernel": "/k", "firmware": "bios" } }"#.utf8))
        }
        let p = try #require(e?.problems.first)
        #expect(p.field == "boot")
        #expect(p.message.contains("not both"))
    }

    @Test func bootWithNeitherIsRefused() throws {
        let e = #expect(throws: SpecError.self) {
            try SpecLoader.decode(Data(#"{ "name": "vm1", "boot": { "cmdline": "quiet" } }"#.utf8))
        }
        let p = try #require(e?.problems.first)
        #expect(p.field == "boot")
        #expect(p.message.contains("kernel"))
        #expect(p.message.contains("firmware"))
    }

    @Test func missingRequiredKeyIsNamed() throws {
        let e = #expect(throws: SpecError.self) {
            try SpecLoader.decode(Data(spec(disks: [#"{ "name": "root" }"#]).utf8))
        }
        let p = try #require(e?.problems.first)
        #expect(p.field == "disks[0].source")
        #expect(p.message.contains("\"source\""))
    }

    @Test func wrongTypeIsNamed() throws {
        let e = #expect(throws: SpecError.self) {
            try SpecLoader.decode(Data(#"{ "name": "vm1", "boot": { "kernel": "/k" }, "vcpus": "two" }"#.utf8))
        }
        let p = try #require(e?.problems.first)
        #expect(p.field == "vcpus")
        #expect(p.message.contains("whole number"))
    }

    @Test func invalidJSONIsAProblemOfTheFile() throws {
        let e = #expect(throws: SpecError.self) {
            try SpecLoader.decode(Data(#"{ "name": "vm1", "#.utf8))
        }
        let p = try #require(e?.problems.first)
        #expect(p.field == "(file)")
        #expect(p.message.contains("not valid JSON"))
    }

    @Test func missingSpecFileIsUnreadable() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = dir.file("nope.json")
        #expect(throws: SpecError.unreadable(path: path, reason: "no such file")) {
            try SpecLoader.load(path: path)
        }
    }
}
