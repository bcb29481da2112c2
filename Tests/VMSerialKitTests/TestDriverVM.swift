import Foundation
import Libvirt
import Testing
import VMSpec

/// A one-disk VM spec (kernel and raw disk of 4 KiB, in a folder of its own) for libvirt's
/// in-memory test driver: the define path without a daemon or a guest.
struct TestDriverVM {
    let dir: String
    let name: String
    let spec: ResolvedSpec
    let connection: Connection

    init(prefix: String) throws {
        dir = NSTemporaryDirectory() + "vmserial-\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in ["vmlinuz", "root.img"] { #expect(FileManager.default.createFile(atPath: dir + "/" + f, contents: Data(count: 4096))) }
        name = "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
        let json = """
        {"name": "\(name)", "memoryMiB": 64, "vcpus": 1, "accel": "tcg",
         "boot": {"kernel": "vmlinuz"}, "disks": [{"name": "root", "source": "root.img", "bus": "virtio", "format": "raw"}]}
        """
        spec = try SpecValidator.resolve(SpecLoader.decode(Data(json.utf8)), specPath: nil, baseDirectory: dir)
        connection = try Connection(uri: "test:///default")
    }

    /// Undefines the domain if it is there, removes the folder.
    func remove() {
        try? connection.lookupDomain(name: name).undefine()
        try? FileManager.default.removeItem(atPath: dir)
    }
}
