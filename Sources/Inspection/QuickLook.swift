import Foundation
import Guestfs
import SerialPolicy

/// A quick way to find a Linux guest's root and its mounts, for `verify --mode guest`, where
/// libguestfs' full inspection (`inspect_os`: LVM, RAID, every filesystem, package databases'
/// locations, …) costs about 5 s under TCG and tells nothing the reporter needs.
///
/// The rule is conservative: it answers only when the answer is plain, and otherwise says
/// "ask libguestfs" (nil). Plain means: no LVM, RAID, LUKS or ZFS member among the
/// filesystems; exactly one filesystem that looks like a Linux root (/etc/fstab, an
/// os-release file and an init); and every block-device line of its fstab names a filesystem
/// present here by LABEL=, UUID= or /dev/disk/by-label|by-uuid/, or names a disk by the
/// /dev/disk/by-id/ name udev gives it from its serial, when the caller says which serial each
/// disk has (`GuestDisk`). Guest device names such as /dev/vda2 are not mapped here: libguestfs
/// does that.
///
/// A by-id entry whose disk the guest will not have (no disk has that serial) or which holds no
/// filesystem is left out when the entry says `nofail`: the guest boots without it too, and
/// nothing vmserial reads or writes lives there. Without `nofail` it is libguestfs' call.
public enum QuickLook {
    /// One filesystem the appliance sees, as `vfs_type`, `vfs_label` and `vfs_uuid` report it.
    public struct Filesystem: Sendable, Equatable {
        public var device: String
        public var type: String
        public var label: String
        public var uuid: String

        public init(device: String, type: String, label: String = "", uuid: String = "") {
            self.device = device
            self.type = type
            self.label = label
            self.uuid = uuid
        }
    }

    /// One disk of the domain as the guest will see it: the by-id name udev gives it (from its
    /// bus and serial) and the appliance's device for it (nil when it is not attached to the
    /// appliance, e.g. a CD-ROM without a medium). A nil name is a disk whose by-id name vmserial
    /// cannot tell (no serial: the device model's default; a CD-ROM; a bus it does not model): by-id
    /// entries that match no other disk then stay libguestfs' call.
    public struct GuestDisk: Sendable, Equatable {
        public var device: String?
        public var name: ByIDName?

        public init(device: String?, name: ByIDName?) {
            self.device = device
            self.name = name
        }
    }

    /// What a candidate root holds, read from it mounted read-only.
    public struct RootFiles: Sendable, Equatable {
        public var fstab: String
        public var osRelease: String
        public var hostname: String?

        public init(fstab: String, osRelease: String, hostname: String? = nil) {
            self.fstab = fstab
            self.osRelease = osRelease
            self.hostname = hostname
        }
    }

