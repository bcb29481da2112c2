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

    public static func string(_ name: String, _ text: String) -> RegistryValue {
        RegistryValue(name: name, type: RegistryType.string, data: utf16LE(text) + [0, 0])
    }

    public static func multiString(_ name: String, _ list: [String]) -> RegistryValue {
        RegistryValue(name: name, type: RegistryType.multiString, data: list.flatMap { utf16LE($0) + [0, 0] } + [0, 0])
    }

    public static func dword(_ name: String, _ v: UInt32) -> RegistryValue {
        RegistryValue(name: name, type: RegistryType.dword, data: [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)])
    }

    public static func binary(_ name: String, _ bytes: [UInt8]) -> RegistryValue {
        RegistryValue(name: name, type: RegistryType.binary, data: bytes)
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

    static func utf16LE(_ s: String) -> [UInt8] {
        s.utf16.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }
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

/// A registry key with its values and subkeys: what a test writes into a hive, and what
/// `InMemoryHive` serves to the analysis in unit tests. Names compare case-insensitively, as
/// Windows compares them.
public struct RegistryKey: Sendable, Equatable {
    public var name: String
    public var values: [RegistryValue]
    public var subkeys: [RegistryKey]

    public init(_ name: String, values: [RegistryValue] = [], subkeys: [RegistryKey] = []) {
        self.name = name
        self.values = values
        self.subkeys = subkeys
    }

    /// A chain of keys `path[0]\path[1]\…` holding `values` and `subkeys` at its end.
    public static func path(_ path: [String], values: [RegistryValue] = [], subkeys: [RegistryKey] = []) -> RegistryKey {
        precondition(!path.isEmpty, "a registry key path needs at least one name")
        var key = RegistryKey(path[path.count - 1], values: values, subkeys: subkeys)
        for name in path.dropLast().reversed() { key = RegistryKey(name, subkeys: [key]) }
        return key
    }

    public func subkey(_ name: String) -> RegistryKey? {
        subkeys.first { $0.name.lowercased() == name.lowercased() }
    }

    public func value(_ name: String) -> RegistryValue? {
        values.first { $0.name.lowercased() == name.lowercased() }
    }

    /// Adds `other`'s values and subkeys to this key, recursively; a value of the same name is replaced.
    public mutating func merge(_ other: RegistryKey) {
        for v in other.values {
            if let i = values.firstIndex(where: { $0.name.lowercased() == v.name.lowercased() }) { values[i] = v } else { values.append(v) }
        }
        for k in other.subkeys {
            if let i = subkeys.firstIndex(where: { $0.name.lowercased() == k.name.lowercased() }) { subkeys[i].merge(k) } else { subkeys.append(k) }
        }
    }
}

/// Read access to a registry hive, node by node: libguestfs' hivex functions implement it
/// (`GuestfsHive`), and so does `InMemoryHive` for unit tests. Nodes are opaque handles.
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

/// A hive held in memory: a `RegistryKey` tree served through `HiveReading`.
public struct InMemoryHive: HiveReading {
    var keys: [RegistryKey] = []
    var childIndexes: [[Int]] = []

    public init(_ root: RegistryKey) {
        add(root)
    }

    @discardableResult
    mutating func add(_ key: RegistryKey) -> Int {
        let index = keys.count
        keys.append(key)
        childIndexes.append([])
        let kids = key.subkeys.map { add($0) }
        childIndexes[index] = kids
        return index
    }

    public func root() throws -> Int64 { 0 }

    public func child(_ node: Int64, _ name: String) throws -> Int64? {
        childIndexes[Int(node)].first { keys[$0].name.lowercased() == name.lowercased() }.map(Int64.init)
    }

    public func children(_ node: Int64) throws -> [(name: String, node: Int64)] {
        childIndexes[Int(node)].map { (keys[$0].name, Int64($0)) }
    }

    public func value(_ node: Int64, _ name: String) throws -> RegistryValue? {
        keys[Int(node)].value(name)
    }

    public func values(_ node: Int64) throws -> [RegistryValue] {
        keys[Int(node)].values
    }
}
