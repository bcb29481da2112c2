import Foundation
import SerialPolicy

/// A spec that passed validation: paths absolute, formats known, targets assigned,
/// each disk bound to its volume identity. Everything after validation works on this.
public struct ResolvedSpec: Equatable, Sendable {
    public var spec: VMSpec
    /// The file the spec came from (nil when built in code).
    public var specPath: String?
    public var name: String { spec.name }
    public var boot: ResolvedBoot
    public var disks: [ResolvedDisk]

    public enum ResolvedBoot: Equatable, Sendable {
        case kernel(kernel: String, initrd: String?, cmdline: String?)
        case firmware(VMSpec.Firmware)
    }

    public init(spec: VMSpec, specPath: String?, boot: ResolvedBoot, disks: [ResolvedDisk]) {
        self.spec = spec
        self.specPath = specPath
        self.boot = boot
        self.disks = disks
    }
}

public struct ResolvedDisk: Equatable, Sendable {
    public var name: String
    public var volume: VolumeIdentity
    /// Absolute path of the backing file.
    public var source: String
    public var format: VMSpec.Disk.Format
    public var bus: Bus
    /// libvirt `<target dev>` (vda, sdb); NVMe disks take vd* names like virtio ones.
    public var target: String
    /// The serial the user wrote, if any. Generated ones come from the registry.
    public var serial: String?
    public var shareable: Bool

    public init(name: String, volume: VolumeIdentity, source: String, format: VMSpec.Disk.Format, bus: Bus,
                target: String, serial: String?, shareable: Bool) {
        self.name = name
        self.volume = volume
        self.source = source
        self.format = format
        self.bus = bus
        self.target = target
        self.serial = serial
        self.shareable = shareable
    }
}
