import Guestfs
import Inspection

extension RegistryValue {
    public static func string(_ name: String, _ text: String) -> RegistryValue {
        RegistryValue(name: name, type: RegistryType.string, data: Self.utf16LE(text) + [0, 0])
    }

    public static func multiString(_ name: String, _ list: [String]) -> RegistryValue {
        RegistryValue(name: name, type: RegistryType.multiString, data: list.flatMap { Self.utf16LE($0) + [0, 0] } + [0, 0])
    }

    public static func dword(_ name: String, _ v: UInt32) -> RegistryValue {
        RegistryValue(name: name, type: RegistryType.dword, data: [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)])
    }

    public static func binary(_ name: String, _ bytes: [UInt8]) -> RegistryValue {
        RegistryValue(name: name, type: RegistryType.binary, data: bytes)
    }

    static func utf16LE(_ s: String) -> [UInt8] {
        s.utf16.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }
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
