import Foundation
import SerialPolicy

/// Everything a registry holds, backend-neutral: `vmserial registry export` writes it,
/// `vmserial registry import` reads it (SQLite to PostgreSQL and back).
public struct RegistryDump: Codable, Equatable, Sendable {
    /// The dump format; an importer refuses a newer one.
    public var format: Int
    public var instances: [Instance]
    public var volumes: [Volume]
    public var attachments: [Attachment]
    public var moves: [Move]

    public static let currentFormat = 1

    public init(instances: [Instance] = [], volumes: [Volume] = [], attachments: [Attachment] = [], moves: [Move] = []) {
        format = Self.currentFormat
        self.instances = instances
        self.volumes = volumes
        self.attachments = attachments
        self.moves = moves
    }

    enum CodingKeys: String, CodingKey { case format, instances, volumes, attachments, moves }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(Int.self, forKey: .format)
        instances = try c.decodeIfPresent([Instance].self, forKey: .instances) ?? []
        volumes = try c.decodeIfPresent([Volume].self, forKey: .volumes) ?? []
        attachments = try c.decodeIfPresent([Attachment].self, forKey: .attachments) ?? []
        moves = try c.decodeIfPresent([Move].self, forKey: .moves) ?? []
    }

    public struct Instance: Codable, Equatable, Sendable {
        public var name: String
        public var uuid: String
        public var smbiosMode: String
        public var smbiosSerial: String?
        public var spec: String?
        public var createdAt: String
        public var updatedAt: String
        enum CodingKeys: String, CodingKey {
            case name, uuid, spec
            case smbiosMode = "smbios_mode", smbiosSerial = "smbios_serial", createdAt = "created_at", updatedAt = "updated_at"
        }
    }

    public struct Volume: Codable, Equatable, Sendable {
        public var id: String
        public var serial: String?
        public var generated: Bool
        public var source: String
        public var createdAt: String
        enum CodingKeys: String, CodingKey {
            case id, serial, generated, source
            case createdAt = "created_at"
        }
    }

    public struct Attachment: Codable, Equatable, Sendable {
        public var instance: String
        public var disk: String
        public var position: Int
        public var volume: String
        public var bus: String
        public var target: String
        public var source: String
        public var serialApplied: Bool
        enum CodingKeys: String, CodingKey {
            case instance, disk, position, volume, bus, target, source
            case serialApplied = "serial_applied"
        }
    }

    public struct Move: Codable, Equatable, Sendable {
        public var volume: String
        public var oldPath: String
        public var newPath: String
        public var at: String
        enum CodingKeys: String, CodingKey {
            case volume, at
            case oldPath = "old_path", newPath = "new_path"
        }
    }
}

extension RegistryDump {
    /// Every entry of a dump that a launch would not have accepted: VM and disk names, volume
    /// identities, buses and targets, serials (SerialRules, for the bus of each attachment).
    /// Imported names later become domain and file names, so they pass the same rules as a
    /// spec's. One line per problem, naming the entry.
    public func invalidEntries() -> [String] {
        let d = self
        var problems: [String] = []
        func quoted(_ s: String) -> String { "\"" + s.unicodeScalars.map { $0.escaped(asASCII: true) }.joined() + "\"" }
        let nameRule = "use letters, digits, '_', '.', '-' and do not start with '.' or '-'"
        for (i, v) in d.instances.enumerated() {
            if !NameRules.isValidVMName(v.name) {
                problems.append("instances[\(i)]: VM name \(quoted(v.name)) is not a valid VM name (\(nameRule))")
            }
            if UUID(uuidString: v.uuid) == nil {
                problems.append("instances[\(i)] (VM \(quoted(v.name))): UUID \(quoted(v.uuid)) is not a UUID")
            }
        }
        var serialOf: [String: String] = [:]
        for (i, v) in d.volumes.enumerated() {
            if !VolumeIdentity(v.id).isValid {
                problems.append("volumes[\(i)]: volume \(quoted(v.id)) is not a valid volume identity (not empty, no white space or control characters)")
            }
            if let s = v.serial {
                serialOf[v.id] = s
                // Whatever bus it is attached on, the serial must be usable on the most lenient one.
                let lenient = Bus.allCases.max { $0.serialLimit < $1.serialLimit } ?? .scsi
                for p in SerialRules.problems(serial: s, bus: lenient) {
                    problems.append("volumes[\(i)] (volume \(quoted(v.id))): serial \(quoted(s)): \(p)")
                }
            }
        }
        for (i, a) in d.attachments.enumerated() {
            let what = "attachments[\(i)] (disk \(quoted(a.disk)) of VM \(quoted(a.instance)))"
            if !NameRules.isValidDiskName(a.disk) {
                problems.append("\(what): disk name \(quoted(a.disk)) is not a valid disk name (use letters, digits, '_', '.', '-')")
            }
            if !VolumeIdentity(a.volume).isValid {
                problems.append("\(what): volume \(quoted(a.volume)) is not a valid volume identity")
            }
            guard let bus = Bus(rawValue: a.bus) else {
                problems.append("\(what): bus \(quoted(a.bus)) is not one of \(Bus.allCases.map(\.rawValue).joined(separator: ", "))")
                continue
            }
            if !bus.accepts(target: a.target) {
                problems.append("\(what): target \(quoted(a.target)) does not fit bus \(bus.rawValue) (its targets are \(bus.targetPrefix)a, \(bus.targetPrefix)b, …)")
            }
            if let s = serialOf[a.volume] {
                for p in SerialRules.problems(serial: s, bus: bus) {
                    problems.append("\(what): serial \(quoted(s)) of volume \(quoted(a.volume)): \(p)")
                }
            }
        }
        for (i, m) in d.moves.enumerated() where !VolumeIdentity(m.volume).isValid {
            problems.append("moves[\(i)]: volume \(quoted(m.volume)) is not a valid volume identity")
        }
        return problems
    }
}

