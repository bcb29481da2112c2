import Foundation
import GRDB
import SerialPolicy

/// The registry in one SQLite file (WAL, busy timeout), safe for concurrent processes:
/// allocation runs in an IMMEDIATE transaction and the serial column is UNIQUE.
public final class SQLiteRegistry: Registry, @unchecked Sendable {
    public let path: String
    let db: any DatabaseWriter
    let generator = SerialGenerator()

    /// Opens (creating if needed) the registry at `path`; ":memory:" for a private in-memory one.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(60)
        config.foreignKeysEnabled = true
        do {
            if path == ":memory:" {
                db = try DatabaseQueue(configuration: config)
            } else {
                let dir = (path as NSString).deletingLastPathComponent
                if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
                db = try DatabasePool(path: path, configuration: config)
            }
            try Self.migrator.migrate(db)
            if try db.read({ try Self.migrator.hasBeenSuperseded($0) }) {
                throw RegistryError.newerSchema(path: path)
            }
        } catch let e as RegistryError {
            throw e
        } catch {
            throw RegistryError.storage("cannot open \(path): \(error)")
        }
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

    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }

    // MARK: assign

    public func assign(_ request: AssignmentRequest, apply: (Assignment) throws -> Void) throws -> Assignment {
        try wrap {
            try db.writeWithoutTransaction { db in
                var result: Assignment?
                try db.inTransaction(.immediate) {
                    let a = try self.allocate(request, db: db, write: true)
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
            try db.read { db in try self.allocate(request, db: db, write: false) }
        }
    }

    /// The allocation logic, shared by assign (write: true) and preview (write: false).
    func allocate(_ r: AssignmentRequest, db: Database, write: Bool) throws -> Assignment {
        let now = Self.now()
        var warnings: [String] = []

        // Instance UUID: created once per VM name, kept forever.
        let uuid: String
        if let row = try Row.fetchOne(db, sql: "SELECT uuid FROM instance WHERE name = ?", arguments: [r.vm]) {
            let registered: String = row["uuid"]
            if let wanted = r.uuid, wanted.lowercased() != registered {
                throw RegistryError.uuidMismatch(vm: r.vm, registered: registered, requested: wanted.lowercased())
            }
            uuid = registered
        } else {
            uuid = (r.uuid ?? UUID().uuidString).lowercased()
            if let other = try String.fetchOne(db, sql: "SELECT name FROM instance WHERE uuid = ?", arguments: [uuid]) {
                throw RegistryError.uuidTaken(uuid: uuid, vm: r.vm, by: other)
            }
        }
        let smbiosSerial: String? = switch r.smbiosMode {
        case "unique": uuid
        case "none": nil
        default: r.smbiosSerial
        }
        if write {
            try db.execute(sql: """
                INSERT INTO instance (name, uuid, smbios_mode, smbios_serial, spec, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET smbios_mode = excluded.smbios_mode,
                    smbios_serial = excluded.smbios_serial, spec = coalesce(excluded.spec, spec),
                    updated_at = excluded.updated_at
                """, arguments: [r.vm, uuid, r.smbiosMode, smbiosSerial, r.specJSON, now, now])
        }

        var disks: [AssignedDisk] = []
        var drawnHere: Set<String> = []
        for d in r.disks {
            let existing = try Row.fetchOne(db, sql: "SELECT serial, generated, source FROM volume WHERE id = ?", arguments: [d.volume.value])
            var serial: String?
            var generated = false
            if let existing {
                let registered: String? = existing["serial"]
                generated = existing["generated"]
                let source: String = existing["source"]
                switch (registered, d.serial) {
                case let (reg?, wanted?) where reg != wanted:
                    throw RegistryError.serialChange(volume: d.volume, registered: reg, requested: wanted)
                case let (nil, wanted?):
                    serial = try claim(wanted, for: d.volume, generated: false, db: db, write: write, update: true)
                    generated = false
                case (let reg?, _):
                    serial = reg
                case (nil, nil):
                    if r.generateDiskSerials {
                        serial = try draw(for: d.volume, db: db, write: write, update: true, avoiding: &drawnHere)
                        generated = true
                    }
                }
                if source != d.source {
                    let moved = try String.fetchOne(db, sql: """
                        SELECT new_path FROM move WHERE volume = ? AND old_path = ? ORDER BY id DESC LIMIT 1
                        """, arguments: [d.volume.value, d.source])
                    if moved != nil {
                        warnings.append("volume \(d.volume) (disk \(d.name)) was migrated from \(d.source) to \(source), but the spec still names \(d.source); update the spec's source to \(source)")
                    } else if write {
                        try db.execute(sql: "UPDATE volume SET source = ? WHERE id = ?", arguments: [d.source, d.volume.value])
                    }
                }
            } else if let wanted = d.serial {
                serial = try claim(wanted, for: d.volume, generated: false, db: db, write: write, update: false, source: d.source)
            } else if r.generateDiskSerials {
                serial = try draw(for: d.volume, db: db, write: write, update: false, source: d.source, avoiding: &drawnHere)
                generated = true
            } else if write {
                try db.execute(sql: "INSERT INTO volume (id, serial, generated, source, created_at) VALUES (?, NULL, 0, ?, ?)",
                               arguments: [d.volume.value, d.source, now])
            }
            var applied = serial
            // generateDiskSerials false: vmserial does not put *generated* serials on disks. A serial
            // a user once gave the volume is its identity and stays.
            if !r.generateDiskSerials && d.serial == nil && generated, let s = serial {
                warnings.append("disk \(d.name): generateDiskSerials is false, so its generated serial \(s) is not applied; the guest sees no serial")
                applied = nil
            }
            if let s = applied, s.utf8.count > d.bus.serialLimit {
                throw RegistryError.serialTooLong(volume: d.volume, serial: s, bus: d.bus)
            }
            disks.append(AssignedDisk(name: d.name, volume: d.volume, bus: d.bus, target: d.target, source: d.source,
                                      serial: applied, generated: applied != nil && generated))
        }
        if write {
            try db.execute(sql: "DELETE FROM attachment WHERE instance = ?", arguments: [r.vm])
            for (i, d) in disks.enumerated() {
                try db.execute(sql: """
                    INSERT INTO attachment (instance, disk, position, volume, bus, target, source, serial_applied)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [r.vm, d.name, i, d.volume.value, d.bus.rawValue, d.target, d.source, d.serial != nil])
            }
        }
        return Assignment(vm: r.vm, uuid: uuid, smbiosMode: r.smbiosMode, smbiosSerial: smbiosSerial, disks: disks, warnings: warnings)
    }

    /// Registers a user-given serial for a volume; fails naming the holder if it is taken.
    func claim(_ serial: String, for volume: VolumeIdentity, generated: Bool, db: Database, write: Bool,
               update: Bool, source: String = "") throws -> String {
        if let holder = try String.fetchOne(db, sql: "SELECT id FROM volume WHERE serial = ?", arguments: [serial]),
           holder != volume.value {
            throw RegistryError.duplicateSerial(serial: serial, volume: volume, heldBy: VolumeIdentity(holder))
        }
        if write {
            if update {
                try db.execute(sql: "UPDATE volume SET serial = ?, generated = ? WHERE id = ?", arguments: [serial, generated, volume.value])
            } else {
                try db.execute(sql: "INSERT INTO volume (id, serial, generated, source, created_at) VALUES (?, ?, ?, ?, ?)",
                               arguments: [volume.value, serial, generated, source, Self.now()])
            }
        }
        return serial
    }

    /// Draws a random serial and stores it; the UNIQUE constraint decides, and a collision draws again.
    func draw(for volume: VolumeIdentity, db: Database, write: Bool, update: Bool, source: String = "",
              avoiding drawn: inout Set<String>) throws -> String {
        let attempts = 16
        for _ in 0..<attempts {
            let s = generator.next()
            if drawn.contains(s) { continue }
            if !write {
                if try String.fetchOne(db, sql: "SELECT id FROM volume WHERE serial = ?", arguments: [s]) != nil { continue }
                drawn.insert(s)
                return s
            }
            do {
                if update {
                    try db.execute(sql: "UPDATE volume SET serial = ?, generated = 1 WHERE id = ?", arguments: [s, volume.value])
                } else {
                    try db.execute(sql: "INSERT INTO volume (id, serial, generated, source, created_at) VALUES (?, ?, 1, ?, ?)",
                                   arguments: [volume.value, s, source, Self.now()])
                }
                drawn.insert(s)
                return s
            } catch let e as DatabaseError where e.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                continue
            }
        }
        throw RegistryError.generationExhausted(attempts: attempts)
    }

    // MARK: read

    public func assignment(vm: String) throws -> Assignment? {
        try wrap { try db.read { db in try self.read(vm: vm, db: db) } }
    }

    public func assignments() throws -> [Assignment] {
        try wrap {
            try db.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM instance ORDER BY name").compactMap { try self.read(vm: $0, db: db) }
            }
        }
    }

    func read(vm: String, db: Database) throws -> Assignment? {
        guard let i = try Row.fetchOne(db, sql: "SELECT uuid, smbios_mode, smbios_serial FROM instance WHERE name = ?", arguments: [vm])
        else { return nil }
        let rows = try Row.fetchAll(db, sql: """
            SELECT a.disk, a.volume, a.bus, a.target, a.source, a.serial_applied, v.serial, v.generated
            FROM attachment a JOIN volume v ON v.id = a.volume WHERE a.instance = ? ORDER BY a.position
            """, arguments: [vm])
        let disks = rows.map { row -> AssignedDisk in
            let applied: Bool = row["serial_applied"]
            let serial: String? = applied ? row["serial"] : nil
            return AssignedDisk(name: row["disk"], volume: VolumeIdentity(row["volume"]), bus: Bus(rawValue: row["bus"]) ?? .virtio,
                                target: row["target"], source: row["source"], serial: serial,
                                generated: serial != nil && (row["generated"] as Bool))
        }
        return Assignment(vm: vm, uuid: i["uuid"], smbiosMode: i["smbios_mode"], smbiosSerial: i["smbios_serial"], disks: disks)
    }

    public func specJSON(vm: String) throws -> String? {
        try wrap { try db.read { db in try String.fetchOne(db, sql: "SELECT spec FROM instance WHERE name = ?", arguments: [vm]) } }
    }

    // MARK: moves

    public func recordMove(volume: VolumeIdentity, from oldPath: String, to newPath: String, apply: () throws -> Void) throws {
        try wrap {
            try db.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    guard try Bool.fetchOne(db, sql: "SELECT 1 FROM volume WHERE id = ?", arguments: [volume.value]) != nil else {
                        throw RegistryError.volumeNotFound(volume)
                    }
                    try db.execute(sql: "UPDATE volume SET source = ? WHERE id = ?", arguments: [newPath, volume.value])
                    try db.execute(sql: "UPDATE attachment SET source = ? WHERE volume = ?", arguments: [newPath, volume.value])
                    try db.execute(sql: "INSERT INTO move (volume, old_path, new_path, at) VALUES (?, ?, ?, ?)",
                                   arguments: [volume.value, oldPath, newPath, Self.now()])
                    try apply()
                    return .commit
                }
            }
        }
    }

    public func moves(volume: VolumeIdentity) throws -> [VolumeMove] {
        try wrap {
            try db.read { db in
                try Row.fetchAll(db, sql: "SELECT old_path, new_path, at FROM move WHERE volume = ? ORDER BY id", arguments: [volume.value])
                    .map { VolumeMove(volume: volume, oldPath: $0["old_path"], newPath: $0["new_path"], at: $0["at"]) }
            }
        }
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
