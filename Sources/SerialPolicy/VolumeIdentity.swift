/// What a serial belongs to: a volume, never a file path, so moving the data keeps it.
public struct VolumeIdentity: Hashable, Codable, Sendable, CustomStringConvertible, Comparable {
    public let value: String
    public init(_ value: String) { self.value = value }

    /// `volume` when the spec names one (a disk shared by several VMs), else `<vm>/<disk>`.
    public static func of(vm: String, disk: String, volume: String?) -> VolumeIdentity {
        if let volume, !volume.isEmpty { return VolumeIdentity(volume) }
        return VolumeIdentity("\(vm)/\(disk)")
    }

    public var description: String { value }
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }
}