/// What an import added; rows the registry already held identically are counted as kept.
public struct ImportSummary: Equatable, Sendable {
    public var instances = 0
    public var volumes = 0
    public var moves = 0
    public var alreadyPresent = 0
}

extension Allocation {
    func dump(db: some SQLSession) throws -> RegistryDump {
        let instances = try db.rows("SELECT name, uuid, smbios_mode, smbios_serial, spec, created_at, updated_at FROM instance ORDER BY name", []).map {
            RegistryDump.Instance(name: $0.string("name") ?? "", uuid: $0.string("uuid") ?? "", smbiosMode: $0.string("smbios_mode") ?? "",
                                  smbiosSerial: $0.string("smbios_serial"), spec: $0.string("spec"),
                                  createdAt: $0.string("created_at") ?? "", updatedAt: $0.string("updated_at") ?? "")
        }
        let volumes = try db.rows("SELECT id, serial, generated, source, created_at FROM volume ORDER BY id", []).map {
            RegistryDump.Volume(id: $0.string("id") ?? "", serial: $0.string("serial"), generated: $0.bool("generated"),
                                source: $0.string("source") ?? "", createdAt: $0.string("created_at") ?? "")
        }
        let attachments = try db.rows("""
            SELECT instance, disk, position, volume, bus, target, source, serial_applied FROM attachment ORDER BY instance, position
            """, []).map {
            RegistryDump.Attachment(instance: $0.string("instance") ?? "", disk: $0.string("disk") ?? "",
                                    position: Int($0.string("position") ?? "0") ?? 0, volume: $0.string("volume") ?? "",
                                    bus: $0.string("bus") ?? "", target: $0.string("target") ?? "", source: $0.string("source") ?? "",
                                    serialApplied: $0.bool("serial_applied"))
        }
        let moves = try db.rows("SELECT volume, old_path, new_path, at FROM move ORDER BY id", []).map {
            RegistryDump.Move(volume: $0.string("volume") ?? "", oldPath: $0.string("old_path") ?? "",
                              newPath: $0.string("new_path") ?? "", at: $0.string("at") ?? "")
        }
        return RegistryDump(instances: instances, volumes: volumes, attachments: attachments, moves: moves)
    }

