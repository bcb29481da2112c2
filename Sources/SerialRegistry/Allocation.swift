import Foundation
import SerialPolicy

/// The registry's rules, written once and run by every backend inside its own transaction:
/// the instance UUID is made once per VM name, a volume keeps its serial, a user serial is
/// refused when another volume holds it, a drawn serial is kept only if the UNIQUE
/// constraint accepts it.
struct Allocation {
    let generator: SerialGenerator

    /// Now in UTC as ISO 8601 (`2025-01-31T12:00:00Z`, what ISO8601DateFormatter writes). strftime,
    /// because an ISO8601DateFormatter sets up ICU each time it is made: a measurable share of a launch.
    static func now() -> String {
        var t = time(nil), tm = tm()
        gmtime_r(&t, &tm)
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &tm)
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Shared by assign (write: true) and preview (write: false).
    func allocate(_ r: AssignmentRequest, db: some SQLSession, write: Bool) throws -> Assignment {
        let now = Self.now()
        var warnings: [String] = []

        // Instance UUID: created once per VM name, kept forever.
        let uuid: String
        if let row = try db.row("SELECT uuid FROM instance WHERE name = ?", [.text(r.vm)]), let registered = row.string("uuid") {
            if let wanted = r.uuid, wanted.lowercased() != registered {
                throw RegistryError.uuidMismatch(vm: r.vm, registered: registered, requested: wanted.lowercased())
            }
            uuid = registered
        } else {
            uuid = (r.uuid ?? UUID().uuidString).lowercased()
            if let other = try db.row("SELECT name FROM instance WHERE uuid = ?", [.text(uuid)])?.string("name") {
                throw RegistryError.uuidTaken(uuid: uuid, vm: r.vm, by: other)
            }
        }
        let smbiosSerial: String? = switch r.smbiosMode {
        case "unique": uuid
        case "none": nil
        default: r.smbiosSerial
        }
        if write {
            try db.execute("""
                INSERT INTO instance (name, uuid, smbios_mode, smbios_serial, spec, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET smbios_mode = excluded.smbios_mode,
                    smbios_serial = excluded.smbios_serial, spec = coalesce(excluded.spec, instance.spec),
                    updated_at = excluded.updated_at
                """, [.text(r.vm), .text(uuid), .text(r.smbiosMode), SQLValue(smbiosSerial), SQLValue(r.specJSON), .text(now), .text(now)])
        }

        var disks: [AssignedDisk] = []
        // Serials this request claimed or drew, by volume. A write finds them in the table (the
        // UNIQUE constraint); a preview writes nothing, so it must remember them to refuse what
        // assign would refuse and to never draw one twice.
        var heldHere: [String: VolumeIdentity] = [:]
        for d in r.disks {
            let existing = try db.row("SELECT serial, generated, source FROM volume WHERE id = ?", [.text(d.volume.value)])
            var serial: String?
            var generated = false
            if let existing {
                let registered = existing.string("serial")
                generated = existing.bool("generated")
                let source = existing.string("source") ?? ""
                switch (registered, d.serial) {
                case let (reg?, wanted?) where reg != wanted:
                    throw RegistryError.serialChange(volume: d.volume, registered: reg, requested: wanted)
                case let (nil, wanted?):
                    serial = try claim(wanted, for: d.volume, db: db, write: write, update: true, held: &heldHere)
                    generated = false
                case (let reg?, _):
                    serial = reg
                case (nil, nil):
                    if r.generateDiskSerials {
                        serial = try draw(for: d.volume, db: db, write: write, update: true, held: &heldHere)
                        generated = true
                    }
                }
                if source != d.source {
                    let moved = try db.row("""
                        SELECT new_path FROM move WHERE volume = ? AND old_path = ? ORDER BY id DESC LIMIT 1
                        """, [.text(d.volume.value), .text(d.source)])
                    if moved != nil {
                        warnings.append("volume \(d.volume) (disk \(d.name)) was migrated from \(d.source) to \(source), but the spec still names \(d.source); update the spec's source to \(source)")
                    } else if write {
                        try db.execute("UPDATE volume SET source = ? WHERE id = ?", [.text(d.source), .text(d.volume.value)])
                    }
                }
            } else if let wanted = d.serial {
                serial = try claim(wanted, for: d.volume, db: db, write: write, update: false, source: d.source, held: &heldHere)
            } else if r.generateDiskSerials {
                serial = try draw(for: d.volume, db: db, write: write, update: false, source: d.source, held: &heldHere)
                generated = true
            } else if write {
                try db.execute("INSERT INTO volume (id, serial, generated, source, created_at) VALUES (?, NULL, ?, ?, ?)",
                               [.text(d.volume.value), .bool(false), .text(d.source), .text(now)])
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
            try db.execute("DELETE FROM attachment WHERE instance = ?", [.text(r.vm)])
            for (i, d) in disks.enumerated() {
                try db.execute("""
                    INSERT INTO attachment (instance, disk, position, volume, bus, target, source, serial_applied)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, [.text(r.vm), .text(d.name), .integer(i), .text(d.volume.value), .text(d.bus.rawValue), .text(d.target),
                          .text(d.source), .bool(d.serial != nil)])
            }
        }
        return Assignment(vm: r.vm, uuid: uuid, smbiosMode: r.smbiosMode, smbiosSerial: smbiosSerial, disks: disks, warnings: warnings)
    }

    /// Registers a user-given serial for a volume; fails naming the holder if it is taken, in the
    /// registry or earlier in the same request (`held`).
    func claim(_ serial: String, for volume: VolumeIdentity, db: some SQLSession, write: Bool,
               update: Bool, source: String = "", held: inout [String: VolumeIdentity]) throws -> String {
        if let holder = held[serial], holder != volume {
            throw RegistryError.duplicateSerial(serial: serial, volume: volume, heldBy: holder)
        }
        if let holder = try db.row("SELECT id FROM volume WHERE serial = ?", [.text(serial)])?.string("id"),
           holder != volume.value {
            throw RegistryError.duplicateSerial(serial: serial, volume: volume, heldBy: VolumeIdentity(holder))
        }
        held[serial] = volume
        if write {
            if update {
                try db.execute("UPDATE volume SET serial = ?, generated = ? WHERE id = ?", [.text(serial), .bool(false), .text(volume.value)])
            } else {
                try db.execute("INSERT INTO volume (id, serial, generated, source, created_at) VALUES (?, ?, ?, ?, ?)",
                               [.text(volume.value), .text(serial), .bool(false), .text(source), .text(Self.now())])
            }
        }
        return serial
    }

    /// Draws a random serial and stores it; the UNIQUE constraint decides, and a collision draws again.
    func draw(for volume: VolumeIdentity, db: some SQLSession, write: Bool, update: Bool, source: String = "",
              held: inout [String: VolumeIdentity]) throws -> String {
        let attempts = 16
        for _ in 0..<attempts {
            let s = generator.next()
            if held[s] != nil { continue }
            if !write {
                if try db.row("SELECT id FROM volume WHERE serial = ?", [.text(s)]) != nil { continue }
                held[s] = volume
                return s
            }
            let stored = update
                ? try db.executeUnlessSerialTaken("UPDATE volume SET serial = ?, generated = ? WHERE id = ?",
                                                  [.text(s), .bool(true), .text(volume.value)])
                : try db.executeUnlessSerialTaken("INSERT INTO volume (id, serial, generated, source, created_at) VALUES (?, ?, ?, ?, ?)",
                                                  [.text(volume.value), .text(s), .bool(true), .text(source), .text(Self.now())])
            if stored {
                held[s] = volume
                return s
            }
        }
        throw RegistryError.generationExhausted(attempts: attempts)
    }

    // MARK: read

    func read(vm: String, db: some SQLSession) throws -> Assignment? {
        guard let i = try db.row("SELECT uuid, smbios_mode, smbios_serial FROM instance WHERE name = ?", [.text(vm)]) else { return nil }
        let rows = try db.rows("""
            SELECT a.disk, a.volume, a.bus, a.target, a.source, a.serial_applied, v.serial, v.generated
            FROM attachment a JOIN volume v ON v.id = a.volume WHERE a.instance = ? ORDER BY a.position
            """, [.text(vm)])
        let disks = rows.map { row -> AssignedDisk in
            let serial: String? = row.bool("serial_applied") ? row.string("serial") : nil
            return AssignedDisk(name: row.string("disk") ?? "", volume: VolumeIdentity(row.string("volume") ?? ""),
                                bus: Bus(rawValue: row.string("bus") ?? "") ?? .virtio,
                                target: row.string("target") ?? "", source: row.string("source") ?? "", serial: serial,
                                generated: serial != nil && row.bool("generated"))
        }
        return Assignment(vm: vm, uuid: i.string("uuid") ?? "", smbiosMode: i.string("smbios_mode") ?? "",
                          smbiosSerial: i.string("smbios_serial"), disks: disks)
    }

    func readAll(db: some SQLSession) throws -> [Assignment] {
        try db.rows("SELECT name FROM instance ORDER BY name", []).compactMap { $0.string("name") }.compactMap { try read(vm: $0, db: db) }
    }

    func specJSON(vm: String, db: some SQLSession) throws -> String? {
        try db.row("SELECT spec FROM instance WHERE name = ?", [.text(vm)])?.string("spec")
    }

    // MARK: moves

    func recordMove(volume: VolumeIdentity, from oldPath: String, to newPath: String, db: some SQLSession) throws {
        guard let row = try db.row("SELECT source FROM volume WHERE id = ?", [.text(volume.value)]) else {
            throw RegistryError.volumeNotFound(volume)
        }
        // A move from anywhere but where the volume is would rewrite its history: the recorded
        // old path would be one the volume never had, and a launch naming it would not warn.
        let current = row.string("source") ?? ""
        guard current == oldPath else {
            throw RegistryError.moveFromElsewhere(volume: volume, registered: current, from: oldPath)
        }
        try db.execute("UPDATE volume SET source = ? WHERE id = ?", [.text(newPath), .text(volume.value)])
        try db.execute("UPDATE attachment SET source = ? WHERE volume = ?", [.text(newPath), .text(volume.value)])
        try db.execute("INSERT INTO move (volume, old_path, new_path, at) VALUES (?, ?, ?, ?)",
                       [.text(volume.value), .text(oldPath), .text(newPath), .text(Self.now())])
    }

    func moves(volume: VolumeIdentity, db: some SQLSession) throws -> [VolumeMove] {
        try db.rows("SELECT old_path, new_path, at FROM move WHERE volume = ? ORDER BY id", [.text(volume.value)]).map {
            VolumeMove(volume: volume, oldPath: $0.string("old_path") ?? "", newPath: $0.string("new_path") ?? "", at: $0.string("at") ?? "")
        }
    }
}
