import Foundation
import SerialPolicy
import Testing
@testable import SerialRegistry

@Suite("Assigning identities")
struct AssignTests {
    @Test(arguments: Backend.allCases)
    func firstAssignment(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let a = try reg.assign(example())
        #expect(UUID(uuidString: a.uuid) != nil)
        #expect(a.uuid == a.uuid.lowercased())
        #expect(a.smbiosMode == "unique")
        #expect(a.disks.map(\.name) == ["root", "data", "share"])
        #expect(a.disks.map(\.target) == ["vda", "sda", "sdb"])
        #expect(a.disks.map(\.volume.value) == ["vm1/root", "vm1/data", "team-share"])
        #expect(a.disks[1].serial == "MANUAL-0001")
        #expect(a.disks.map(\.generated) == [true, false, true])
        for d in [a.disks[0], a.disks[2]] {
            let s = try #require(d.serial)
            #expect(SerialGenerator.looksGenerated(s), "\(s) does not look generated")
        }
        #expect(a.disks[0].serial != a.disks[2].serial)
        #expect(a.warnings == [])
        // What the registry keeps is what it handed out.
        #expect(try reg.assignment(vm: "vm1") == a)
    }

    @Test(arguments: Backend.allCases)
    func sameVMTwiceKeepsUUIDAndSerials(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let first = try reg.assign(example())
        let second = try reg.assign(example())
        #expect(second.uuid == first.uuid)
        #expect(second.disks.map(\.serial) == first.disks.map(\.serial))
        #expect(second == first)
        // Removing the user serial from the spec keeps the registered one.
        let third = try reg.assign(example(dataSerial: nil))
        #expect(third.disks[1].serial == "MANUAL-0001")
    }

    @Test(arguments: Backend.allCases)
    func twoVMsGetDisjointSerials(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let disks = ["a", "b", "c", "d", "e"]
        let a = try reg.assign(request("vm1", disks: disks.map { disk("vm1", $0) }))
        let b = try reg.assign(request("vm2", disks: disks.map { disk("vm2", $0) }))
        let sa = Set(a.disks.compactMap(\.serial)), sb = Set(b.disks.compactMap(\.serial))
        #expect(sa.count == 5)
        #expect(sb.count == 5)
        #expect(sa.isDisjoint(with: sb))
        #expect(a.uuid != b.uuid)
        #expect(try reg.assignments().map(\.vm) == ["vm1", "vm2"])
    }

    @Test(arguments: Backend.allCases)
    func sharedVolumeHasOneSerial(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let a = try reg.assign(example("vm1"))
        // vm2 attaches the same volume under another disk name, bus and target.
        let b = try reg.assign(request("vm2", disks: [
            disk("vm2", "root"),
            disk("vm2", "team", bus: .scsi, target: "sda", volume: "team-share", source: "/srv/shared/team-share.img"),
        ]))
        let shared = try #require(a.disk(named: "share")?.serial)
        #expect(b.disk(named: "team")?.serial == shared)
        #expect(b.disk(named: "team")?.generated == true)
        #expect(b.disk(named: "root")?.serial != a.disk(named: "root")?.serial)
        #expect(try reg.assignment(vm: "vm1")?.disk(named: "share")?.serial == shared)
    }

