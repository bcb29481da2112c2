import Foundation
import ProcessRunner
import Testing
@testable import VMSerialKit

@Suite struct MigratorSafetyTests {
    func tmp() throws -> String {
        let dir = NSTemporaryDirectory() + "vmserial-migtest-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("qemu-img measure output without the sizes is an error, not 0 bytes")
    func unreadableMeasure() throws {
        for out in ["", "not json", "{}", #"{"required": 1024}"#, #"{"required": -1, "fully-allocated": 5}"#] {
            #expect(throws: VMSerialError.self, "\(out)") { try Migrator.parseMeasure(out, source: "/x.img") }
        }
        let ok = try Migrator.parseMeasure(#"{"required": 196608, "fully-allocated": 16777216}"#, source: "/x.img")
        #expect(ok.required == 196608 && ok.fullyAllocated == 16777216)
    }

    static let sizes: [UInt64] = [1, 512, 65535, 65536, 65537, 1 << 20, 16 << 20, (1 << 30) + 4096, 1 << 32,
                                  (512 << 30) + 1, 3 << 40, 6 << 40, 300 << 40]

    /// The size a migration may take without asking qemu-img must be qemu-img's own figure:
    /// `qemu-img measure --size N -O FORMAT` says what a fully allocated image of N bytes takes.
    @Test("the fully allocated size worked out here is qemu-img measure's, raw and qcow2, 1 byte to 300 TiB",
          arguments: ["raw", "qcow2"], Self.sizes)
    func fullyAllocatedIsQemus(format: String, size: UInt64) throws {
        let r = try ProcessRunner.Command("qemu-img", ["measure", "--output=json", "--size", String(size), "-O", format]).run()
        #expect(r.status == 0, "\(String(decoding: r.standardError, as: UTF8.self))")
        let qemu = try Migrator.parseMeasure(String(decoding: r.standardOutput, as: UTF8.self), source: "--size \(size)")
        #expect(Migrator.fullyAllocated(virtualSize: size, format: format) == qemu.fullyAllocated, "\(format) of \(size) bytes")
    }

    @Test("formats whose layout is not worked out here: qemu-img measure is asked")
    func otherFormats() {
        for f in ["vmdk", "vdi", "vhdx", "qed", "luks"] { #expect(Migrator.fullyAllocated(virtualSize: 1 << 30, format: f) == nil) }
        // A size no image has (a damaged or hostile header): measured by qemu-img, never overflowed here.
        for f in ["raw", "qcow2"] { #expect(Migrator.fullyAllocated(virtualSize: .max, format: f) == nil) }
    }

    @Test("a free-space check that cannot run is an error, not skipped")
    func statvfsFailure() throws {
        #expect(throws: VMSerialError.self) { try Migrator.freeBytes("/nonexistent-\(UUID().uuidString)") }
        #expect(try Migrator.freeBytes(NSTemporaryDirectory()) > 0)
    }

    @Test("the target is created exclusively: an existing file is refused and left as it was")
    func exclusiveTarget() throws {
        let dir = try tmp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let existing = dir + "/taken.img"
        #expect(FileManager.default.createFile(atPath: existing, contents: Data("someone's".utf8)))
        #expect(throws: VMSerialError.self) { try TargetClaim(existing) }
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "someone's")
        // A symlink planted under the name is not followed either.
        #expect(symlink(existing, dir + "/link.img") == 0)
        #expect(throws: VMSerialError.self) { try TargetClaim(dir + "/link.img") }
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "someone's")
    }

    @Test("on failure only the file the claim created is removed, not one that took its name")
    func removeOnlyOurs() throws {
        let dir = try tmp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/t.img"
        let claim = try TargetClaim(target)
        #expect(claim.isStillOurs)
        // Someone replaces it meanwhile.
        try FileManager.default.removeItem(atPath: target)
        #expect(FileManager.default.createFile(atPath: target, contents: Data("theirs".utf8)))
        claim.removeIfStillOurs()
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "theirs")

        let mine = try TargetClaim(dir + "/mine.img")
        mine.removeIfStillOurs()
        #expect(!FileManager.default.fileExists(atPath: dir + "/mine.img"))
    }
}
