import Foundation
import ProcessRunner
import Testing
@testable import VMSerialKit

/// The overlays verify writes itself, judged by QEMU's own tools: `qemu-img check` finds no
/// error before and after `qemu-io` writes through them, `qemu-img info` reads the backing file,
/// its format and the size, and the overlay reads exactly as its backing file.
@Suite struct QcowOverlayTests {
    func folder() throws -> String { try QemuToolSupport.scratchFolder("qcow") }

    @discardableResult
    func tool(_ name: String, _ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try QemuToolSupport.run(name, args, sourceLocation: sourceLocation)
    }

    func info(_ path: String) throws -> [String: Any] {
        let out = try tool("qemu-img", ["info", "--output=json", "-U", path])
        return try #require(JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
    }

    /// A backing file of `format` with a known pattern in its first MiB.
    func backing(_ dir: String, format: String, size: String) throws -> String {
        let path = "\(dir)/base.\(format)"
        try tool("qemu-img", ["create", "-q", "-f", format, path, size])
        try tool("qemu-io", ["-f", format, "-c", "write -P 0x5a 0 1M", path])
        return path
    }

    @Test("an overlay over qcow2 and raw backing files, sizes from 8 MiB to 6 TiB (two L1 clusters): QEMU reads it as its own",
          arguments: [("qcow2", "8M"), ("qcow2", "64M"), ("raw", "64M"), ("qcow2", "3T"), ("qcow2", "6T")])
    func qemuAgrees(format: String, size: String) throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = try backing(dir, format: format, size: size)
        let overlay = "\(dir)/overlay.qcow2"
        #expect(try QcowOverlay.make(overlay: overlay, backing: base, format: format))

        let i = try info(overlay)
        #expect(i["format"] as? String == "qcow2")
        #expect(i["backing-filename"] as? String == base)
        #expect(i["backing-filename-format"] as? String == format)
        #expect(i["virtual-size"] as? Int == (try info(base))["virtual-size"] as? Int)
        try tool("qemu-img", ["check", "-q", overlay])
        // Unwritten, the overlay shows its backing file.
        try tool("qemu-img", ["compare", "-q", overlay, base])
        // Writes go to the overlay (allocating clusters through our refcount table), not to the backing file.
        try tool("qemu-io", ["-f", "qcow2", "-c", "write -P 0xc3 64k 256k", "-c", "write -P 0x11 5M 64k", overlay])
        try tool("qemu-img", ["check", "-q", overlay])
        try tool("qemu-io", ["-f", "qcow2", "-c", "read -P 0xc3 64k 256k", "-c", "read -P 0x5a 0 64k", overlay])
        try tool("qemu-io", ["-f", format, "-c", "read -P 0x5a 64k 256k", base])
    }

    @Test("what qemu-img would write for the same backing file: the same header fields")
    func likeQemuImg() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = try backing(dir, format: "qcow2", size: "64M")
        #expect(try QcowOverlay.make(overlay: "\(dir)/ours.qcow2", backing: base, format: "qcow2"))
        try tool("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, "\(dir)/theirs.qcow2"])
        var ours = try info("\(dir)/ours.qcow2"), theirs = try info("\(dir)/theirs.qcow2")
        for key in ["filename", "actual-size", "children"] { ours[key] = nil; theirs[key] = nil }
        #expect(NSDictionary(dictionary: ours) == NSDictionary(dictionary: theirs))
    }

    @Test("an existing file is never overwritten; a format it does not write is left to qemu-img")
    func refusals() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = try backing(dir, format: "qcow2", size: "1M")
        let taken = "\(dir)/taken"
        #expect(FileManager.default.createFile(atPath: taken, contents: Data("mine".utf8)))
        #expect(throws: VMSerialError.self) { try QcowOverlay.make(overlay: taken, backing: base, format: "qcow2") }
        #expect(FileManager.default.contents(atPath: taken) == Data("mine".utf8))
        #expect(try QcowOverlay.make(overlay: "\(dir)/v", backing: base, format: "vmdk") == false)
        // Says qcow2, is not: qemu-img gets to say so.
        #expect(try QcowOverlay.make(overlay: "\(dir)/n", backing: taken, format: "qcow2") == false)
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/v") && !FileManager.default.fileExists(atPath: "\(dir)/n"))
    }
}
