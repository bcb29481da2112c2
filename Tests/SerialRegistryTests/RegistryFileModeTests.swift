import Foundation
import SerialPolicy
import Testing
@testable import SerialRegistry

@Suite("A new registry file is private")
struct RegistryFileModeTests {
    @Test("a new SQLite registry, its WAL and shared-memory files are 0600")
    func sqliteFileIsPrivate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("registry-mode-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state/registry.sqlite"
        let r = try SQLiteRegistry(path: path)
        _ = try r.assign(example())
        for f in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: f) {
            var st = stat()
            #expect(stat(f, &st) == 0)
            #expect(st.st_mode & 0o777 == 0o600, "\(f) is \(String(st.st_mode & 0o777, radix: 8))")
        }
        #expect(FileManager.default.fileExists(atPath: path + "-wal"), "WAL mode: the -wal file was checked too")
    }

    @Test("an existing registry file keeps the mode its admin chose")
    func sqliteExistingModeKept() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("registry-mode-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/registry.sqlite"
        #expect(FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640]))
        _ = try SQLiteRegistry(path: path).assign(example())
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o640)
    }
}
