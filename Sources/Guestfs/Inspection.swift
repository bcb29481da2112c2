import CGuestfs

/// What libguestfs' inspection found about one operating system (one root filesystem).
public struct OSInfo: Sendable, Equatable {
    /// The root filesystem's device, e.g. `/dev/sda1` or `/dev/vg0/root`.
    public var root: String
    /// `linux`, `windows`, `freebsd`, …, or `unknown` (`guestfs_inspect_get_type`).
    public var type: String
    /// `debian`, `fedora`, `ubuntu`, `windows`, …, or `unknown`.
    public var distro: String
    /// A human-readable name, e.g. `Debian GNU/Linux 12 (bookworm)`, or `unknown`.
    public var productName: String
    /// 0 when inspection could not tell.
    public var majorVersion: Int
    /// 0 when inspection could not tell.
    public var minorVersion: Int
    /// The guest's configured hostname, or `unknown`.
    public var hostname: String
    /// Where the guest mounts each of its filesystems, sorted shortest mountpoint first
    /// (so `/` comes before `/boot`), which is the order to mount them in.
    public var mountpoints: [(mountpoint: String, device: String)]
    /// Windows only: the system directory, e.g. `/Windows` (as spelled on disk).
    public var windowsSystemroot: String?
    /// Windows only: the control set the guest boots with, e.g. `ControlSet001`; nil
    /// also when inspection could not read the registry.
    public var windowsCurrentControlSet: String?

    public init(
        root: String, type: String, distro: String, productName: String,
        majorVersion: Int, minorVersion: Int, hostname: String,
        mountpoints: [(mountpoint: String, device: String)],
        windowsSystemroot: String? = nil, windowsCurrentControlSet: String? = nil
    ) {
        self.root = root
        self.type = type
        self.distro = distro
        self.productName = productName
        self.majorVersion = majorVersion
        self.minorVersion = minorVersion
        self.hostname = hostname
        self.mountpoints = mountpoints
        self.windowsSystemroot = windowsSystemroot
        self.windowsCurrentControlSet = windowsCurrentControlSet
    }

    // Tuples are not Equatable, so the synthesised == is not available.
    public static func == (lhs: OSInfo, rhs: OSInfo) -> Bool {
        lhs.root == rhs.root && lhs.type == rhs.type && lhs.distro == rhs.distro
            && lhs.productName == rhs.productName && lhs.majorVersion == rhs.majorVersion
            && lhs.minorVersion == rhs.minorVersion && lhs.hostname == rhs.hostname
            && lhs.mountpoints.elementsEqual(rhs.mountpoints, by: { $0 == $1 })
            && lhs.windowsSystemroot == rhs.windowsSystemroot
            && lhs.windowsCurrentControlSet == rhs.windowsCurrentControlSet
    }
}

extension Guestfs {
    /// Inspects the added disks for operating systems (`guestfs_inspect_os`) and returns
    /// their root filesystems; empty when there is none. Needs a launched appliance.
    public func inspectOS() throws -> [String] {
        try callStringList("guestfs_inspect_os") { guestfs_inspect_os($0) }
    }

    /// Everything inspection knows about one root returned by `inspectOS()`.
    public func inspectInfo(root: String) throws -> OSInfo {
        let type = try callString("guestfs_inspect_get_type") { guestfs_inspect_get_type($0, root) }
        let distro = try callString("guestfs_inspect_get_distro") {
            guestfs_inspect_get_distro($0, root)
        }
        let productName = try callString("guestfs_inspect_get_product_name") {
            guestfs_inspect_get_product_name($0, root)
        }
        let major = try callInt("guestfs_inspect_get_major_version") {
            guestfs_inspect_get_major_version($0, root)
        }
        let minor = try callInt("guestfs_inspect_get_minor_version") {
            guestfs_inspect_get_minor_version($0, root)
        }
        let hostname = try callString("guestfs_inspect_get_hostname") {
            guestfs_inspect_get_hostname($0, root)
        }
        var systemroot: String?
        var controlSet: String?
        if type == "windows" {
            // Both fail when inspection could not determine them (e.g. an unreadable
            // SYSTEM hive); that is "unknown", not a failure of the whole inspection.
            systemroot = try? callString("guestfs_inspect_get_windows_systemroot") {
                guestfs_inspect_get_windows_systemroot($0, root)
            }
            controlSet = try? callString("guestfs_inspect_get_windows_current_control_set") {
                guestfs_inspect_get_windows_current_control_set($0, root)
            }
        }
        return OSInfo(
            root: root, type: type, distro: distro, productName: productName,
            majorVersion: Int(major), minorVersion: Int(minor), hostname: hostname,
            mountpoints: try inspectMountpoints(root: root),
            windowsSystemroot: systemroot, windowsCurrentControlSet: controlSet)
    }

    /// The guest's mountpoints for `root` (`guestfs_inspect_get_mountpoints`), shortest
    /// mountpoint first, ties in byte order, so parents are mounted before children.
    public func inspectMountpoints(root: String) throws -> [(mountpoint: String, device: String)] {
        let flat = try callStringList("guestfs_inspect_get_mountpoints") {
            guestfs_inspect_get_mountpoints($0, root)
        }
        return pairs(flat)
            .map { (mountpoint: $0.0, device: $0.1) }
            .sorted {
                $0.mountpoint.utf8.count != $1.mountpoint.utf8.count
                    ? $0.mountpoint.utf8.count < $1.mountpoint.utf8.count
                    : $0.mountpoint < $1.mountpoint
            }
    }

    /// Mounts the guest's filesystems for `root` the way the guest does, shortest
    /// mountpoint first. Like virt-inspector, a filesystem that fails to mount (a stale
    /// fstab entry, an unsupported or damaged filesystem) is skipped.
    ///
    /// - Parameter readonly: mount with `guestfs_mount_ro`; use it for anything that
    ///   only reads, since a read-write mount may replay journals.
    public func mountInspected(root: String, readonly: Bool) throws {
        for entry in try inspectMountpoints(root: root) {
            do {
                if readonly {
                    try mountReadOnly(entry.device, at: entry.mountpoint)
                } else {
                    try mount(entry.device, at: entry.mountpoint)
                }
            } catch is GuestfsError {
                continue
            }
        }
    }
}
