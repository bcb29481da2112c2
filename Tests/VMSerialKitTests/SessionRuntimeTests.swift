import Foundation
import Testing
@testable import VMSerialKit

/// qemu:///session's XDG_RUNTIME_DIR under /tmp, where any user can plant a name first.
@Suite struct SessionRuntimeTests {
    func tmp() throws -> String {
        let dir = NSTemporaryDirectory() + "vmserial-xdgtest-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func info(_ path: String) -> (isDir: Bool, isLink: Bool, mode: mode_t, uid: uid_t) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return (false, false, 0, 0) }
        return ((st.st_mode & S_IFMT) == S_IFDIR, (st.st_mode & S_IFMT) == S_IFLNK, st.st_mode & 0o7777, st.st_uid)
    }

    @Test("made with mode 0700 when absent, and used again by the next run")
    func createdPrivate() throws {
        let t = try tmp()
        defer { try? FileManager.default.removeItem(atPath: t) }
        let d = try Connect.runtimeDirectory(in: t)
        #expect(d == "\(t)/vmserial-runtime-\(geteuid())")
        let i = info(d)
        #expect(i.isDir && i.mode == 0o700 && i.uid == geteuid())
        #expect(try Connect.runtimeDirectory(in: t) == d)
    }

    @Test("a planted symlink is neither followed nor used; its target keeps its mode")
    func plantedSymlink() throws {
        let t = try tmp()
        defer { try? FileManager.default.removeItem(atPath: t) }
        let victim = t + "/victim"
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: false)
        chmod(victim, 0o755)
        let planted = "\(t)/vmserial-runtime-\(geteuid())"
        #expect(symlink(victim, planted) == 0)
        let d = try Connect.runtimeDirectory(in: t)
        #expect(d != planted)
        #expect(!d.hasPrefix(victim))
        #expect(info(victim).mode == 0o755, "the link's target is untouched")
        #expect(info(planted).isLink, "the planted link is left as it was")
        let i = info(d)
        #expect(i.isDir && !i.isLink && i.mode == 0o700 && i.uid == geteuid())
    }

    @Test("an existing folder open to others is not taken over")
    func widerFolder() throws {
        let t = try tmp()
        defer { try? FileManager.default.removeItem(atPath: t) }
        let existing = "\(t)/vmserial-runtime-\(geteuid())"
        try FileManager.default.createDirectory(atPath: existing, withIntermediateDirectories: false)
        chmod(existing, 0o777)
        let d = try Connect.runtimeDirectory(in: t)
        #expect(d != existing)
        #expect(info(existing).mode == 0o777)
        #expect(info(d).mode == 0o700)
    }

    @Test("another user's folder is not used", .enabled(if: geteuid() == 0))
    func otherOwner() throws {
        let t = try tmp()
        defer { try? FileManager.default.removeItem(atPath: t) }
        let existing = "\(t)/vmserial-runtime-\(geteuid())"
        try FileManager.default.createDirectory(atPath: existing, withIntermediateDirectories: false)
        chmod(existing, 0o700)
        chown(existing, 65534, 65534)
        let d = try Connect.runtimeDirectory(in: t)
        #expect(d != existing)
        #expect(info(d).uid == geteuid())
    }
}

/// scripts/test-postgres.sh falls back to /tmp/vmserial-pg-PORT: the same rules as above, in shell.
@Suite struct TestPostgresFolderTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/scripts/test-postgres.sh"

    @Test("a planted symlink is refused and its target left alone; a new folder is 0700")
    func plantedSymlink() throws {
        let t = NSTemporaryDirectory() + "vmserial-pgtest-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: t + "/victim", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: t) }
        chmod(t + "/victim", 0o755)
        #expect(symlink(t + "/victim", t + "/pg") == 0)
        let refused = try runTool("/bin/bash", [Self.script, "private-folder", t + "/pg"])
        #expect(refused.status == 1, "\(refused.output)")
        var st = stat()
        #expect(lstat(t + "/victim", &st) == 0 && st.st_mode & 0o777 == 0o755 && st.st_uid == geteuid())

        let made = try runTool("/bin/bash", [Self.script, "private-folder", t + "/fresh"])
        #expect(made.status == 0, "\(made.output)")
        #expect(lstat(t + "/fresh", &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR && st.st_mode & 0o777 == 0o700)
        chmod(t + "/fresh", 0o755)
        #expect(try runTool("/bin/bash", [Self.script, "private-folder", t + "/fresh"]).status == 1, "a folder open to others is refused")
    }
}
