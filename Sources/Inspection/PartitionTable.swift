import Guestfs

/// A disk's partition table as far as Windows ties drive letters and disks to it: the MBR disk
/// signature or the GPT disk GUID, and each partition's byte offset (and GPT unique GUID).
///
/// Two sources fill it: libguestfs reading a disk of the VM now (`read(_:device:)`), and the
/// copy Windows' partition manager keeps of each disk it has seen (`init(partitionTableCache:)`).
public struct PartitionTable: Sendable, Equatable, Codable {
    /// mbr, gpt or none (no partition table: a blank or whole-disk filesystem).
    public var style: String
    /// MBR: the 32-bit disk signature at byte 440, as 8 lower-case hex digits (`ae4645df`).
    public var mbrSignature: String?
    /// GPT: the disk GUID, lower case.
    public var gptDiskGUID: String?
    public var partitions: [Entry]

    public struct Entry: Sendable, Equatable, Codable {
        /// The byte offset of the partition on the disk (MountedDevices' MBR offset).
        public var offset: UInt64
        /// GPT: the partition's unique GUID, lower case (MountedDevices' `DMIO:ID:` GUID).
        public var gptGUID: String?
        /// The partition number where the source gives one (libguestfs); nil from Windows' cache.
        public var number: Int?

        public init(offset: UInt64, gptGUID: String? = nil, number: Int? = nil) {
            self.offset = offset
            self.gptGUID = gptGUID
            self.number = number
        }
    }

    public init(style: String, mbrSignature: String? = nil, gptDiskGUID: String? = nil, partitions: [Entry] = []) {
        self.style = style
        self.mbrSignature = mbrSignature
        self.gptDiskGUID = gptDiskGUID
        self.partitions = partitions
    }

    /// "MBR ae4645df" / "GPT 105b8ca0-…" / "no partition table".
    public var identity: String {
        switch style {
        case "mbr": "MBR \(mbrSignature ?? "?")"
        case "gpt": "GPT \(gptDiskGUID ?? "?")"
        default: "no partition table"
        }
    }

    /// The same disk by its signature or disk GUID (a zero MBR signature identifies nothing).
    public func sameDisk(as other: PartitionTable) -> Bool {
        if style == "mbr", other.style == "mbr", let a = mbrSignature, a != "00000000" { return a == other.mbrSignature }
        if style == "gpt", other.style == "gpt", let a = gptDiskGUID { return a == other.gptDiskGUID }
        return false
    }

    /// The partition a MountedDevices value names on this disk: MBR by signature and offset,
    /// GPT by unique partition GUID.
    public func partition(for m: MountedDevice) -> Entry? {
        switch m.kind {
        case "mbr" where style == "mbr" && mbrSignature == m.diskSignature:
            partitions.first { $0.offset == m.partitionOffset }
        case "gpt" where style == "gpt":
            partitions.first { $0.gptGUID != nil && $0.gptGUID == m.partitionGUID }
        default: nil
        }
    }

    /// True when a MountedDevices value names this disk (its MBR signature, or one of its GPT
    /// partitions), whether or not the partition is still there.
    public func names(_ m: MountedDevice) -> Bool {
        switch m.kind {
        case "mbr": style == "mbr" && mbrSignature != nil && mbrSignature == m.diskSignature
        case "gpt": partition(for: m) != nil
        default: false
        }
    }

    /// Decodes `Enum\…\Device Parameters\Partmgr\PartitionTableCache`: the partition manager's
    /// copy of the disk's layout, a `DRIVE_LAYOUT_INFORMATION_EX` (winioctl.h) as it is laid out
    /// in memory on x64: PartitionStyle (0 MBR, 1 GPT, 2 RAW) and PartitionCount, then at byte 8
    /// the MBR Signature or the GPT DiskId GUID, then from byte 48 one 144-byte
    /// `PARTITION_INFORMATION_EX` per partition (StartingOffset at +8, PartitionLength at +16,
    /// the GPT PartitionId GUID at +48). Measured on the real hives: the MBR signatures and
    /// offsets decoded so are those of MountedDevices' entries and of `Enum\STORAGE\Volume`'s
    /// `{DiskId}#offset` keys. Nil when the bytes do not have that shape.
    public init?(partitionTableCache b: [UInt8]) {
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[at + $1]) << (8 * UInt32($1)) } }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }
        let header = 48, entrySize = 144
        guard b.count >= header else { return nil }
        let count = Int(u32(4))
        guard count <= 128, b.count >= header + count * entrySize else { return nil }
        let kind: String
        switch u32(0) {
        case 0: kind = "mbr"
        case 1: kind = "gpt"
        case 2: kind = "none"
        default: return nil
        }
        let entries: [Entry] = (0..<count).compactMap { i in
            let e = header + i * entrySize
            // MBR layouts carry 4 slots at least; empty ones have length 0.
            guard u64(e + 16) > 0 else { return nil }
            return Entry(offset: u64(e + 8), gptGUID: kind == "gpt" ? guidString(Array(b[(e + 48)..<(e + 64)])) : nil)
        }
        self.init(style: kind, mbrSignature: kind == "mbr" ? hex(UInt64(u32(8)), width: 8) : nil,
                  gptDiskGUID: kind == "gpt" ? guidString(Array(b[8..<24])) : nil, partitions: entries)
    }

    /// Reads the partition table of `device` through libguestfs: parted's table type, the MBR
    /// signature (4 bytes at 440, little-endian), or the GPT disk and partition GUIDs.
    public static func read(_ g: Guestfs, device: String) throws -> PartitionTable {
        let type: String
        do {
            type = try g.partGetParttype(device)
        } catch let e as GuestfsError where e.message.contains("unrecognised disk label") || e.message.contains("unrecognized disk label") {
            return PartitionTable(style: "none")
        }
        let parts = try g.partList(device)
        switch type {
        case "msdos":
            let sig = try g.preadDevice(device, count: 4, offset: 440)
            guard sig.count == 4 else { return PartitionTable(style: "mbr") }
            let v = UInt32(sig[0]) | UInt32(sig[1]) << 8 | UInt32(sig[2]) << 16 | UInt32(sig[3]) << 24
            return PartitionTable(style: "mbr", mbrSignature: hex(UInt64(v), width: 8),
                                  partitions: parts.map { Entry(offset: $0.start, number: $0.number) })
        case "gpt":
            return PartitionTable(style: "gpt", gptDiskGUID: try g.partGetDiskGuid(device).lowercased(),
                                  partitions: try parts.map { Entry(offset: $0.start, gptGUID: try g.partGetGptGuid(device, $0.number).lowercased(), number: $0.number) })
        default:
            return PartitionTable(style: type, partitions: parts.map { Entry(offset: $0.start, number: $0.number) })
        }
    }
}
