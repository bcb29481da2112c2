import Foundation
import ProcessRunner
import Testing
@testable import VMSerialKit

/// `ImageContent.readsAsZeros` (the quick look skips `blkid` on such disks), judged by QEMU's
/// own tools: images made and written by `qemu-img` and `qemu-io`, and `qemu-img compare` against an all-zero file
/// of the same size. Blank means QEMU reads zeros throughout; anything else must never be
/// called blank (a blank image that cannot be told cheaply may be called not blank).
@Suite struct ImageContentTests {
    func folder() throws -> String { try QemuToolSupport.scratchFolder("content") }

    @discardableResult
    func tool(_ name: String, _ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try QemuToolSupport.run(name, args, sourceLocation: sourceLocation)
    }

    /// QEMU's answer: the image reads exactly as an all-zero raw file of its size (`qemu-img
    /// compare`, which skips what both sides report as holes).
    func qemuReadsZeros(_ path: String, format: String, dir: String) throws -> Bool {
        let size = try #require(QcowOverlay.virtualSize(of: path, format: format))
        let zeros = "\(dir)/zeros.raw"
        #expect(FileManager.default.createFile(atPath: zeros, contents: nil))
        #expect(truncate(zeros, off_t(size)) == 0)
        return try Command("qemu-img", ["compare", "-q", "-f", format, "-F", "raw", path, zeros]).run().status == 0
    }

    /// Each case: how the image is made (qemu-img create options, then qemu-io commands), and whether it is blank.
    static let cases: [(String, String, [String], [String], Bool)] = [
        ("fresh qcow2", "qcow2", ["64M"], [], true),
        ("fresh qcow2, 2 TiB (four L1 entries' worth of tables)", "qcow2", ["2T"], [], true),
        ("fresh qcow2 version 2", "qcow2", ["-o", "compat=0.10", "64M"], [], true),
        ("qcow2 with extended L2 entries", "qcow2", ["-o", "extended_l2=on", "64M"], [], true),
        ("qcow2 with one 4 KiB write", "qcow2", ["64M"], ["write -P 0x5a 1M 4k"], false),
        ("qcow2 with a write at its very end", "qcow2", ["64M"], ["write -P 0x01 67108352 512"], false),
        ("qcow2 written with zeros", "qcow2", ["64M"], ["write -P 0 0 64k"], false),
        ("qcow2 discarded after a write", "qcow2", ["64M"], ["write -P 0x5a 0 64k", "discard 0 64k"], false),
        ("qcow2 with preallocated metadata", "qcow2", ["-o", "preallocation=metadata", "64M"], [], false),
        ("fresh raw", "raw", ["64M"], [], true),
        ("raw with one 4 KiB write", "raw", ["64M"], ["write -P 0x5a 32M 4k"], false),
        ("raw fully allocated (zeros, more than 1 MiB of them)", "raw", ["-o", "preallocation=full", "8M"], [], false),
        ("raw with 512 KiB of zeros written", "raw", ["64M"], ["write -P 0 1M 512k"], true),
        ("raw with a non-zero byte inside its first 4 KiB", "raw", ["64M"], ["write -P 0x01 512 512"], false),
    ]

    @Test("blank exactly when made blank; never blank where QEMU reads data", arguments: cases)
    func blank(_ c: (String, String, [String], [String], Bool)) throws {
        let (label, format, create, writes, blank) = c
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/disk.\(format)"
        try tool("qemu-img", ["create", "-q", "-f", format] + create.dropLast() + [path, create.last!])
        for w in writes { try tool("qemu-io", ["-f", format, "-c", w, path]) }
        let seen = ImageContent.readsAsZeros(path: path, format: format)
        #expect(seen == blank, "\(label)")
        // Whenever vmserial says blank, QEMU reads the image as zeros throughout.
        if seen { #expect(try qemuReadsZeros(path, format: format, dir: dir), "\(label): called blank, but QEMU reads data") }
    }

    @Test("a qcow2 over a backing file is never blank, even unwritten (reads come from the backing file)")
    func backed() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try tool("qemu-img", ["create", "-q", "-f", "qcow2", "\(dir)/base.qcow2", "64M"])
        try tool("qemu-io", ["-f", "qcow2", "-c", "write -P 0x5a 0 64k", "\(dir)/base.qcow2"])
        try tool("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "\(dir)/base.qcow2", "\(dir)/top.qcow2"])
        #expect(!ImageContent.readsAsZeros(path: "\(dir)/top.qcow2", format: "qcow2"))
        #expect(try !qemuReadsZeros("\(dir)/top.qcow2", format: "qcow2", dir: dir))
    }

    @Test("a qcow2 with an external data file is never blank (the data file holds the data)")
    func externalData() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try tool("qemu-img", ["create", "-q", "-f", "qcow2", "-o", "data_file=\(dir)/data.raw,data_file_raw=on", "\(dir)/ext.qcow2", "64M"])
        #expect(!ImageContent.readsAsZeros(path: "\(dir)/ext.qcow2", format: "qcow2"))
    }

    @Test("a qcow2 header whose L1 table lies beyond the file (2^64 - 8): not blank, and no crash")
    func hostileHeader() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/bad.qcow2"
        try tool("qemu-img", ["create", "-q", "-f", "qcow2", path, "64M"])
        let fd = open(path, O_WRONLY)
        #expect(fd >= 0)
        var offset = [UInt8](repeating: 0xFF, count: 8)
        offset[7] = 0xF8
        #expect(pwrite(fd, &offset, 8, 40) == 8)   // l1_table_offset
        close(fd)
        #expect(!ImageContent.readsAsZeros(path: path, format: "qcow2"))
    }

    @Test("other formats, a wrong format, a missing file, a block device: not blank")
    func cannotTell() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try tool("qemu-img", ["create", "-q", "-f", "vmdk", "\(dir)/d.vmdk", "64M"])
        #expect(!ImageContent.readsAsZeros(path: "\(dir)/d.vmdk", format: "vmdk"))
        try tool("qemu-img", ["create", "-q", "-f", "raw", "\(dir)/d.raw", "64M"])
        #expect(!ImageContent.readsAsZeros(path: "\(dir)/d.raw", format: "qcow2"), "a raw file is not a qcow2 image")
        #expect(!ImageContent.readsAsZeros(path: "\(dir)/missing.qcow2", format: "qcow2"))
        #expect(!ImageContent.readsAsZeros(path: "/dev/null", format: "raw"))
        #expect(!ImageContent.readsAsZeros(path: dir, format: "raw"), "a folder")
    }
}
