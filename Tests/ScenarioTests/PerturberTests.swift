import DomainXML
import Foundation
import Testing
@testable import Scenario

@Suite struct PerturberTests {
    static let targets = ["root": "vda", "data": "sda", "share": "sdb", "fast": "vdb"]

    @Test func serialsChangeOnlyWhereNamed() throws {
        var d = recordedPCDomain()
        var targets = Self.targets
        let before = d
        try Perturber.apply(.serial(disk: "data", serial: nil), to: &d, targets: &targets)
        #expect(d.devices.disks[1].serial == nil)
        try Perturber.apply(.swapSerials("root", "share"), to: &d, targets: &targets)
        #expect(d.devices.disks[0].serial == "SATASERIAL01" && d.devices.disks[2].serial == "VIRTIOSERIAL0001")
        try Perturber.apply(.duplicateSerial("root", "fast"), to: &d, targets: &targets)
        #expect(d.devices.disks[3].serial == "SATASERIAL01")
        #expect(d.devices.disks.map(\.address) == before.devices.disks.map(\.address))
        #expect(throws: PerturbationError.self) { try Perturber.apply(.duplicateSerial("data", "root"), to: &d, targets: &targets) }
    }

    @Test func aBusMoveGivesANewTargetAndAddressAndKeepsTheSerial() throws {
        var d = recordedPCDomain()
        var targets = Self.targets
        try Perturber.apply(.bus(disk: "root", bus: .sata), to: &d, targets: &targets)
        let moved = d.devices.disks[0]
        #expect(moved.targetBus == "sata" && moved.targetDev == "sdc" && moved.address == nil && moved.serial == "VIRTIOSERIAL0001")
        #expect(targets["root"] == "sdc")
        // To NVMe: the override comes with it; away from NVMe: it goes.
        try Perturber.apply(.bus(disk: "share", bus: .nvme), to: &d, targets: &targets)
        #expect(d.isNVMe(d.devices.disks[2]) && d.devices.disks[2].targetDev == "vda")
        try Perturber.apply(.bus(disk: "fast", bus: .scsi), to: &d, targets: &targets)
        #expect(!d.isNVMe(d.devices.disks[3]) && d.qemuOverrides.count == 1)
        #expect(throws: PerturbationError.self) { try Perturber.apply(.bus(disk: "fast", bus: .scsi), to: &d, targets: &targets) }
    }

    @Test func aSCSIMoveBringsVirtioSCSI() throws {
        var d = recordedPCDomain()
        var targets = Self.targets
        d.devices.controllers.removeAll { $0.type == "scsi" }
        try Perturber.apply(.bus(disk: "root", bus: .scsi), to: &d, targets: &targets)
        #expect(d.devices.controllers.contains { $0.type == "scsi" && $0.model == "virtio-scsi" })
    }

    @Test func smbiosUUIDChangesTheDomainAndSysinfoTogether() throws {
        var d = recordedPCDomain()
        var targets = Self.targets
        d.sysinfo = .init(system: [(name: "serial", value: "S"), (name: "uuid", value: d.uuid!)])
        try Perturber.apply(.smbiosUUID("6f1c3f1e-0c1d-4d8e-9a63-1f0e2b3c4d5e"), to: &d, targets: &targets)
        #expect(d.uuid == "6f1c3f1e-0c1d-4d8e-9a63-1f0e2b3c4d5e" && d.sysinfo?[system: "uuid"] == d.uuid)
        try Perturber.apply(.smbiosUUID(nil), to: &d, targets: &targets)
        #expect(d.uuid != "6f1c3f1e-0c1d-4d8e-9a63-1f0e2b3c4d5e" && d.sysinfo?[system: "uuid"] == d.uuid)
        try Perturber.apply(.smbiosSerial(nil), to: &d, targets: &targets)
        #expect(d.sysinfo?[system: "serial"] == nil)
    }

    @Test func aTargetRenameKeepsNVMeWorking() throws {
        var d = recordedPCDomain()
        var targets = Self.targets
        try Perturber.apply(.target(disk: "fast", target: "vdz"), to: &d, targets: &targets)
        #expect(d.isNVMe(d.devices.disks[3]) && targets["fast"] == "vdz")
        #expect(throws: PerturbationError.self) { try Perturber.apply(.target(disk: "fast", target: "vda"), to: &d, targets: &targets) }
    }
}
