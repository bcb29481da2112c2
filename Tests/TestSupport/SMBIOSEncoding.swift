import Inspection

// The encoding side of Inspection's SMBIOS types: tests build the tables that Windows would
// have saved (RawSMBIOSData) and read them back through the product's decoder.

extension SMBIOSTable {
    /// The `RawSMBIOSData` bytes for this table, as Windows stores them.
    public func rawSMBIOSData() -> [UInt8] {
        let table = structures.flatMap { $0.encoded() }
        let n = UInt32(table.count)
        return [used20CallingMethod, majorVersion, minorVersion, dmiRevision,
                UInt8(n & 0xff), UInt8(n >> 8 & 0xff), UInt8(n >> 16 & 0xff), UInt8(n >> 24)] + table
    }
}

extension SMBIOSStructure {
    /// The End-of-Table structure (type 127) that closes every table.
    public static func endOfTable(handle: UInt16) -> SMBIOSStructure {
        SMBIOSStructure(type: 127, handle: handle, formatted: [], strings: [])
    }

    /// The structure as it stands in a table: header, formatted area, string set.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = [type, UInt8(4 + formatted.count), UInt8(handle & 0xff), UInt8(handle >> 8)]
        out += formatted
        if strings.isEmpty { return out + [0, 0] }
        for s in strings { out += Array(s.utf8) + [0] }
        return out + [0]
    }
}

extension SystemInformation {
    /// A type 1 structure carrying these values (SMBIOS 2.4+ layout, 0x1B bytes; wake-up type
    /// "power switch"). `littleEndianUUID` follows SMBIOS 2.6+; pass false for an older table.
    public func structure(handle: UInt16 = 0x0100, littleEndianUUID: Bool = true) -> SMBIOSStructure {
        var strings: [String] = []
        func index(_ s: String?) -> UInt8 {
            guard let s, !s.isEmpty else { return 0 }
            strings.append(s)
            return UInt8(strings.count)
        }
        var f = [UInt8](repeating: 0, count: 0x1B - 4)
        f[Offset.manufacturer - 4] = index(manufacturer)
        f[Offset.productName - 4] = index(productName)
        f[Offset.version - 4] = index(version)
        f[Offset.serialNumber - 4] = index(serialNumber)
        let raw = uuid.flatMap { Self.uuidBytes($0, littleEndian: littleEndianUUID) } ?? [UInt8](repeating: 0, count: 16)
        f.replaceSubrange((Offset.uuid - 4)..<(Offset.uuid - 4 + 16), with: raw)
        f[Offset.wakeUpType - 4] = 0x06
        f[Offset.skuNumber - 4] = index(skuNumber)
        f[Offset.family - 4] = index(family)
        return SMBIOSStructure(type: 1, handle: handle, formatted: f, strings: strings)
    }
}
