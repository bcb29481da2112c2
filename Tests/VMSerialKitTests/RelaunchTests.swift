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
        let dir = NSTemporaryDirectory() + "vmserial-relaunch-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for f in ["vmlinuz", "root.img"] { #expect(FileManager.default.createFile(atPath: dir + "/" + f, contents: Data(count: 4096))) }
        let name = "rl-\(UInt32.random(in: 0...UInt32.max))"
        let json = """
        {"name": "\(name)", "memoryMiB": 64, "vcpus": 1, "accel": "tcg",
         "boot": {"kernel": "vmlinuz"}, "disks": [{"name": "root", "source": "root.img", "bus": "virtio", "format": "raw"}]}
        """
        let spec = try SpecValidator.resolve(SpecLoader.decode(Data(json.utf8)), specPath: nil, baseDirectory: dir)
        let connection = try Connection(uri: "test:///default")
        let launcher = Launcher(connection: connection, registry: try SQLiteRegistry(path: ":memory:"))
        let first = try launcher.launch(spec, options: LaunchOptions(start: false))
        defer { try? connection.lookupDomain(name: name).undefine() }
        // The registry's spec names a kernel that is gone: the launch from the registry fails.
        try FileManager.default.removeItem(atPath: dir + "/vmlinuz")
        #expect(throws: (any Error).self) { try launcher.relaunchFromScratch(vm: name) }
        #expect(try connection.domainExists(name: name), "the domain is still defined")
        #expect(try connection.lookupDomain(name: name).uuidString.lowercased() == first.assignment.uuid)
    }
}
