import Foundation
import SerialPolicy
import Testing
@testable import SerialRegistry

@Suite("Export, import and check")
struct DumpTests {
    @Test(arguments: Backend.allCases, Backend.allCases)
    func exportedRegistryImportsWhole(from source: Backend, into target: Backend) throws {
        let (a, cleanA) = try source.open()
        defer { cleanA() }
        let (b, cleanB) = try target.open()
        defer { cleanB() }
        _ = try a.assign(example("vm1"))
        _ = try a.assign(request("vm2", generate: false, disks: [disk("vm2", "root"), disk("vm2", "team", volume: "team-share", source: "/srv/shared/team-share.img")]))
        try a.recordMove(volume: VolumeIdentity("vm1/root"), from: "/srv/vm1/root.img", to: "/fast/vm1/root.img") {}
        let dump = try a.export()
        // Through JSON, as the command does.
        let decoded = try JSONDecoder().decode(RegistryDump.self, from: JSONEncoder().encode(dump))
        #expect(decoded == dump)
        let summary = try b.importDump(decoded)
        #expect(summary.instances == 2)
        #expect(summary.volumes == 4)
        #expect(summary.moves == 1)
        #expect(try b.assignments() == a.assignments())
        #expect(try b.specJSON(vm: "vm1") == a.specJSON(vm: "vm1"))
        #expect(try b.moves(volume: VolumeIdentity("vm1/root")).map(\.newPath) == ["/fast/vm1/root.img"])
        #expect(try b.export() == dump)
        // Again: everything is already there, nothing changes.
        let again = try b.importDump(decoded)
        #expect(again.instances == 0 && again.volumes == 0 && again.moves == 0)
        #expect(again.alreadyPresent == 6)
        // The imported serials stay taken.
        let held = try #require(try a.assignment(vm: "vm1")?.disk(named: "root")?.serial)
        #expect(throws: RegistryError.duplicateSerial(serial: held, volume: VolumeIdentity("vm3/root"), heldBy: VolumeIdentity("vm1/root"))) {
            try b.assign(request("vm3", disks: [disk("vm3", "root", serial: held)]))
        }
    }

    @Test(arguments: Backend.allCases)
    func conflictingImportIsRefusedWhole(backend: Backend) throws {
        let (a, cleanA) = try Backend.memory.open()
        defer { cleanA() }
        let (b, cleanB) = try backend.open()
        defer { cleanB() }
        _ = try a.assign(example("vm1"))
        _ = try a.assign(request("vm9", disks: [disk("vm9", "root")]))
        // The target already has its own vm1 (another UUID) and MANUAL-0001 on another volume.
        _ = try b.assign(request("vm1", disks: []))
        _ = try b.assign(request("other", disks: [disk("other", "x", serial: "MANUAL-0001")]))
        let before = try b.export()
        let e = #expect(throws: RegistryError.self) { try b.importDump(a.export()) }
        guard case let .importConflicts(list)? = e else {
            Issue.record("expected .importConflicts, got \(String(describing: e))")
            return
        }
        #expect(list.contains { $0.hasPrefix("VM vm1 has UUID") })
        #expect(list.contains { $0.contains("serial MANUAL-0001 of volume vm1/data is already held by volume other/x") })
        #expect(e?.description.contains("nothing was written") == true)
        #expect(try b.export() == before, "not even vm9, which did not conflict")
    }

    @Test func newerDumpFormatIsRefused() throws {
        let reg = try SQLiteRegistry(path: ":memory:")
        var dump = RegistryDump()
        dump.format = RegistryDump.currentFormat + 1
        #expect(throws: RegistryError.self) { try reg.importDump(dump) }
    }

    @Test(arguments: Backend.allCases)
    func checkOfAHealthyRegistryFindsNothing(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        _ = try reg.assign(example("vm1"))
        _ = try reg.assign(example("vm2", dataSerial: nil))
        #expect(try reg.check() == [])
    }

    @Test(arguments: Backend.allCases)
    func checkFindsVolumesBoundToTwoPaths(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        _ = try reg.assign(example("vm1"))
        // vm2 attaches the shared volume from another file, without a recorded move.
        _ = try reg.assign(request("vm2", disks: [disk("vm2", "team", volume: "team-share", source: "/other/team.img")]))
        // Two volume names for one file.
        _ = try reg.assign(request("vm3", disks: [disk("vm3", "root", source: "/srv/vm1/root.img")]))
        let findings = try reg.check()
        #expect(findings.contains { $0.hasPrefix("volume team-share is bound to two paths: /other/team.img (registry) and /srv/shared/team-share.img (disk share of vm1)") }, "\(findings)")
        #expect(findings.contains { $0 == "path /srv/vm1/root.img is bound to 2 volumes: vm1/root, vm3/root" }, "\(findings)")
    }
}