    /// Filesystem types a Linux root may have.
    public static let rootTypes: Set<String> = ["ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "reiserfs"]
    /// Members of a volume manager or an encrypted or pooled device: their filesystems are
    /// not visible as such, so only libguestfs can say what is there.
    public static let opaqueTypes: Set<String> = ["LVM2_member", "linux_raid_member", "crypto_LUKS", "zfs_member",
                                                  "BitLocker", "ddf_raid_member", "isw_raid_member"]
    /// The files whose presence makes a filesystem a root candidate (besides /etc/fstab).
    public static let osReleasePaths = ["/etc/os-release", "/usr/lib/os-release"]
    public static let initPaths = ["/sbin/init", "/lib/systemd/systemd", "/usr/lib/systemd/systemd"]

    /// Whether looking at each root filesystem can settle the question at all.
    public static func mayDecide(_ filesystems: [Filesystem]) -> Bool {
        !filesystems.contains { opaqueTypes.contains($0.type) }
    }

    /// The OS on `root`, or nil when its fstab names something not resolvable among `filesystems`.
    /// `disks`: the domain's disks, when known; without them by-id entries are not resolved.
    public static func linux(root: Filesystem, files: RootFiles, filesystems: [Filesystem], disks: [GuestDisk]? = nil) -> OSInfo? {
        var mounts: [(mountpoint: String, device: String)] = [("/", root.device)]
        for entry in FilesystemTable.fstab(files.fstab) {
            guard entry.target.hasPrefix("/"), refersToBlockDevice(entry.device) else { continue }
            let fs: Filesystem
            if entry.device.hasPrefix("/dev/disk/by-id/") {
                switch resolve(byID: entry.device, disks: disks, in: filesystems) {
                case .filesystem(let found): fs = found
                case .absent where entry.noFail: continue
                case .absent, .unknown: return nil
                }
            } else {
                guard let found = resolve(entry.device, in: filesystems) else { return nil }
                fs = found
            }
            if entry.target == "/" {
                guard fs.device == root.device else { return nil }
                continue
            }
            guard !mounts.contains(where: { $0.mountpoint == entry.target }) else { return nil }
            mounts.append((entry.target, fs.device))
        }
        let release = osRelease(files.osRelease)
        let version = (release["VERSION_ID"] ?? "").split(separator: ".")
        let product = release["PRETTY_NAME"] ?? release["NAME"] ?? "unknown"
        let host = files.hostname?.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) }
        return OSInfo(root: root.device, type: "linux", distro: release["ID"] ?? "unknown", productName: product,
                      majorVersion: version.first.flatMap { Int($0) } ?? 0,
                      minorVersion: version.dropFirst().first.flatMap { Int($0) } ?? 0,
                      hostname: (host?.isEmpty ?? true) ? "unknown" : host!,
                      mountpoints: mounts.sorted { ($0.mountpoint.count, $0.mountpoint) < ($1.mountpoint.count, $1.mountpoint) })
    }

    /// fstab's first field names a block device (not proc, tmpfs, a network share, …).
    static func refersToBlockDevice(_ spec: String) -> Bool {
        ["LABEL=", "UUID=", "PARTUUID=", "PARTLABEL=", "/dev/"].contains { spec.hasPrefix($0) }
    }

    static func resolve(_ spec: String, in filesystems: [Filesystem]) -> Filesystem? {
        func byLabel(_ l: String) -> Filesystem? {
            let found = filesystems.filter { !l.isEmpty && $0.label == l }
            return found.count == 1 ? found[0] : nil
        }
        func byUUID(_ u: String) -> Filesystem? {
            let found = filesystems.filter { !u.isEmpty && $0.uuid.lowercased() == u.lowercased() }
            return found.count == 1 ? found[0] : nil
        }
        if spec.hasPrefix("LABEL=") { return byLabel(String(spec.dropFirst(6))) }
        if spec.hasPrefix("UUID=") { return byUUID(String(spec.dropFirst(5))) }
        if spec.hasPrefix("/dev/disk/by-label/") { return byLabel(String(spec.dropFirst(19))) }
        if spec.hasPrefix("/dev/disk/by-uuid/") { return byUUID(String(spec.dropFirst(18))) }
        return nil
    }

    /// What a by-id name stands for among the domain's disks.
    enum ByIDResolution: Equatable {
        /// A filesystem the appliance has.
        case filesystem(Filesystem)
        /// The guest will have no filesystem there: no disk has that serial, or the disk or
        /// partition it names holds none.
        case absent
        /// Not decidable here (an unknown name form, two disks with one name, a disk whose
        /// serial is the device model's default, no disk list).
        case unknown
    }

    static func resolve(byID path: String, disks: [GuestDisk]?, in filesystems: [Filesystem]) -> ByIDResolution {
        guard let disks, let name = ByIDName(parsing: path) else { return .unknown }
        let matching = disks.filter { $0.name?.denotes(path) ?? false }
        guard matching.count <= 1 else { return .unknown }
        guard let disk = matching.first else {
            // A disk whose name vmserial cannot tell may be the one.
            return disks.contains { $0.name == nil } ? .unknown : .absent
        }
        guard let whole = disk.device else { return .unknown }
        // The appliance's partitions: /dev/sda1, or /dev/nvme0n1p1 after a digit.
        let device = name.partition.map { whole + (whole.last?.isNumber == true ? "p" : "") + String($0) } ?? whole
        return filesystems.first { $0.device == device }.map { .filesystem($0) } ?? .absent
    }

    /// os-release(5): KEY=value lines, the value optionally quoted.
    public static func osRelease(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
            var value = String(line[line.index(after: eq)...])
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
            }
            out[String(line[..<eq])] = value
        }
        return out
    }
}
