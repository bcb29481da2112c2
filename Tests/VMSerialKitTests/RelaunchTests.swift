import Foundation
import Libvirt
import SerialRegistry
import Testing
import VMSpec
@testable import VMSerialKit

/// `verify --relaunch` on libvirt's in-memory driver: the domain survives a relaunch that fails.
@Suite struct RelaunchTests {
    @Test("a relaunch that fails puts the old definition back")
    func failedRelaunchKeepsDomain() throws {
        let box = try TestDriverVM(prefix: "rl")
        defer { box.remove() }
        let (dir, name, spec, connection) = (box.dir, box.name, box.spec, box.connection)
        let launcher = Launcher(connection: connection, registry: try SQLiteRegistry(path: ":memory:"))
        let first = try launcher.launch(spec, options: LaunchOptions(start: false))
        // The registry's spec names a kernel that is gone: the launch from the registry fails.
        try FileManager.default.removeItem(atPath: dir + "/vmlinuz")
        #expect(throws: (any Error).self) { try launcher.relaunchFromScratch(vm: name) }
        #expect(try connection.domainExists(name: name), "the domain is still defined")
        #expect(try connection.lookupDomain(name: name).uuidString.lowercased() == first.assignment.uuid)
    }
}
