import Foundation
import SerialPolicy
import Testing
@testable import SerialRegistry

@Suite("Import validates every entry with the rules a launch enforces")
struct ImportValidationTests {
    /// A registry's export with one thing changed, imported into a fresh registry of `backend`.
    func importTampered(_ backend: Backend, _ change: (inout RegistryDump) -> Void) throws -> (RegistryError?, [Assignment]) {
        let (a, cleanA) = try Backend.memory.open()
        defer { cleanA() }
        _ = try a.assign(example("vm1"))
        var dump = try a.export()
        change(&dump)
        let (b, cleanB) = try backend.open()
        defer { cleanB() }
        let e = #expect(throws: RegistryError.self) { try b.importDump(dump) }
        return (e, try b.assignments())
    }

    static let cases: [(String, String, @Sendable (inout RegistryDump) -> Void)] = [
        ("a VM name that is a path", "instances[0]", { d in
            let old = d.instances[0].name
            d.instances[0].name = "../../etc/cron.d/x"
            for i in d.attachments.indices where d.attachments[i].instance == old { d.attachments[i].instance = "../../etc/cron.d/x" }
        }),
        ("a VM name starting with '-'", "instances[0]", { d in
            let old = d.instances[0].name
            d.instances[0].name = "-rf"
            for i in d.attachments.indices where d.attachments[i].instance == old { d.attachments[i].instance = "-rf" }
        }),
        ("a UUID that is not one", "instances[0]", { d in d.instances[0].uuid = "not-a-uuid" }),
        ("a disk name with a slash", "attachments[0]", { d in d.attachments[0].disk = "root/../x" }),
        ("a volume identity with a newline", "volumes[0]", { d in
            let old = d.volumes[0].id
            d.volumes[0].id = "vm1/root\nx"
            for i in d.attachments.indices where d.attachments[i].volume == old { d.attachments[i].volume = "vm1/root\nx" }
        }),
        ("a serial with a space", "volumes[", { d in
            let i = d.volumes.firstIndex { $0.serial != nil }!
            d.volumes[i].serial = "AB CD"
        }),
        ("a serial too long for the virtio bus it is attached on", "attachments[", { d in
            let a = d.attachments.first { $0.bus == "virtio" }!
            let i = d.volumes.firstIndex { $0.id == a.volume }!
            d.volumes[i].serial = String(repeating: "A", count: 21)
        }),
        ("an unknown bus", "attachments[0]", { d in d.attachments[0].bus = "ide" }),
        ("a target that does not fit the bus", "attachments[0]", { d in d.attachments[0].target = "hda" }),
    ]

    @Test(arguments: Backend.allCases, 0..<cases.count)
    func badEntryIsRefusedWhole(backend: Backend, index: Int) throws {
        let (what, entry, change) = Self.cases[index]
        let (e, after) = try importTampered(backend, change)
        guard case let .importInvalid(list)? = e else {
            Issue.record("\(what): expected .importInvalid, got \(String(describing: e))")
            return
        }
        #expect(list.contains { $0.hasPrefix(entry) }, "\(what): \(list)")
        #expect(after.isEmpty, "\(what): nothing was imported")
    }
}
