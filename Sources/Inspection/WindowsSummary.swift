/// What a Windows SYSTEM hive says about the machine and its disks, as plain sorted values a
/// caller can compare across boots (the scenario runner's `windows.*` facts): no judgement,
/// only what Windows keeps. Built from a `WindowsRecord`.
public struct WindowsSummary: Sendable, Equatable, Codable {
    /// `HardwareConfig\LastConfig`: the SMBIOS UUID Windows booted on last, lower case, without
    /// braces; nil before Windows 10 (no HardwareConfig) or without the value.
    public var machineLastConfig: String?
    /// Every hardware configuration (`HardwareConfig\{uuid}`) the installation booted on,
    /// LastConfig included, lower case, sorted.
    public var machineHistory: [String]
    /// True when the hive keeps `Services\mssmbios\Data\SMBiosData` (real hives do not).
    public var smbiosKept: Bool
    /// `Services\partmgr\Parameters\SanPolicy` by name (`OnlineAll`, `OfflineShared`, …); nil
    /// when not set.
    public var sanPolicy: String?
    /// The disk instances Windows enumerated that the VM's own buses can have produced
    /// (`SCSI\Disk&Ven_Red_Hat&Prod_VirtIO\…`, QEMU's SCSI, SATA, NVMe device IDs), as
    /// `enumerator\deviceID\instanceID`, sorted.
    public var diskInstances: [String]
    /// The other disk instances (USB, physical disks, other hypervisors): history, sorted.
    public var otherDiskInstances: [String]
    /// Disk instances whose `Partmgr\Attributes` has the offline bit, sorted.
    public var offlineDiskInstances: [String]
    /// Every MountedDevices entry decoded, sorted: `\DosDevices\C: MBR 1234abcd offset 1048576`,
    /// `\DosDevices\D: GPT <partition guid>`, `\DosDevices\E: device \??\SCSI#CdRom…`,
    /// `<name> other`.
    public var mountedDevices: [String]

    public init(_ r: WindowsRecord) {
        machineLastConfig = r.hardwareConfig?.lastConfig
        machineHistory = (r.hardwareConfig?.machines.map(\.uuid) ?? []).sorted()
        smbiosKept = r.smbios != nil || r.smbiosError != nil
        sanPolicy = r.sanPolicy.map(WindowsRecord.sanPolicyName)
        diskInstances = r.diskInstances.filter(\.fromVMBus).map(\.path).sorted()
        otherDiskInstances = r.diskInstances.filter { !$0.fromVMBus }.map(\.path).sorted()
        offlineDiskInstances = r.diskInstances.filter { $0.partmgr?.offline == true }.map(\.path).sorted()
        mountedDevices = r.mountedDevices.map(Self.line).sorted()
    }

    /// One MountedDevices entry as a line of `mountedDevices`.
    public static func line(_ m: MountedDevice) -> String {
        switch m.kind {
        case "mbr": "\(m.name) MBR \(m.diskSignature ?? "?") offset \(m.partitionOffset ?? 0)"
        case "gpt": "\(m.name) GPT \(m.partitionGUID ?? "?")"
        case "device": "\(m.name) device \(m.device ?? "?")"
        default: "\(m.name) other"
        }
    }
}
