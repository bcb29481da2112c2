/// A registry hive file (regf) read from bytes in this process, through `HiveReading`: what
/// the unit tests use to run the analysis on real Windows hives without an appliance.
/// `vmserial inspect` itself reads hives through libguestfs' hivex (`GuestfsHive`).
///
/// Only what reading needs: the base block's root cell, key nodes (`nk`), subkey lists (`lf`,
/// `lh`, `li`, `ri`), value lists and value nodes (`vk`), resident, inline and big (`db`) data.
/// Node handles are cell offsets (relative to the first hive bin, as in the file).
public struct HiveFile: HiveReading {
    let bytes: [UInt8]
    let rootCell: Int

    /// Checks the base block (`regf`, a root cell inside the file) and keeps the bytes.
    public init(bytes: [UInt8]) throws {
        guard bytes.count >= 0x1000 + 0x20, Array(bytes[0..<4]) == Array("regf".utf8) else {
            throw HiveFileError.malformed("not a registry hive (no regf signature)")
        }
        self.bytes = bytes
        rootCell = Int(Self.get32(bytes, 0x24))
        guard try signature(rootCell) == "nk" else { throw HiveFileError.malformed("the root cell \(rootCell) is not a key") }
    }

    /// The little-endian UInt32 at byte `at`.
    static func get32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }

    /// Byte offset in the file of a cell's data (after its 4-byte size).
    func data(_ cell: Int) throws -> Int {
        let at = 0x1000 + cell + 4
        guard cell >= 0, at + 4 <= bytes.count else { throw HiveFileError.malformed("cell offset \(cell) outside the file") }
        return at
    }

    func signature(_ cell: Int) throws -> String {
        let at = try data(cell)
        return String(decoding: bytes[at..<(at + 2)], as: UTF8.self)
    }

    func u16(_ at: Int) throws -> Int {
        guard at >= 0, at + 2 <= bytes.count else { throw HiveFileError.malformed("read past the end at \(at)") }
        return Int(bytes[at]) | Int(bytes[at + 1]) << 8
    }

    func u32(_ at: Int) throws -> UInt32 {
        guard at >= 0, at + 4 <= bytes.count else { throw HiveFileError.malformed("read past the end at \(at)") }
        return Self.get32(bytes, at)
    }

    func slice(_ at: Int, _ count: Int) throws -> [UInt8] {
        guard at >= 0, count >= 0, at + count <= bytes.count else { throw HiveFileError.malformed("read past the end at \(at)") }
        return Array(bytes[at..<(at + count)])
    }

    /// A key or value name: ASCII (Latin-1) when the compressed-name flag is set, else UTF-16LE.
    func name(at: Int, length: Int, compressed: Bool) throws -> String {
        let raw = try slice(at, length)
        if compressed { return String(raw.map { Character(Unicode.Scalar($0)) }) }
        return RegistryValue.decodeUTF16LE(raw).first ?? ""
    }

    public func root() throws -> Int64 { Int64(rootCell) }

    public func children(_ node: Int64) throws -> [(name: String, node: Int64)] {
        let nk = try data(Int(node))
        let count = try u32(nk + 0x14)
        guard count > 0 else { return [] }
        return try subkeyCells(Int(try u32(nk + 0x1C))).map { cell in
            let k = try data(cell)
            guard try signature(cell) == "nk" else { throw HiveFileError.malformed("subkey cell \(cell) is not a key") }
            let flags = try u16(k + 0x02)
            return (try name(at: k + 0x4C, length: try u16(k + 0x48), compressed: flags & 0x20 != 0), Int64(cell))
        }
    }

    /// The key cells a subkey list names, through index roots (`ri`).
    func subkeyCells(_ list: Int, depth: Int = 0) throws -> [Int] {
        guard depth < 4 else { throw HiveFileError.malformed("subkey lists nested too deep at \(list)") }
        let at = try data(list)
        let count = try u16(at + 2)
        switch try signature(list) {
        case "lf", "lh": return try (0..<count).map { Int(try u32(at + 4 + 8 * $0)) }
        case "li": return try (0..<count).map { Int(try u32(at + 4 + 4 * $0)) }
        case "ri": return try (0..<count).flatMap { try subkeyCells(Int(try u32(at + 4 + 4 * $0)), depth: depth + 1) }
        case let s: throw HiveFileError.malformed("unknown subkey list \(s) at \(list)")
        }
    }

    public func child(_ node: Int64, _ name: String) throws -> Int64? {
        let wanted = name.lowercased()
        return try children(node).first { $0.name.lowercased() == wanted }?.node
    }

    public func values(_ node: Int64) throws -> [RegistryValue] {
        let nk = try data(Int(node))
        let count = Int(try u32(nk + 0x24))
        guard count > 0 else { return [] }
        let list = try data(Int(try u32(nk + 0x28)))
        // Checked before the list is read: a count of 4 billion would otherwise reserve room for
        // that many values at once (found by fuzzing: an allocation of 58 GB).
        guard count <= (bytes.count - list) / 4 else {
            throw HiveFileError.malformed("the value list at \(list) declares \(count) values, more than the file holds")
        }
        return try (0..<count).map { try value(cell: Int(try u32(list + 4 * $0))) }
    }

    public func value(_ node: Int64, _ name: String) throws -> RegistryValue? {
        let wanted = name.lowercased()
        return try values(node).first { $0.name.lowercased() == wanted }
    }

    func value(cell: Int) throws -> RegistryValue {
        guard try signature(cell) == "vk" else { throw HiveFileError.malformed("value cell \(cell) is not a value") }
        let vk = try data(cell)
        let nameLength = try u16(vk + 2)
        let rawSize = try u32(vk + 4)
        let type = Int64(try u32(vk + 0x0C))
        let flags = try u16(vk + 0x10)
        let valueName = nameLength == 0 ? "" : try name(at: vk + 0x14, length: nameLength, compressed: flags & 1 != 0)
        // The top bit of the size: the data (up to 4 bytes) sits in the offset field itself.
        let size = Int(rawSize & 0x7FFF_FFFF)
        let bytes: [UInt8]
        if rawSize & 0x8000_0000 != 0 {
            bytes = try slice(vk + 8, min(size, 4))
        } else if size == 0 {
            bytes = []
        } else {
            let dataCell = Int(try u32(vk + 8))
            if size > 16344, try signature(dataCell) == "db" {
                // Big data: a list of segments of up to 16344 bytes each.
                let db = try data(dataCell)
                let segments = try u16(db + 2)
                let list = try data(Int(try u32(db + 4)))
                var out: [UInt8] = []
                for i in 0..<segments where out.count < size {
                    let segment = try data(Int(try u32(list + 4 * i)))
                    out += try slice(segment, min(16344, size - out.count))
                }
                bytes = out
            } else {
                bytes = try slice(try data(dataCell), size)
            }
        }
        return RegistryValue(name: valueName, type: type, data: bytes)
    }
}

/// A hive file `HiveFile` cannot read.
public enum HiveFileError: Error, CustomStringConvertible, Equatable {
    case malformed(String)

    public var description: String {
        switch self {
        case let .malformed(m): "registry hive malformed: \(m)"
        }
    }
}