    @Test(arguments: Backend.allCases)
    func userSerialHeldByAnotherVolume(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        _ = try reg.assign(example("vm1"))
        let e = #expect(throws: RegistryError.self) {
            try reg.assign(request("vm2", disks: [disk("vm2", "data", serial: "MANUAL-0001")]))
        }
        #expect(e == .duplicateSerial(serial: "MANUAL-0001", volume: VolumeIdentity("vm2/data"), heldBy: VolumeIdentity("vm1/data")))
        #expect(e?.description.contains("vm2/data") == true)
        #expect(e?.description.contains("vm1/data") == true)
        #expect(try reg.assignment(vm: "vm2") == nil)
    }

    @Test(arguments: Backend.allCases)
    func userSerialTakenFromAGeneratedOne(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let a = try reg.assign(example("vm1"))
        let generated = try #require(a.disk(named: "root")?.serial)
        #expect(throws: RegistryError.duplicateSerial(serial: generated, volume: VolumeIdentity("vm2/root"), heldBy: VolumeIdentity("vm1/root"))) {
            try reg.assign(request("vm2", disks: [disk("vm2", "root", serial: generated)]))
        }
    }

    @Test(arguments: Backend.allCases)
    func changingARegisteredSerialIsRefused(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let a = try reg.assign(example())
        #expect(throws: RegistryError.serialChange(volume: VolumeIdentity("vm1/data"), registered: "MANUAL-0001", requested: "MANUAL-0002")) {
            try reg.assign(example(dataSerial: "MANUAL-0002"))
        }
        // A user serial for a disk that already has a generated one is a change too.
        let generated = try #require(a.disk(named: "root")?.serial)
        var r = example()
        r.disks[0].serial = "MINE-1"
        #expect(throws: RegistryError.serialChange(volume: VolumeIdentity("vm1/root"), registered: generated, requested: "MINE-1")) {
            try reg.assign(r)
        }
        #expect(try reg.assignment(vm: "vm1") == a)
    }

    @Test(arguments: Backend.allCases)
    func pinnedUUID(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        var r = example()
        r.uuid = "8E1A8B5E-4C57-4D5A-9E53-6C0F3F0B2D11"
        let a = try reg.assign(r)
        #expect(a.uuid == "8e1a8b5e-4c57-4d5a-9e53-6c0f3f0b2d11")
        #expect(a.smbiosSerial == "8e1a8b5e-4c57-4d5a-9e53-6c0f3f0b2d11")
        // Same UUID in another case: fine.
        r.uuid = "8e1a8b5e-4c57-4d5a-9e53-6c0f3f0b2d11"
        #expect(try reg.assign(r).uuid == a.uuid)
        // Unpinned afterwards: the registered one stays.
        r.uuid = nil
        #expect(try reg.assign(r).uuid == a.uuid)
        r.uuid = "11111111-2222-3333-4444-555555555555"
        #expect(throws: RegistryError.uuidMismatch(vm: "vm1", registered: a.uuid, requested: "11111111-2222-3333-4444-555555555555")) {
            try reg.assign(r)
        }
    }

    @Test(arguments: Backend.allCases)
    func pinnedUUIDOfAnotherVM(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let a = try reg.assign(example("vm1"))
        var r = request("vm2", disks: [disk("vm2", "root")])
        r.uuid = a.uuid.uppercased()
        #expect(throws: RegistryError.uuidTaken(uuid: a.uuid, vm: "vm2", by: "vm1")) { try reg.assign(r) }
    }

    @Test(arguments: Backend.allCases, [
        ("unique", nil, "UUID"),
        ("none", nil, nil),
        ("custom", "ASSET-42", "ASSET-42"),
        ("host", "4c4c4544-0051-3410-8057-b4c04f4d4e31", "4c4c4544-0051-3410-8057-b4c04f4d4e31"),
    ] as [(String, String?, String?)])
    func smbiosModes(backend: Backend, choice: (String, String?, String?)) throws {
        let (mode, given, expected) = choice
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let a = try reg.assign(request("vm1", smbios: mode, smbiosSerial: given, disks: []))
        #expect(a.smbiosMode == mode)
        #expect(a.smbiosSerial == (expected == "UUID" ? a.uuid : expected))
        let stored = try #require(try reg.assignment(vm: "vm1"))
        #expect(stored.smbiosMode == mode)
        #expect(stored.smbiosSerial == a.smbiosSerial)
    }

    @Test(arguments: Backend.allCases)
    func smbiosModeCanChangeBetweenLaunches(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let a = try reg.assign(request("vm1", smbios: "custom", smbiosSerial: "ASSET-1", disks: []))
        let b = try reg.assign(request("vm1", smbios: "unique", disks: []))
        #expect(b.uuid == a.uuid)
        #expect(b.smbiosSerial == a.uuid)
        #expect(try reg.assignment(vm: "vm1")?.smbiosSerial == a.uuid)
    }

    @Test(arguments: Backend.allCases)
    func noSerialWhenGenerationIsOff(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let r = request("vm1", generate: false, disks: [disk("vm1", "root"), disk("vm1", "data", bus: .scsi, target: "sda", serial: "MANUAL-9")])
        let a = try reg.assign(r)
        #expect(a.disks.map(\.serial) == [nil, "MANUAL-9"])
        #expect(a.disks.map(\.generated) == [false, false])
        #expect(a.warnings == [])
        #expect(try reg.assignment(vm: "vm1")?.disks.map(\.serial) == [nil, "MANUAL-9"])
        // Turned on later: the disk without a serial gets one, the given one stays.
        var on = r
        on.generateDiskSerials = true
        let b = try reg.assign(on)
        let drawn = try #require(b.disks[0].serial)
        #expect(SerialGenerator.looksGenerated(drawn))
        #expect(b.disks[0].generated)
        #expect(b.disks[1].serial == "MANUAL-9")
        // Off again: the registered serial is kept but not applied, and the user is told.
        let c = try reg.assign(r)
        #expect(c.disks[0].serial == nil)
        #expect(c.warnings.count == 1)
        #expect(c.warnings.first?.contains(drawn) == true)
        #expect(c.warnings.first?.contains("disk root") == true)
        // …and on once more: the same serial comes back, not a new one.
        #expect(try reg.assign(on).disks[0].serial == drawn)
    }

    @Test(arguments: Backend.allCases)
    func userSerialForAVolumeWithoutOne(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        _ = try reg.assign(request("vm1", generate: false, disks: [disk("vm1", "root")]))
        let a = try reg.assign(request("vm1", generate: false, disks: [disk("vm1", "root", serial: "LATE-1")]))
        #expect(a.disks.first?.serial == "LATE-1")
        #expect(a.disks.first?.generated == false)
        #expect(try reg.assignment(vm: "vm1")?.disks.first?.serial == "LATE-1")
        // Given again: kept, not a change.
        #expect(try reg.assign(request("vm1", generate: false, disks: [disk("vm1", "root", serial: "LATE-1")])).disks.first?.serial == "LATE-1")
    }

    @Test(arguments: Backend.allCases)
    func sharedSerialTooLongForTheSecondBus(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let long = String(repeating: "S", count: 36)
        let a = try reg.assign(request("vm1", disks: [disk("vm1", "share", bus: .scsi, target: "sda", volume: "team", serial: long)]))
        #expect(a.disks.first?.serial == long)
        #expect(throws: RegistryError.serialTooLong(volume: VolumeIdentity("team"), serial: long, bus: .virtio)) {
            try reg.assign(request("vm2", disks: [disk("vm2", "share", bus: .virtio, volume: "team")]))
        }
        #expect(try reg.assignment(vm: "vm2") == nil)
        let message = RegistryError.serialTooLong(volume: VolumeIdentity("team"), serial: long, bus: .virtio).description
        #expect(message.contains("36 characters"))
        #expect(message.contains("virtio keeps at most 20"))
        // On a bus that keeps 36 it works.
        #expect(try reg.assign(request("vm2", disks: [disk("vm2", "share", bus: .scsi, target: "sda", volume: "team")])).disks.first?.serial == long)
    }

    @Test(arguments: Backend.allCases)
    func specJSONIsKept(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        _ = try reg.assign(request("vm1", disks: [], spec: #"{"name":"vm1"}"#))
        #expect(try reg.specJSON(vm: "vm1") == #"{"name":"vm1"}"#)
        _ = try reg.assign(request("vm1", disks: []))   // a launch without a spec keeps the last one
        #expect(try reg.specJSON(vm: "vm1") == #"{"name":"vm1"}"#)
        #expect(try reg.specJSON(vm: "nope") == nil)
    }

    @Test(arguments: Backend.allCases)
    func droppedDiskIsNoLongerAttached(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let a = try reg.assign(example())
        let b = try reg.assign(request("vm1", disks: [disk("vm1", "root", target: "vda")]))
        #expect(b.disks.map(\.name) == ["root"])
        #expect(try reg.assignment(vm: "vm1")?.disks.map(\.name) == ["root"])
        // The volume keeps its serial: attaching it again gives it back.
        #expect(try reg.assign(example()).disks.map(\.serial) == a.disks.map(\.serial))
    }
}

@Test("generateDiskSerials false withholds generated serials but keeps one a user gave the volume", arguments: Backend.allCases)
func generationOffKeepsUserSerials(_ backend: Backend) throws {
    let (reg, cleanUp) = try backend.open()
    defer { cleanUp() }
    let first = try reg.assign(example())
    let generated = try #require(first.disk(named: "root")?.serial)
    // The spec later drops the user serial of "data" and turns generation off.
    var again = example(dataSerial: nil)
    again.generateDiskSerials = false
    let second = try reg.assign(again)
    #expect(second.disk(named: "data")?.serial == "MANUAL-0001", "a user-given serial is the volume's identity")
    #expect(second.disk(named: "root")?.serial == nil)
    #expect(second.warnings.contains { $0.contains(generated) && $0.contains("not applied") })
    // Turning generation back on restores the same generated serial: it was never forgotten.
    #expect(try reg.assign(example(dataSerial: nil)).disk(named: "root")?.serial == generated)
}
