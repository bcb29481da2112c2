import CGuestfs

/// Windows registry value types (`REG_*`), as `hivexValueType` returns them and
/// `hivexNodeSetValue` takes them.
public enum RegistryType {
    public static let none: Int64 = 0
    /// REG_SZ: a UTF-16LE string with a terminating NUL.
    public static let string: Int64 = 1
    /// REG_EXPAND_SZ: like REG_SZ, with %VARIABLES% expanded by the reader.
    public static let expandString: Int64 = 2
    public static let binary: Int64 = 3
    /// REG_DWORD: 4 bytes, little-endian.
    public static let dword: Int64 = 4
    public static let dwordBigEndian: Int64 = 5
    public static let link: Int64 = 6
    /// REG_MULTI_SZ: UTF-16LE strings, each NUL-terminated, then an empty one.
    public static let multiString: Int64 = 7
    /// REG_QWORD: 8 bytes, little-endian.
    public static let qword: Int64 = 11
}

// Registry hives through libguestfs' hivex calls. A handle has at most one open hive;
// nodes (keys) and values are identified by Int64 handles valid until hivexClose().
// The hive file is a path inside the appliance (mount the guest first), e.g.
// `/Windows/System32/config/SYSTEM` as `caseSensitivePath` spells it.
extension Guestfs {
    /// Opens a hive file (`guestfs_hivex_open_argv`), closing any hive already open.
    /// - Parameter write: allow changes, which reach the file only on `hivexCommit()`.
    public func hivexOpen(_ path: String, write: Bool) throws {
        var options = guestfs_hivex_open_argv()
        options.bitmask = HivexOpenBits.write
        options.write = write ? 1 : 0
        try call("guestfs_hivex_open_argv") { guestfs_hivex_open_argv($0, path, &options) }
    }

    /// Closes the open hive without saving uncommitted changes (`guestfs_hivex_close`).
    public func hivexClose() throws {
        try call("guestfs_hivex_close") { guestfs_hivex_close($0) }
    }

    /// Writes the open hive's changes back to the file it was opened from
    /// (`guestfs_hivex_commit` with a NULL file name). Needs `write: true` at open.
    public func hivexCommit() throws {
        try call("guestfs_hivex_commit") { guestfs_hivex_commit($0, nil) }
    }

    /// The root node (`guestfs_hivex_root`).
    public func hivexRoot() throws -> Int64 {
        try callInt64("guestfs_hivex_root") { guestfs_hivex_root($0) }
    }

    /// A node's name (`guestfs_hivex_node_name`); the root's is often `ROOT` or `$$$PROTO.HIV`.
    public func hivexNodeName(_ node: Int64) throws -> String {
        try callString("guestfs_hivex_node_name") { guestfs_hivex_node_name($0, node) }
    }

    /// A node's subkeys (`guestfs_hivex_node_children`).
    public func hivexNodeChildren(_ node: Int64) throws -> [Int64] {
        try withHandle("guestfs_hivex_node_children") { g in
            guard let list = guestfs_hivex_node_children(g, node) else {
                throw GuestfsError.last(g, function: "guestfs_hivex_node_children")
            }
            defer { guestfs_free_hivex_node_list(list) }
            return (0..<Int(list.pointee.len)).map { list.pointee.val[$0].hivex_node_h }
        }
    }

    /// The subkey of `node` called `name`, compared case-insensitively as Windows does,
    /// or nil when there is none (`guestfs_hivex_node_get_child`).
    public func hivexNodeGetChild(_ node: Int64, _ name: String) throws -> Int64? {
        let child = try callInt64("guestfs_hivex_node_get_child") {
            guestfs_hivex_node_get_child($0, node, name)
        }
        return child == 0 ? nil : child
    }

    /// The node at `path` below the root (e.g. `["ControlSet001", "Services", "disk"]`),
    /// each step case-insensitive, or nil when a step is missing. An empty path is the root.
    public func hivexNode(path: [String]) throws -> Int64? {
        var node = try hivexRoot()
        for name in path {
            guard let child = try hivexNodeGetChild(node, name) else { return nil }
            node = child
        }
        return node
    }

    /// A node's values (`guestfs_hivex_node_values`).
    public func hivexNodeValues(_ node: Int64) throws -> [Int64] {
        try withHandle("guestfs_hivex_node_values") { g in
            guard let list = guestfs_hivex_node_values(g, node) else {
                throw GuestfsError.last(g, function: "guestfs_hivex_node_values")
            }
            defer { guestfs_free_hivex_value_list(list) }
            return (0..<Int(list.pointee.len)).map { list.pointee.val[$0].hivex_value_h }
        }
    }

    /// The value of `node` called `key` (case-insensitive; "" is the default value),
    /// or nil when there is none (`guestfs_hivex_node_get_value`).
    public func hivexNodeGetValue(_ node: Int64, _ key: String) throws -> Int64? {
        let value = try callInt64("guestfs_hivex_node_get_value") {
            guestfs_hivex_node_get_value($0, node, key)
        }
        return value == 0 ? nil : value
    }

    /// A value's name; "" for a key's default value (`guestfs_hivex_value_key`).
    public func hivexValueKey(_ value: Int64) throws -> String {
        try callString("guestfs_hivex_value_key") { guestfs_hivex_value_key($0, value) }
    }

    /// A value's type, one of `RegistryType` (`guestfs_hivex_value_type`).
    public func hivexValueType(_ value: Int64) throws -> Int64 {
        try callInt64("guestfs_hivex_value_type") { guestfs_hivex_value_type($0, value) }
    }

    /// A value's raw bytes, as stored (`guestfs_hivex_value_value`).
    public func hivexValueValue(_ value: Int64) throws -> [UInt8] {
        try withHandle("guestfs_hivex_value_value") { g in
            var size = 0
            guard let buffer = guestfs_hivex_value_value(g, value, &size) else {
                throw GuestfsError.last(g, function: "guestfs_hivex_value_value")
            }
            return takeBytes(buffer, count: size)
        }
    }

    /// A string value (REG_SZ, REG_EXPAND_SZ, …) converted to UTF-8
    /// (`guestfs_hivex_value_string`); fails for values that are not strings.
    public func hivexValueString(_ value: Int64) throws -> String {
        try callString("guestfs_hivex_value_string") { guestfs_hivex_value_string($0, value) }
    }

    /// Adds a subkey and returns it (`guestfs_hivex_node_add_child`).
    public func hivexNodeAddChild(_ parent: Int64, _ name: String) throws -> Int64 {
        try callInt64("guestfs_hivex_node_add_child") {
            guestfs_hivex_node_add_child($0, parent, name)
        }
    }

    /// Creates or replaces the value `key` of `node` (`guestfs_hivex_node_set_value`).
    /// `value` is stored as given: encode strings as UTF-16LE with a terminating NUL.
    public func hivexNodeSetValue(_ node: Int64, key: String, type: Int64, value: [UInt8]) throws {
        try withCBuffer(value) { buffer, count in
            try call("guestfs_hivex_node_set_value") {
                guestfs_hivex_node_set_value($0, node, key, type, buffer, count)
            }
        }
    }

    /// Deletes a node with all its subkeys and values (`guestfs_hivex_node_delete_child`).
    public func hivexNodeDeleteChild(_ node: Int64) throws {
        try call("guestfs_hivex_node_delete_child") { guestfs_hivex_node_delete_child($0, node) }
    }
}
