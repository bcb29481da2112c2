import Guestfs

/// A registry value: its name, its type (`RegistryType`: REG_SZ = 1, …, as hivex numbers them) and its bytes.
public struct RegistryValue: Sendable, Equatable {
    public var name: String
    public var type: Int64
    public var data: [UInt8]

    public init(name: String, type: Int64, data: [UInt8]) {
        self.name = name
        self.type = type
        self.data = data
    }

    /// REG_SZ / REG_EXPAND_SZ as text (UTF-16LE up to the first NUL); nil for other types.
    public var string: String? {
        guard type == RegistryType.string || type == RegistryType.expandString else { return nil }
        return Self.decodeUTF16LE(data).first ?? ""
    }

    /// REG_MULTI_SZ as a list (REG_SZ gives a list of one); nil for other types.
    public var strings: [String]? {
        if type == RegistryType.string || type == RegistryType.expandString { return string.map { [$0] } }
        guard type == RegistryType.multiString else { return nil }
        return Self.decodeUTF16LE(data).filter { !$0.isEmpty }
    }

    /// REG_DWORD (little-endian); nil for other types or short data.
    public var dword: UInt32? {
        guard type == RegistryType.dword, data.count >= 4 else { return nil }
        return UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24
    }

    /// UTF-16LE text split at NUL code units (a trailing odd byte is dropped).
    static func decodeUTF16LE(_ bytes: [UInt8]) -> [String] {
        var units: [UInt16] = []
        var out: [String] = []
        var i = 0
        while i + 1 < bytes.count {
            let u = UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
            if u == 0 {
                out.append(String(decoding: units, as: UTF16.self))
                units = []
            } else {
                units.append(u)
            }
            i += 2
        }
        if !units.isEmpty { out.append(String(decoding: units, as: UTF16.self)) }
        return out
    }
}

/// Read access to a registry hive, node by node: libguestfs' hivex functions implement it
/// (`GuestfsHive`), and so do `HiveFile` and the tests' `InMemoryHive`. Nodes are opaque handles.
public protocol HiveReading {
    func root() throws -> Int64
    /// The subkey of that name (case-insensitive), or nil.
    func child(_ node: Int64, _ name: String) throws -> Int64?
    func children(_ node: Int64) throws -> [(name: String, node: Int64)]
    /// The value of that name (case-insensitive), or nil.
    func value(_ node: Int64, _ name: String) throws -> RegistryValue?
    func values(_ node: Int64) throws -> [RegistryValue]
}

extension HiveReading {
    /// The key at `path` below the root, or nil when a part is missing.
    public func node(_ path: [String]) throws -> Int64? {
        try node(try root(), path)
    }

    /// The key at `path` below `start`, or nil when a part is missing.
    public func node(_ start: Int64, _ path: [String]) throws -> Int64? {
        var node = start
        for name in path {
            guard let next = try child(node, name) else { return nil }
            node = next
        }
        return node
    }
}
