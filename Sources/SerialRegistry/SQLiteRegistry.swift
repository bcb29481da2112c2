import Foundation
import GRDB
import SerialPolicy

/// The registry in one SQLite file (WAL, busy timeout), safe for concurrent processes:
/// allocation runs in an IMMEDIATE transaction and the serial column is UNIQUE.
public final class SQLiteRegistry: Registry, @unchecked Sendable {
    public let path: String
    let db: any DatabaseWriter
    /// Draws the serials; tests put in one that collides.
    package var generator = SerialGenerator()

    /// Opens (creating if needed) the registry at `path`; ":memory:" for a private in-memory one.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(60)
        config.foreignKeysEnabled = true
        var opening: Int32 = -1
        do {
            if path == ":memory:" {
                db = try DatabaseQueue(configuration: config)
            } else {
                let dir = (path as NSString).deletingLastPathComponent
                // 0755: the state folder also holds the run folders, which the QEMU that libvirt
                // starts (another user) must pass through; the registry file itself is private.
                if !dir.isEmpty && !FileManager.default.fileExists(atPath: dir) {
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                            attributes: [.posixPermissions: 0o755])
                }
                // Processes that open a registry file which does not exist yet race: switching the new
                // file to WAL needs a lock the others hold ("database is locked"), and one may look
                // for GRDB's migration table while another creates it. An exclusive lock on the
                // folder, held only while opening and migrating, puts the openers in a row (it
                // costs microseconds; an open registry's transactions never take it).
                opening = Self.lockFolder(dir.isEmpty ? "." : dir)
                try Self.createPrivately(path)
                // One connection: a command does one thing at a time, so it needs no pool of
                // readers (each a second open and schema parse). The file is in WAL all the
                // same, so other processes read while one writes. The pragma is a no-op once the
                // file is in WAL (it stays so); NORMAL is the durability WAL is meant to run with.
                config.prepareDatabase { db in
                    guard try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") == "wal" else {
                        throw RegistryError.storage("cannot switch \(path) to WAL journal mode")
                    }
                    try db.execute(sql: "PRAGMA synchronous = NORMAL")
                }
                db = try DatabaseQueue(path: path, configuration: config)
            }
            // Almost every open finds the schema current: look first, and migrate only when
            // something is missing.
            let (current, newer) = try db.writeWithoutTransaction { db in
                (try Self.migrator.hasCompletedMigrations(db), try Self.migrator.hasBeenSuperseded(db))
            }
            if newer { throw RegistryError.newerSchema(path: path) }
            // Two processes opening a new file at once both see no migration applied; the
            // loser fails with "table … already exists" once the winner commits. Its next
            // look finds the migration recorded, so a short retry settles it.
            var attempt = 0
            while !current {
                do {
                    try Self.migrator.migrate(db)
                    break
                } catch is DatabaseError where attempt < 5 && path != ":memory:" {
                    attempt += 1
                    usleep(useconds_t(20_000 * attempt))
                }
            }
        } catch let e as RegistryError {
            Self.unlock(opening)
            throw e
        } catch {
            Self.unlock(opening)
            throw RegistryError.storage("cannot open \(path): \(error)")
        }
        Self.unlock(opening)
    }

    /// A new registry file is created empty with mode 0600 (an empty file is a valid SQLite
    /// database), whatever the umask: SQLite gives its -wal and -shm files the database file's
    /// mode. An existing file keeps the mode its admin chose (0640 with a group, say).
    static func createPrivately(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd < 0 {
            if errno == EEXIST { return }
            throw RegistryError.storage("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        // The umask may have narrowed 0600 further; it cannot widen it.
        fchmod(fd, 0o600)
        close(fd)
    }

    /// An exclusive flock(2) on a folder; -1 when the folder cannot be opened (then no lock).
    static func lockFolder(_ dir: String) -> Int32 {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return -1 }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                close(fd)
                return -1
            }
        }
        return fd
    }

    static func unlock(_ fd: Int32) {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// Schema history. Add migrations; never edit a released one.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE instance (
                    name TEXT PRIMARY KEY NOT NULL,
                    uuid TEXT NOT NULL UNIQUE,
                    smbios_mode TEXT NOT NULL,
                    smbios_serial TEXT,
                    spec TEXT,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
                CREATE TABLE volume (
                    id TEXT PRIMARY KEY NOT NULL,
                    serial TEXT UNIQUE,
                    generated INTEGER NOT NULL,
                    source TEXT NOT NULL,
                    created_at TEXT NOT NULL
                );
                CREATE TABLE attachment (
                    instance TEXT NOT NULL REFERENCES instance(name) ON DELETE CASCADE,
                    disk TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    volume TEXT NOT NULL REFERENCES volume(id),
                    bus TEXT NOT NULL,
                    target TEXT NOT NULL,
                    source TEXT NOT NULL,
                    serial_applied INTEGER NOT NULL,
                    PRIMARY KEY (instance, disk)
                );
                CREATE TABLE move (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    volume TEXT NOT NULL REFERENCES volume(id),
                    old_path TEXT NOT NULL,
                    new_path TEXT NOT NULL,
                    at TEXT NOT NULL
                );
                """)
        }
        return m
    }

    var allocation: Allocation { Allocation(generator: generator) }

    // MARK: assign

    public func assign(_ request: AssignmentRequest, apply: (Assignment) throws -> Void) throws -> Assignment {
        try wrap {
            try db.writeWithoutTransaction { db in
                var result: Assignment?
                try db.inTransaction(.immediate) {
                    let a = try self.allocation.allocate(request, db: GRDBSession(db: db), write: true)
                    try apply(a)
                    result = a
                    return .commit
                }
                return result!
            }
        }
    }

    public func preview(_ request: AssignmentRequest) throws -> Assignment {
        try wrap {
            try db.read { db in try self.allocation.allocate(request, db: GRDBSession(db: db), write: false) }
        }
    }

    // MARK: read

    public func assignment(vm: String) throws -> Assignment? {
        try wrap { try db.read { db in try self.allocation.read(vm: vm, db: GRDBSession(db: db)) } }
    }

    public func assignments() throws -> [Assignment] {
        try wrap { try db.read { db in try self.allocation.readAll(db: GRDBSession(db: db)) } }
    }

    public func specJSON(vm: String) throws -> String? {
        try wrap { try db.read { db in try self.allocation.specJSON(vm: vm, db: GRDBSession(db: db)) } }
    }

    // MARK: moves

    public func recordMove(volume: VolumeIdentity, from oldPath: String, to newPath: String, apply: () throws -> Void) throws {
        try wrap {
            try db.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    try self.allocation.recordMove(volume: volume, from: oldPath, to: newPath, db: GRDBSession(db: db))
                    try apply()
                    return .commit
                }
            }
        }
    }

    public func moves(volume: VolumeIdentity) throws -> [VolumeMove] {
        try wrap { try db.read { db in try self.allocation.moves(volume: volume, db: GRDBSession(db: db)) } }
    }

    // MARK: export, import, check

    public func export() throws -> RegistryDump {
        try wrap { try db.read { db in try self.allocation.dump(db: GRDBSession(db: db)) } }
    }

    public func importDump(_ dump: RegistryDump) throws -> ImportSummary {
        try wrap {
            try db.writeWithoutTransaction { db in
                var summary = ImportSummary()
                try db.inTransaction(.immediate) {
                    summary = try self.allocation.load(dump, db: GRDBSession(db: db))
                    return .commit
                }
                return summary
            }
        }
    }

    public func check() throws -> [String] {
        try wrap { try db.read { db in try self.allocation.check(db: GRDBSession(db: db)) } }
    }

    /// Registry errors pass through; SQLite ones become `.storage` with the file named.
    func wrap<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as DatabaseError {
            throw RegistryError.storage("\(path): \(e.message ?? e.description)")
        }
    }
}

/// The shared allocation logic's view of one GRDB database access.
struct GRDBSession: SQLSession {
    let db: Database

    static func arguments(_ values: [SQLValue]) -> StatementArguments {
        StatementArguments(values.map { v -> (any DatabaseValueConvertible)? in
            switch v {
            case let .text(s): return s
            case let .integer(i): return i
            case let .bool(b): return b
            case .null: return nil
            }
        })
    }

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try Row.fetchAll(db, sql: sql, arguments: Self.arguments(arguments)).map { row in
            var values: [String: SQLValue] = [:]
            for (column, value) in row {
                switch value.storage {
                case let .string(s): values[column] = .text(s)
                case let .int64(i): values[column] = .integer(Int(i))
                case let .double(d): values[column] = .integer(Int(d))
                case .null, .blob: values[column] = .null
                }
            }
            return SQLRow(values: values)
        }
    }

    func execute(_ sql: String, _ arguments: [SQLValue]) throws {
        try db.execute(sql: sql, arguments: Self.arguments(arguments))
    }

    /// SQLite leaves the transaction usable after a failed statement: the collision is just reported.
    func executeUnlessSerialTaken(_ sql: String, _ arguments: [SQLValue]) throws -> Bool {
        do {
            try execute(sql, arguments)
            return true
        } catch let e as DatabaseError where e.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            return false
        }
    }
}
