import Guestfs

/// The hive open on a libguestfs handle (`hivexOpen`), read through `HiveReading`.
/// Each call is a round trip to the appliance, so the analysis asks for named values and
/// keys rather than walking whole trees.
public struct GuestfsHive: HiveReading {
    public let guestfs: Guestfs

    public init(_ guestfs: Guestfs) {
        self.guestfs = guestfs
    }

    public func root() throws -> Int64 { try guestfs.hivexRoot() }

    public func child(_ node: Int64, _ name: String) throws -> Int64? {
        try guestfs.hivexNodeGetChild(node, name)
    }

    public func children(_ node: Int64) throws -> [(name: String, node: Int64)] {
        try guestfs.hivexNodeChildren(node).map { (try guestfs.hivexNodeName($0), $0) }
    }

    public func value(_ node: Int64, _ name: String) throws -> RegistryValue? {
        guard let v = try guestfs.hivexNodeGetValue(node, name) else { return nil }
        return RegistryValue(name: name, type: try guestfs.hivexValueType(v), data: try guestfs.hivexValueValue(v))
    }

    public func values(_ node: Int64) throws -> [RegistryValue] {
        try guestfs.hivexNodeValues(node).map {
            RegistryValue(name: try guestfs.hivexValueKey($0), type: try guestfs.hivexValueType($0),
                          data: try guestfs.hivexValueValue($0))
        }
    }
}
