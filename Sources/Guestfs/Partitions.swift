import CGuestfs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Partition tables through libguestfs: what `vmserial inspect` compares with the disk
// signatures and partition GUIDs Windows keeps, and what tests use to build disks laid out
// like a real Windows disk.
extension Guestfs {
    /// One partition of a device, as `guestfs_part_list` reports it (bytes).
    public struct Partition: Sendable, Equatable {
        public var number: Int
        public var start: UInt64
        public var end: UInt64
        public var size: UInt64
    }

    /// The partition table type of `device`: `msdos`, `gpt`, … (`guestfs_part_get_parttype`).
    /// Throws when the device has no partition table parted recognises.
    public func partGetParttype(_ device: String) throws -> String {
        try callString("guestfs_part_get_parttype") { guestfs_part_get_parttype($0, device) }
    }

    /// The partitions of `device` (`guestfs_part_list`).
    public func partList(_ device: String) throws -> [Partition] {
        try withHandle("guestfs_part_list") { g in
            guard let list = guestfs_part_list(g, device) else { throw GuestfsError.last(g, function: "guestfs_part_list") }
            defer { guestfs_free_partition_list(list) }
            return (0..<Int(list.pointee.len)).map { i in
                let p = list.pointee.val[i]
                return Partition(number: Int(p.part_num), start: p.part_start, end: p.part_end, size: p.part_size)
            }
        }
    }

    /// The unique GUID of GPT partition `number` of `device` (`guestfs_part_get_gpt_guid`), upper case.
    public func partGetGptGuid(_ device: String, _ number: Int) throws -> String {
        try callString("guestfs_part_get_gpt_guid") { guestfs_part_get_gpt_guid($0, device, Int32(number)) }
    }

    /// The disk GUID of a GPT `device` (`guestfs_part_get_disk_guid`), upper case.
    public func partGetDiskGuid(_ device: String) throws -> String {
        try callString("guestfs_part_get_disk_guid") { guestfs_part_get_disk_guid($0, device) }
    }

    /// Writes an empty partition table of `partType` (`mbr` or `gpt`) (`guestfs_part_init`).
    public func partInit(_ device: String, partType: String) throws {
        try call("guestfs_part_init") { guestfs_part_init($0, device, partType) }
    }

    /// Adds a primary partition from sector `start` to sector `end`, inclusive (`guestfs_part_add`).
    public func partAdd(_ device: String, start: Int64, end: Int64) throws {
        try call("guestfs_part_add") { guestfs_part_add($0, device, "p", start, end) }
    }

    /// `count` bytes of `device` from byte `offset` (`guestfs_pread_device`).
    public func preadDevice(_ device: String, count: Int, offset: Int64) throws -> [UInt8] {
        try withHandle("guestfs_pread_device") { g in
            var size = 0
            guard let buffer = guestfs_pread_device(g, device, Int32(count), offset, &size) else {
                throw GuestfsError.last(g, function: "guestfs_pread_device")
            }
            return takeBytes(buffer, count: size)
        }
    }

    /// Writes `bytes` to `device` at byte `offset` (`guestfs_pwrite_device`).
    public func pwriteDevice(_ device: String, _ bytes: [UInt8], offset: Int64) throws {
        try withCBuffer(bytes) { buffer, count in
            try call("guestfs_pwrite_device") { guestfs_pwrite_device($0, device, buffer, count, offset) }
        }
    }
}
