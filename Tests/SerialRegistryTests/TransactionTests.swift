import Foundation
import SerialPolicy
import Testing
@testable import SerialRegistry

@Suite("Transactions, preview, moves, persistence")
struct TransactionTests {
    @Test(arguments: Backend.allCases)
    func applyThrowingRecordsNothing(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        var seen: Assignment?
        #expect(throws: TestError()) {
            try reg.assign(example()) { a in
                seen = a
                throw TestError()
            }
        }
        let failed = try #require(seen)
        #expect(failed.disks.count == 3)
        #expect(try reg.assignment(vm: "vm1") == nil)
        #expect(try reg.assignments() == [])
        #expect(try reg.specJSON(vm: "vm1") == nil)
        // Nothing of the failed attempt holds a serial: another VM can take the user serial,
        // and the VM itself starts from scratch (new UUID, new generated serials).
        let other = try reg.assign(request("vm2", disks: [disk("vm2", "data", serial: "MANUAL-0001")]))
        #expect(other.disks.first?.serial == "MANUAL-0001")
        let fresh = try reg.assign(example(dataSerial: "MANUAL-0002"))
        #expect(fresh.uuid != failed.uuid)
        #expect(fresh.disk(named: "root")?.serial != failed.disk(named: "root")?.serial)
        #expect(fresh.disk(named: "share")?.serial != failed.disk(named: "share")?.serial)
    }

    @Test(arguments: Backend.allCases)
    func applySeesWhatIsReturned(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        var seen: Assignment?
        let a = try reg.assign(example()) { seen = $0 }
        #expect(seen == a)
    }

    @Test(arguments: Backend.allCases)
    func previewWritesNothing(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let p = try reg.preview(example())
        #expect(p.disks.map(\.name) == ["root", "data", "share"])
        #expect(p.disks[1].serial == "MANUAL-0001")
        #expect(p.disks.compactMap(\.serial).count == 3)
        #expect(try reg.assignment(vm: "vm1") == nil)
        #expect(try reg.assignments() == [])
        // The user serial was not claimed either.
        #expect(try reg.assign(request("vm2", disks: [disk("vm2", "x", serial: "MANUAL-0001")])).disks.first?.serial == "MANUAL-0001")
    }

    @Test(arguments: Backend.allCases)
    func previewOfAnAssignedVMShowsWhatItHas(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let a = try reg.assign(example())
        #expect(try reg.preview(example()) == a)
        // …and reports the same errors assign would.
        #expect(throws: RegistryError.serialChange(volume: VolumeIdentity("vm1/data"), registered: "MANUAL-0001", requested: "OTHER")) {
            try reg.preview(example(dataSerial: "OTHER"))
        }
        // A new disk in the preview is not kept.
        var more = example()
        more.disks.append(disk("vm1", "extra", target: "vdb"))
        let p = try reg.preview(more)
        #expect(p.disk(named: "extra")?.serial != nil)
        #expect(try reg.assignment(vm: "vm1")?.disks.count == 3)
    }

    /// Requests a dry run must refuse because the real launch would: a user serial taken by
    /// another VM's volume, or by another disk earlier in the same request (a preview writes no
    /// row, so only its own memory of what it claimed can catch that one).
    enum Clash: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case heldByAnotherVM, twoNewDisksInOneRequest, newDiskAndAnExistingDiskGivenOne
        var testDescription: String { rawValue }

        /// The request, and the error assign gives for it.
        var attempt: (AssignmentRequest, RegistryError) {
            switch self {
            case .heldByAnotherVM:
                return (request("vm2", disks: [disk("vm2", "root"), disk("vm2", "data", serial: "MANUAL-0001")]),
                        .duplicateSerial(serial: "MANUAL-0001", volume: VolumeIdentity("vm2/data"), heldBy: VolumeIdentity("vm1/data")))
            case .twoNewDisksInOneRequest:
                return (request("vm2", disks: [disk("vm2", "a", serial: "MINE-7"), disk("vm2", "b", serial: "MINE-7")]),
                        .duplicateSerial(serial: "MINE-7", volume: VolumeIdentity("vm2/b"), heldBy: VolumeIdentity("vm2/a")))
            case .newDiskAndAnExistingDiskGivenOne:
                // vm3's disk "old" is in the registry without a serial (generation was off).
                return (request("vm3", generate: false, disks: [disk("vm3", "old", serial: "MINE-8"), disk("vm3", "new", serial: "MINE-8")]),
                        .duplicateSerial(serial: "MINE-8", volume: VolumeIdentity("vm3/new"), heldBy: VolumeIdentity("vm3/old")))
            }
        }
    }

    @Test(arguments: Backend.allCases, Clash.allCases)
    func previewRefusesWhatAssignRefuses(backend: Backend, clash: Clash) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        _ = try reg.assign(example("vm1"))
        _ = try reg.assign(request("vm3", generate: false, disks: [disk("vm3", "old")]))
        let before = try reg.export()
        let (r, expected) = clash.attempt
        #expect(throws: expected) { try reg.preview(r) }
        #expect(throws: expected) { try reg.assign(r) }
        #expect(try reg.export() == before)
    }

    @Test(arguments: Backend.allCases)
    func recordMoveUpdatesTheSource(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let a = try reg.assign(example())
        let volume = VolumeIdentity("vm1/root")
        var applied = false
        try reg.recordMove(volume: volume, from: "/srv/vm1/root.img", to: "/fast/vm1/root.img") { applied = true }
        #expect(applied)
        let moves = try reg.moves(volume: volume)
        #expect(moves.count == 1)
        #expect(moves.first?.volume == volume)
        #expect(moves.first?.oldPath == "/srv/vm1/root.img")
        #expect(moves.first?.newPath == "/fast/vm1/root.img")
        #expect(moves.first.map { ISO8601DateFormatter().date(from: $0.at) != nil } == true)
        let after = try #require(try reg.assignment(vm: "vm1"))
        #expect(after.disk(named: "root")?.source == "/fast/vm1/root.img")
        #expect(after.disk(named: "root")?.serial == a.disk(named: "root")?.serial)
        #expect(after.disk(named: "data")?.source == "/srv/vm1/data.img")
        #expect(try reg.moves(volume: VolumeIdentity("vm1/data")) == [])
    }

    @Test(arguments: Backend.allCases)
    func recordMoveOfAnUnknownVolume(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        #expect(throws: RegistryError.volumeNotFound(VolumeIdentity("nope"))) {
            try reg.recordMove(volume: VolumeIdentity("nope"), from: "/a", to: "/b") {}
        }
    }

    /// A move must start where the registry has the volume: from anywhere else it would record
    /// an old path the volume never had (and `apply`, the domain's redefinition, must not run).
    @Test(arguments: Backend.allCases, [
        "/srv/vm1/other.img",      // another file
        "/srv/vm1/data.img",       // another volume's file
        "/fast/vm1/root.img",      // where it is going
        "",
    ])
    func recordMoveFromElsewhereIsRefused(backend: Backend, from: String) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let a = try reg.assign(example())
        let volume = VolumeIdentity("vm1/root")
        var applied = false
        let e = #expect(throws: RegistryError.self) {
            try reg.recordMove(volume: volume, from: from, to: "/fast/vm1/root.img") { applied = true }
        }
        #expect(e == .moveFromElsewhere(volume: volume, registered: "/srv/vm1/root.img", from: from))
        #expect(e?.description.contains("vm1/root") == true)
        #expect(e?.description.contains("/srv/vm1/root.img") == true)
        #expect(!applied)
        #expect(try reg.moves(volume: volume) == [])
        #expect(try reg.assignment(vm: "vm1") == a)
        // From where it is, the same move is taken; and then its old path is no longer where it is.
        try reg.recordMove(volume: volume, from: "/srv/vm1/root.img", to: "/fast/vm1/root.img") {}
        #expect(try reg.moves(volume: volume).map(\.oldPath) == ["/srv/vm1/root.img"])
        #expect(throws: RegistryError.moveFromElsewhere(volume: volume, registered: "/fast/vm1/root.img", from: "/srv/vm1/root.img")) {
            try reg.recordMove(volume: volume, from: "/srv/vm1/root.img", to: "/slow/vm1/root.img") {}
        }
    }

    @Test(arguments: Backend.allCases)
    func recordMoveWhoseApplyThrowsRecordsNothing(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        _ = try reg.assign(example())
        #expect(throws: TestError()) {
            try reg.recordMove(volume: VolumeIdentity("vm1/root"), from: "/srv/vm1/root.img", to: "/fast/root.img") { throw TestError() }
        }
        #expect(try reg.moves(volume: VolumeIdentity("vm1/root")) == [])
        #expect(try reg.assignment(vm: "vm1")?.disk(named: "root")?.source == "/srv/vm1/root.img")
    }

    @Test(arguments: Backend.allCases)
    func staleSpecAfterAMoveWarns(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let a = try reg.assign(example())
        try reg.recordMove(volume: VolumeIdentity("vm1/root"), from: "/srv/vm1/root.img", to: "/fast/vm1/root.img") {}
        let b = try reg.assign(example())   // the spec still names /srv/vm1/root.img
        #expect(b.warnings.count == 1)
        let w = try #require(b.warnings.first)
        #expect(w.contains("/fast/vm1/root.img"))
        #expect(w.contains("/srv/vm1/root.img"))
        #expect(w.contains("vm1/root"))
        #expect(b.disk(named: "root")?.serial == a.disk(named: "root")?.serial)
        // With the spec updated the warning goes away.
        var updated = example()
        updated.disks[0].source = "/fast/vm1/root.img"
        let c = try reg.assign(updated)
        #expect(c.warnings == [])
        #expect(try reg.assignment(vm: "vm1")?.disk(named: "root")?.source == "/fast/vm1/root.img")
    }

    @Test(arguments: Backend.allCases)
    func sourceChangedWithoutAMoveIsTakenSilently(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let a = try reg.assign(example())
        var r = example()
        r.disks[0].source = "/elsewhere/root.img"
        let b = try reg.assign(r)
        #expect(b.warnings == [])
        #expect(b.disk(named: "root")?.serial == a.disk(named: "root")?.serial)
        #expect(try reg.assignment(vm: "vm1")?.disk(named: "root")?.source == "/elsewhere/root.img")
    }

    @Test(arguments: Backend.persistent)
    func reopeningKeepsEverything(backend: Backend) throws {
        let (location, cleanUp) = try backend.freshLocation()
        defer { cleanUp() }
        let a: Assignment
        do {
            let reg = try RegistryFactory.open(location)
            a = try reg.assign(example())
            try reg.recordMove(volume: VolumeIdentity("team-share"), from: "/srv/shared/team-share.img", to: "/nas/team-share.img") {}
        }
        if backend == .file {
            #expect(FileManager.default.fileExists(atPath: RegistryFactory.sqlitePath(location)))
        }
        let again = try #require(try RegistryFactory.openExisting(location))
        let stored = try #require(try again.assignment(vm: "vm1"))
        #expect(stored.uuid == a.uuid)
        #expect(stored.disks.map(\.serial) == a.disks.map(\.serial))
        #expect(stored.disk(named: "share")?.source == "/nas/team-share.img")
        #expect(try again.moves(volume: VolumeIdentity("team-share")).map(\.newPath) == ["/nas/team-share.img"])
        var r = example()
        r.disks[2].source = "/nas/team-share.img"
        #expect(try again.assign(r).disks.map(\.serial) == a.disks.map(\.serial))
    }

    @Test(arguments: Backend.persistent)
    func twoHandlesOnOneRegistrySeeEachOther(backend: Backend) throws {
        let (location, cleanUp) = try backend.freshLocation()
        defer { cleanUp() }
        let one = try RegistryFactory.open(location), two = try RegistryFactory.open(location)
        let a = try one.assign(example("vm1"))
        #expect(throws: RegistryError.duplicateSerial(serial: "MANUAL-0001", volume: VolumeIdentity("vm2/data"), heldBy: VolumeIdentity("vm1/data"))) {
            try two.assign(example("vm2"))
        }
        let b = try two.assign(example("vm2", dataSerial: nil))
        #expect(b.disk(named: "share")?.serial == a.disk(named: "share")?.serial)
    }

    @Test func unopenablePathIsAStorageError() throws {
        // A regular file where the registry's folder should be.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("registry-file-\(UUID().uuidString)")
        try Data("x".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let e = #expect(throws: RegistryError.self) { try SQLiteRegistry(path: file.appendingPathComponent("registry.sqlite").path) }
        guard case let .storage(message)? = e else {
            Issue.record("expected .storage, got \(String(describing: e))")
            return
        }
        #expect(message.contains(file.path))
    }
}
