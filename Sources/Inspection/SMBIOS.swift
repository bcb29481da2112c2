/// The SMBIOS table as Windows saves it in the SYSTEM hive
/// (`ControlSet00N\Services\mssmbios\Data\SMBiosData`): Windows' `RawSMBIOSData`, an 8-byte
/// header (Used20CallingMethod, SMBIOSMajorVersion, SMBIOSMinorVersion, DmiRevision, a
/// little-endian UInt32 Length) followed by `Length` bytes of SMBIOS structures.
///
/// Each structure is a formatted area (type, length, handle, then `length - 4` bytes of
/// fields) followed by its string set: NUL-terminated strings, ended by one more NUL (two NULs
/// when there are none). A field that names a string holds its 1-based index; 0 is "no string".
public struct SMBIOSTable: Sendable, Equatable {
    public var used20CallingMethod: UInt8
    public var majorVersion: UInt8
    public var minorVersion: UInt8
    public var dmiRevision: UInt8
    public var structures: [SMBIOSStructure]

    public init(majorVersion: UInt8 = 2, minorVersion: UInt8 = 8, dmiRevision: UInt8 = 0, used20CallingMethod: UInt8 = 0,
                structures: [SMBIOSStructure]) {
        self.used20CallingMethod = used20CallingMethod
        self.majorVersion = majorVersion
        self.minorVersion = minorVersion
        self.dmiRevision = dmiRevision
        self.structures = structures
    }

    /// The first System Information (type 1) structure, decoded for this table's version.
    public var system: SystemInformation? {
        structures.first { $0.type == 1 }.flatMap { SystemInformation($0, majorVersion: majorVersion, minorVersion: minorVersion) }
    }

    /// Parses a `RawSMBIOSData` blob. Trailing bytes past `Length` are ignored (Windows
    /// sometimes pads the value); a structure cut off by the end of the table is an error.
    public init(rawSMBIOSData bytes: [UInt8]) throws {
        guard bytes.count >= 8 else {
            throw SMBIOSError.truncated("the RawSMBIOSData header needs 8 bytes, the value has \(bytes.count)")
        }
        used20CallingMethod = bytes[0]
        majorVersion = bytes[1]
        minorVersion = bytes[2]
        dmiRevision = bytes[3]
        let length = Int(UInt32(bytes[4]) | UInt32(bytes[5]) << 8 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 24)
        guard 8 + length <= bytes.count else {
            throw SMBIOSError.truncated("the header declares \(length) bytes of structures, the value holds \(bytes.count - 8)")
        }
        structures = try Self.parseStructures(Array(bytes[8..<(8 + length)]))
    }

    /// Parses a bare SMBIOS structure table (what /sys/firmware/dmi/tables/DMI holds).
    public static func parseStructures(_ table: [UInt8]) throws -> [SMBIOSStructure] {
        var out: [SMBIOSStructure] = []
        var at = 0
        while at + 4 <= table.count {
            let type = table[at], length = Int(table[at + 1])
            let handle = UInt16(table[at + 2]) | UInt16(table[at + 3]) << 8
            guard length >= 4 else {
                throw SMBIOSError.malformed("structure type \(type) at offset \(at) declares length \(length), less than its 4-byte header")
            }
            guard at + length <= table.count else {
                throw SMBIOSError.truncated("structure type \(type) at offset \(at) needs \(length) bytes, \(table.count - at) remain")
            }
            let formatted = Array(table[(at + 4)..<(at + length)])
            // The string set: strings until an empty one (two NULs in a row, or the first NUL right away).
            var p = at + length
            var strings: [String] = []
            var ended = false
            while p < table.count {
                guard let nul = table[p...].firstIndex(of: 0) else { break }
                if nul == p {
                    // An empty string ends the set; with no strings at all the set is two NULs.
                    p = strings.isEmpty && nul + 1 < table.count && table[nul + 1] == 0 ? nul + 2 : nul + 1
                    ended = true
                    break
                }
                strings.append(decodeString(Array(table[p..<nul])))
                p = nul + 1
            }
            guard ended else {
                throw SMBIOSError.truncated("the strings of structure type \(type) at offset \(at) are not terminated")
            }
            out.append(SMBIOSStructure(type: type, handle: handle, formatted: formatted, strings: strings))
            at = p
            if type == 127 { break }  // End-of-Table
        }
        return out
    }

    /// SMBIOS strings are "ASCII" in the standard and Latin-1 or UTF-8 in practice.
    static func decodeString(_ bytes: [UInt8]) -> String {
        String(validating: bytes, as: UTF8.self) ?? String(bytes.map { Character(Unicode.Scalar($0)) })
    }
}

