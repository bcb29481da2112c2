import Foundation
import SerialPolicy
import Testing
@testable import SerialRegistry

/// A serial source that hands out a fixed list, then its last entry for ever, and counts draws.
final class ScriptedSerials: @unchecked Sendable {
    private let lock = NSLock()
    private var queue: [String]
    private(set) var draws = 0

    init(_ serials: [String]) { queue = serials }

    func next() -> String {
        lock.lock()
        defer { lock.unlock() }
        draws += 1
        return queue.count > 1 ? queue.removeFirst() : queue[0]
    }

    var generator: SerialGenerator { SerialGenerator(source: { self.next() }) }
}

/// Puts `generator` into the registry behind `registry`.
func use(_ generator: SerialGenerator, in registry: any Registry) throws {
    if let sqlite = registry as? SQLiteRegistry {
        sqlite.generator = generator
    } else if let postgres = registry as? PostgresRegistry {
        postgres.generator = generator
    } else {
        Issue.record("unknown registry type \(type(of: registry))")
        throw TestError()
    }
}

/// The allocator's answer to a drawn serial that is already taken: the registry's UNIQUE
/// constraint refuses it and a new one is drawn; 16 refusals in a row end the allocation with
/// nothing written. Random 90-bit serials never collide by chance, so the draws are scripted.
@Suite("serial collisions")
struct CollisionTests {
    static let first = "VS" + String(repeating: "A", count: 18)
    static let second = "VS" + String(repeating: "B", count: 18)
    static let third = "VS" + String(repeating: "C", count: 18)

    @Test("a drawn serial another volume holds is drawn again, in the database and in a preview", arguments: Backend.allCases)
    func takenSerialIsDrawnAgain(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        try use(ScriptedSerials([Self.first]).generator, in: reg)
        let a = try reg.assign(request("vm1", disks: [disk("vm1", "a")]))
        #expect(a.disks.map(\.serial) == [Self.first])

        // vm2's first draw is vm1's serial: the insert is refused, the second draw is kept.
        let scripted = ScriptedSerials([Self.first, Self.second])
        try use(scripted.generator, in: reg)
        let preview = try reg.preview(request("vm2", disks: [disk("vm2", "a")]))
        #expect(preview.disks.map(\.serial) == [Self.second])
        #expect(scripted.draws == 2)

        let again = ScriptedSerials([Self.first, Self.second])
        try use(again.generator, in: reg)
        let b = try reg.assign(request("vm2", disks: [disk("vm2", "a")]))
        #expect(b.disks.map(\.serial) == [Self.second])
        #expect(again.draws == 2)
        #expect(try reg.assignment(vm: "vm1")?.disks.map(\.serial) == [Self.first], "vm1 keeps its serial")
        #expect(try reg.check() == [])
    }

    @Test("two disks of one launch that draw the same serial get different ones", arguments: Backend.allCases)
    func sameSerialTwiceInOneLaunch(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        let scripted = ScriptedSerials([Self.first, Self.first, Self.third])
        try use(scripted.generator, in: reg)
        let a = try reg.assign(request("vm1", disks: [disk("vm1", "a"), disk("vm1", "b")]))
        #expect(a.disks.map(\.serial) == [Self.first, Self.third])
        #expect(scripted.draws == 3)
    }

    @Test("sixteen taken serials in a row end the launch with generationExhausted and nothing written", arguments: Backend.allCases)
    func exhaustion(backend: Backend) throws {
        let (reg, cleanUp) = try backend.open()
        defer { cleanUp() }
        try use(ScriptedSerials([Self.first]).generator, in: reg)
        _ = try reg.assign(request("vm1", disks: [disk("vm1", "a")]))
        let before = try reg.export()

        let scripted = ScriptedSerials([Self.first])
        try use(scripted.generator, in: reg)
        #expect(throws: RegistryError.generationExhausted(attempts: 16)) {
            try reg.assign(request("vm2", disks: [disk("vm2", "a")]))
        }
        #expect(scripted.draws == 16)
        #expect(try reg.assignment(vm: "vm2") == nil)
        #expect(try reg.export() == before, "the failed launch left no row")
    }
}
