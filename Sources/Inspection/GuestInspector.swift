import Guestfs

/// One operating system libguestfs found on the disks, and what it recorded about disk and
/// machine identity.
public struct SystemRecord: Sendable, Equatable, Codable {
    /// The root filesystem (`/dev/sda1`), as libguestfs names it.
    public var root: String
    /// The index (in the order the disks were added) of the disk holding the root; nil when the
    /// root is not a partition of one disk (LVM, RAID).
    public var disk: Int?
    /// linux, windows, …; distro debian, windows, …
    public var type: String
    public var distro: String
    public var productName: String
    public var majorVersion: Int
    public var minorVersion: Int
    public var hostname: String
    public var windowsSystemroot: String?
    /// Linux (and other Unix): every device line of /etc/fstab and /etc/crypttab.
    public var tables: [TableEntry]
    /// Windows: what the SYSTEM hive records.
    public var windows: WindowsRecord?
    /// What could not be read (a missing or damaged hive), one sentence each.
    public var problems: [String]

    public init(root: String, disk: Int?, type: String, distro: String, productName: String, majorVersion: Int, minorVersion: Int,
                hostname: String, windowsSystemroot: String? = nil, tables: [TableEntry] = [], windows: WindowsRecord? = nil,
                problems: [String] = []) {
        self.root = root
        self.disk = disk
        self.type = type
        self.distro = distro
        self.productName = productName
        self.majorVersion = majorVersion
        self.minorVersion = minorVersion
        self.hostname = hostname
        self.windowsSystemroot = windowsSystemroot
        self.tables = tables
        self.windows = windows
        self.problems = problems
    }

    /// "12.0" (libguestfs gives 0.0 when it could not tell).
    public var version: String { "\(majorVersion).\(minorVersion)" }

    /// The comparison of what this system recorded with the current identity.
    public func findings(current: CurrentIdentity) -> [Finding] {
        var out = problems.map { Finding(what: "inspection", expected: "readable", seen: "(unreadable)", ok: false, detail: $0) }
        out += IdentityComparison.linux(tables, current: current)
        if let windows { out += IdentityComparison.windows(windows, current: current) }
        return out
    }
}

/// Finds the operating systems on a set of disks with libguestfs and reads what each
/// recorded about identity. Read-only: disks are added read-only (libguestfs puts a
/// throw-away overlay in front), filesystems mounted read-only, hives opened without write.
public enum GuestInspector {
    /// Inspects the disks of a launched handle (one appliance for all of them; add them
    /// read-only, as `vmserial inspect` does through GuestSession).
    public static func inspect(_ g: Guestfs) throws -> [SystemRecord] {
        let devices = try g.listDevices()
        var out: [SystemRecord] = []
        for root in try g.inspectOS() {
            let info = try g.inspectInfo(root: root)
            var r = SystemRecord(root: root, disk: diskIndex(of: root, devices: devices), type: info.type, distro: info.distro,
                                 productName: info.productName, majorVersion: info.majorVersion, minorVersion: info.minorVersion,
                                 hostname: info.hostname, windowsSystemroot: info.windowsSystemroot)
            try g.mountInspected(root: root, readonly: true)
            defer { try? g.umountAll() }
            if info.type == "windows" {
                readWindows(g, systemroot: info.windowsSystemroot ?? "/Windows", into: &r)
            } else {
                readTables(g, into: &r)
            }
            out.append(r)
        }
        return out
    }

    /// The partition table of each device of a launched handle, in the order the disks were
    /// added; nil where it could not be read (the reason is not needed: such a disk is simply
    /// not matched with what Windows recorded).
    public static func partitionTables(_ g: Guestfs) throws -> [PartitionTable?] {
        try g.listDevices().map { try? PartitionTable.read(g, device: $0) }
    }

    /// libguestfs 1.48's Windows inspection maps each MBR entry of MountedDevices by running
    /// parted on every disk (daemon/inspect_fs_windows.ml, map_registry_disk_blob_mbr), and
    /// only "not found" is caught there: one disk without a partition table (a blank data disk)
    /// makes `inspect_os` fail as a whole. This recognises that failure.
    public static func isUnlabelledDiskFailure(_ error: GuestfsError) -> Bool {
        error.message.contains("parted") && error.message.contains("unrecognised disk label")
    }

    /// The indices of the devices that hold at least one partition: the disks to inspect again
    /// after `isUnlabelledDiskFailure`.
    public static func partitionedDisks(devices: [String], partitions: [String]) -> [Int] {
        devices.indices.filter { i in partitions.contains { diskIndex(of: $0, devices: devices) == i } }
    }

    /// `/dev/sdb2` is on the second disk; `/dev/mapper/vg-root` on none in particular.
    static func diskIndex(of root: String, devices: [String]) -> Int? {
        devices.firstIndex { d in
            root.hasPrefix(d) && root.dropFirst(d.count).allSatisfy { $0.isASCII && $0.isNumber }
        }
    }

    static func readTables(_ g: Guestfs, into r: inout SystemRecord) {
        for (path, parse) in [("/etc/fstab", FilesystemTable.fstab), ("/etc/crypttab", FilesystemTable.crypttab)] {
            guard (try? g.isFile(path, followSymlinks: true)) == true else { continue }
            do {
                r.tables += parse(try g.readText(path), path)
            } catch {
                r.problems.append("cannot read \(path): \(error)")
            }
        }
    }

    static func readWindows(_ g: Guestfs, systemroot: String, into r: inout SystemRecord) {
        let path: String
        do {
            path = try g.caseSensitivePath(systemroot + "/System32/config/SYSTEM")
            guard try g.isFile(path) else {
                r.problems.append("\(systemroot) has no System32\\config\\SYSTEM hive")
                return
            }
            try g.hivexOpen(path, write: false)
        } catch {
            r.problems.append("cannot open the SYSTEM hive under \(systemroot): \(error)")
            return
        }
        defer { try? g.hivexClose() }
        do {
            r.windows = try WindowsSystemHive.read(GuestfsHive(g))
        } catch {
            r.problems.append("cannot read the SYSTEM hive \(path): \(error)")
        }
    }
}