/// One SMBIOS structure: its header, the formatted fields after the header, and its strings.
public struct SMBIOSStructure: Sendable, Equatable {
    public var type: UInt8
    public var handle: UInt16
    /// The formatted area after the 4-byte header (so the structure's length is `4 + formatted.count`).
    public var formatted: [UInt8]
    public var strings: [String]

    public init(type: UInt8, handle: UInt16, formatted: [UInt8], strings: [String]) {
        self.type = type
        self.handle = handle
        self.formatted = formatted
        self.strings = strings
    }

    /// The byte at `offset` in the structure (offsets as the SMBIOS specification counts them,
    /// from the type byte), or nil past the formatted area.
    public func byte(at offset: Int) -> UInt8? {
        let i = offset - 4
        return i >= 0 && i < formatted.count ? formatted[i] : nil
    }

    /// The string a field at `offset` names; nil for index 0, a missing field or a bad index.
    public func string(at offset: Int) -> String? {
        guard let index = byte(at: offset), index > 0, Int(index) <= strings.count else { return nil }
        return strings[Int(index) - 1]
    }
}

/// SMBIOS System Information (type 1): who made the machine and which one it is.
public struct SystemInformation: Sendable, Equatable {
    public var manufacturer: String?
    public var productName: String?
    public var version: String?
    public var serialNumber: String?
    /// Lowercase 8-4-4-4-12; nil when the table says "not present" (all 0x00) or
    /// "not present but settable" (all 0xFF), or the structure predates SMBIOS 2.1.
    public var uuid: String?
    public var skuNumber: String?
    public var family: String?

    public init(manufacturer: String? = nil, productName: String? = nil, version: String? = nil, serialNumber: String? = nil,
                uuid: String? = nil, skuNumber: String? = nil, family: String? = nil) {
        self.manufacturer = manufacturer
        self.productName = productName
        self.version = version
        self.serialNumber = serialNumber
        self.uuid = uuid
        self.skuNumber = skuNumber
        self.family = family
    }

    /// Field offsets in the type 1 structure (SMBIOS 3.x, 7.2).
    package enum Offset {
        package static let manufacturer = 0x04, productName = 0x05, version = 0x06, serialNumber = 0x07
        package static let uuid = 0x08, wakeUpType = 0x18, skuNumber = 0x19, family = 0x1A
    }

    /// Decodes a type 1 structure. From SMBIOS 2.6 on the UUID's first three fields are
    /// little-endian (as Windows and Linux read them); before 2.6 they are taken as stored.
    public init?(_ s: SMBIOSStructure, majorVersion: UInt8, minorVersion: UInt8) {
        guard s.type == 1 else { return nil }
        manufacturer = s.string(at: Offset.manufacturer)
        productName = s.string(at: Offset.productName)
        version = s.string(at: Offset.version)
        serialNumber = s.string(at: Offset.serialNumber)
        skuNumber = s.string(at: Offset.skuNumber)
        family = s.string(at: Offset.family)
        let i = Offset.uuid - 4
        if s.formatted.count >= i + 16 {
            let raw = Array(s.formatted[i..<(i + 16)])
            let littleEndian = (majorVersion, minorVersion) >= (2, 6)
            uuid = Self.uuidString(raw, littleEndian: littleEndian)
        } else {
            uuid = nil
        }
    }

    static func uuidString(_ raw: [UInt8], littleEndian: Bool) -> String? {
        guard raw.count == 16, !raw.allSatisfy({ $0 == 0 }), !raw.allSatisfy({ $0 == 0xFF }) else { return nil }
        var b = raw
        if littleEndian {
            b[0...3].reverse()
            b[4...5].reverse()
            b[6...7].reverse()
        }
        let hex = b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
        return [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { hex[$0].joined() }.joined(separator: "-")
    }

    package static func uuidBytes(_ text: String, littleEndian: Bool) -> [UInt8]? {
        let hex = Array(text.filter { $0 != "-" })
        guard hex.count == 32 else { return nil }
        var b: [UInt8] = []
        for i in stride(from: 0, to: 32, by: 2) {
            guard let v = UInt8(String(hex[i...(i + 1)]), radix: 16) else { return nil }
            b.append(v)
        }
        if littleEndian {
            b[0...3].reverse()
            b[4...5].reverse()
            b[6...7].reverse()
        }
        return b
    }
}

public enum SMBIOSError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(String)
    case malformed(String)

    public var description: String {
        switch self {
        case let .truncated(m): "SMBIOS table truncated: \(m)"
        case let .malformed(m): "SMBIOS table malformed: \(m)"
        }
    }
}
