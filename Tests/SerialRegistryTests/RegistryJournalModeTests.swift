import Foundation
import SerialPolicy
import Testing
@testable import SerialRegistry

@Suite("The registry file is in WAL mode")
struct RegistryJournalModeTests {
    /// SQLite's file format (sqlite.org/fileformat2.html, "The Database Header"): bytes 18 and 19
    /// are the write and read format versions, 1 for a rollback journal, 2 for WAL. A file left in
    /// rollback mode would have a reader wait on every writer of another process.
    @Test("a new registry file says WAL in its header, after it is closed and again after a reopen")
    func newFileIsWAL() throws {
        let (location, cleanUp) = try Backend.file.freshLocation()
        defer { cleanUp() }
        let path = RegistryFactory.sqlitePath(location)
        func formatVersions() throws -> [UInt8] {
            let header = try #require(FileManager.default.contents(atPath: path))
            try #require(header.count >= 100, "a database file of \(header.count) bytes")
            #expect(header.prefix(16) == Data("SQLite format 3\0".utf8))
            return [header[18], header[19]]
        }
        do { _ = try SQLiteRegistry(path: path).assign(example()) }
        #expect(try formatVersions() == [2, 2])
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "closed: SQLite checkpointed and removed the WAL")
        do {
            let again = try SQLiteRegistry(path: path)
            #expect(try again.assignment(vm: "vm1") != nil)
        }
        #expect(try formatVersions() == [2, 2])
    }
}