    /// Adds a dump to the registry, inside the caller's transaction. Rows the registry already
    /// holds identically (same VM and UUID, same volume and serial) are kept; anything that
    /// disagrees is a conflict, and every conflict is named before anything is written.
    func load(_ d: RegistryDump, db: some SQLSession) throws -> ImportSummary {
        guard d.format <= RegistryDump.currentFormat else {
            throw RegistryError.importConflicts(["the file is format \(d.format); this vmserial reads up to \(RegistryDump.currentFormat): upgrade vmserial"])
        }
        let invalid = d.invalidEntries()
        guard invalid.isEmpty else { throw RegistryError.importInvalid(invalid) }
        var conflicts: [String] = []
        var summary = ImportSummary()
        var newInstances: [RegistryDump.Instance] = [], newVolumes: [RegistryDump.Volume] = []
        var serialsInFile: [String: String] = [:], uuidsInFile: [String: String] = [:]
        for i in d.instances {
            if let other = uuidsInFile[i.uuid] { conflicts.append("UUID \(i.uuid) belongs to both \(other) and \(i.name) in the file") }
            uuidsInFile[i.uuid] = i.name
            if let have = try db.row("SELECT uuid FROM instance WHERE name = ?", [.text(i.name)])?.string("uuid") {
                if have != i.uuid { conflicts.append("VM \(i.name) has UUID \(have) here but \(i.uuid) in the file") } else { summary.alreadyPresent += 1 }
                continue
            }
            if let holder = try db.row("SELECT name FROM instance WHERE uuid = ?", [.text(i.uuid)])?.string("name") {
                conflicts.append("UUID \(i.uuid) of VM \(i.name) already belongs to VM \(holder) here")
                continue
            }
            newInstances.append(i)
        }
        for v in d.volumes {
            if let s = v.serial {
                if let other = serialsInFile[s] { conflicts.append("serial \(s) belongs to both volume \(other) and \(v.id) in the file") }
                serialsInFile[s] = v.id
            }
            if let have = try db.row("SELECT serial FROM volume WHERE id = ?", [.text(v.id)]) {
                if have.string("serial") != v.serial {
                    conflicts.append("volume \(v.id) has serial \(have.string("serial") ?? "(none)") here but \(v.serial ?? "(none)") in the file")
                } else {
                    summary.alreadyPresent += 1
                }
                continue
            }
            if let s = v.serial, let holder = try db.row("SELECT id FROM volume WHERE serial = ?", [.text(s)])?.string("id") {
                conflicts.append("serial \(s) of volume \(v.id) is already held by volume \(holder) here")
                continue
            }
            newVolumes.append(v)
        }
        let fileVolumes = Set(d.volumes.map(\.id)), fileInstances = Set(d.instances.map(\.name))
        for a in d.attachments where !fileInstances.contains(a.instance) || !fileVolumes.contains(a.volume) {
            conflicts.append("disk \(a.disk) of \(a.instance) names a VM or volume (\(a.volume)) the file does not hold")
        }
        guard conflicts.isEmpty else { throw RegistryError.importConflicts(conflicts) }

        for i in newInstances {
            try db.execute("""
                INSERT INTO instance (name, uuid, smbios_mode, smbios_serial, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, [.text(i.name), .text(i.uuid), .text(i.smbiosMode), SQLValue(i.smbiosSerial), SQLValue(i.spec), .text(i.createdAt), .text(i.updatedAt)])
        }
        for v in newVolumes {
            try db.execute("INSERT INTO volume (id, serial, generated, source, created_at) VALUES (?, ?, ?, ?, ?)",
                           [.text(v.id), SQLValue(v.serial), .bool(v.generated), .text(v.source), .text(v.createdAt)])
        }
        let added = Set(newInstances.map(\.name))
        for a in d.attachments where added.contains(a.instance) {
            try db.execute("""
                INSERT INTO attachment (instance, disk, position, volume, bus, target, source, serial_applied) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(a.instance), .text(a.disk), .integer(a.position), .text(a.volume), .text(a.bus), .text(a.target),
                      .text(a.source), .bool(a.serialApplied)])
        }
        for m in d.moves {
            let known = try db.row("SELECT 1 AS one FROM move WHERE volume = ? AND old_path = ? AND new_path = ? AND at = ?",
                                   [.text(m.volume), .text(m.oldPath), .text(m.newPath), .text(m.at)]) != nil
            if known { continue }
            try db.execute("INSERT INTO move (volume, old_path, new_path, at) VALUES (?, ?, ?, ?)",
                           [.text(m.volume), .text(m.oldPath), .text(m.newPath), .text(m.at)])
            summary.moves += 1
        }
        summary.instances = newInstances.count
        summary.volumes = newVolumes.count
        return summary
    }

    /// What is wrong in the registry itself: one line per finding.
    func check(db: some SQLSession) throws -> [String] {
        var findings: [String] = []
        for r in try db.rows("SELECT serial, count(*) AS n FROM volume WHERE serial IS NOT NULL GROUP BY serial HAVING count(*) > 1", []) {
            findings.append("serial \(r.string("serial") ?? "") is held by \(r.string("n") ?? "?") volumes")
        }
        for r in try db.rows("SELECT uuid, count(*) AS n FROM instance GROUP BY uuid HAVING count(*) > 1", []) {
            findings.append("UUID \(r.string("uuid") ?? "") belongs to \(r.string("n") ?? "?") VMs")
        }
        for r in try db.rows("""
            SELECT smbios_serial, count(*) AS n FROM instance WHERE smbios_serial IS NOT NULL AND smbios_mode <> 'host'
            GROUP BY smbios_serial HAVING count(*) > 1
            """, []) {
            findings.append("SMBIOS serial \(r.string("smbios_serial") ?? "") is given to \(r.string("n") ?? "?") VMs")
        }
        // One volume, two files: an attachment points elsewhere than the volume's recorded source.
        for r in try db.rows("""
            SELECT a.volume, a.instance, a.disk, a.source AS attached, v.source AS recorded
            FROM attachment a JOIN volume v ON v.id = a.volume WHERE a.source <> v.source ORDER BY a.volume, a.instance
            """, []) {
            findings.append("volume \(r.string("volume") ?? "") is bound to two paths: \(r.string("recorded") ?? "") (registry) and \(r.string("attached") ?? "") (disk \(r.string("disk") ?? "") of \(r.string("instance") ?? ""))")
        }
        // One file, two volumes: the same data would carry two serials.
        for r in try db.rows("SELECT source, count(*) AS n FROM volume GROUP BY source HAVING count(*) > 1 ORDER BY source", []) {
            let ids = try db.rows("SELECT id FROM volume WHERE source = ? ORDER BY id", [.text(r.string("source") ?? "")]).compactMap { $0.string("id") }
            findings.append("path \(r.string("source") ?? "") is bound to \(ids.count) volumes: \(ids.joined(separator: ", "))")
        }
        return findings
    }
}
