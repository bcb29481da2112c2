import Guestfs
import SerialPolicy
import Testing
@testable import Inspection

/// QuickLook answers only plain cases and leaves every doubtful one to libguestfs (nil).
@Suite struct QuickLookTests {
    let root = QuickLook.Filesystem(device: "/dev/sda2", type: "ext4", label: "vmroot", uuid: "7A3C5E1D-2B4F-4C6A-8E9D-1F0A2B3C4D5E")
    let boot = QuickLook.Filesystem(device: "/dev/sda1", type: "ext2", label: "boot", uuid: "1111-2222")
    let home = QuickLook.Filesystem(device: "/dev/sdb1", type: "xfs", label: "", uuid: "0b5e6a2c-0000-4000-8000-00000000beef")
    let release = """
        PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
        NAME="Debian GNU/Linux"
        VERSION_ID="12.4"
        ID=debian
        """

    @Test func rootWithLabelAndUUIDMounts() throws {
        let fstab = """
            # <file system> <mount point> <type> <options> <dump> <pass>
            LABEL=vmroot  /      ext4  defaults  0 1
            UUID=1111-2222 /boot ext2 defaults 0 2
            /dev/disk/by-uuid/0b5e6a2c-0000-4000-8000-00000000BEEF /home xfs defaults 0 2
            proc /proc proc defaults 0 0
            tmpfs /tmp tmpfs defaults 0 0
            /swapfile none swap sw 0 0
            """
        let info = try #require(QuickLook.linux(root: root, files: .init(fstab: fstab, osRelease: release, hostname: "web1\n"),
                                                filesystems: [boot, root, home]))
        #expect(info.type == "linux" && info.distro == "debian" && info.root == "/dev/sda2")
        #expect(info.productName == "Debian GNU/Linux 12 (bookworm)")
        #expect(info.majorVersion == 12 && info.minorVersion == 4 && info.hostname == "web1")
        #expect(info.mountpoints.map(\.mountpoint) == ["/", "/boot", "/home"])
        #expect(info.mountpoints.map(\.device) == ["/dev/sda2", "/dev/sda1", "/dev/sdb1"])
    }

    /// Guest device names and by-id paths are libguestfs' business: the quick look declines.
    @Test(arguments: ["/dev/vda1 /boot ext2 defaults 0 2", "/dev/disk/by-id/virtio-VS0001-part1 /data ext4 nofail 0 2",
                      "PARTUUID=00112233-01 /boot ext2 defaults 0 2", "LABEL=missing /srv ext4 defaults 0 2",
                      "UUID=1111-2222 / ext2 defaults 0 1"])
    func unresolvableEntryDeclines(line: String) {
        let fstab = "LABEL=vmroot / ext4 defaults 0 1\n" + line + "\n"
        #expect(QuickLook.linux(root: root, files: .init(fstab: fstab, osRelease: release), filesystems: [boot, root]) == nil)
    }

    @Test func duplicateLabelDeclines() {
        let twin = QuickLook.Filesystem(device: "/dev/sdb1", type: "ext4", label: "vmroot")
        let fstab = "LABEL=vmroot / ext4 defaults 0 1\n"
        #expect(QuickLook.linux(root: root, files: .init(fstab: fstab, osRelease: release), filesystems: [root, twin]) == nil)
    }

    @Test func volumeManagersAreLeftToLibguestfs() {
        #expect(QuickLook.mayDecide([boot, root]))
        #expect(!QuickLook.mayDecide([boot, .init(device: "/dev/sda2", type: "LVM2_member")]))
        #expect(!QuickLook.mayDecide([.init(device: "/dev/sda3", type: "crypto_LUKS"), root]))
    }

    @Test func osReleaseQuotingAndMissingFields() {
        let r = QuickLook.osRelease("# comment\nID='alpine'\nVERSION_ID=3.19.1\nNAME=Alpine\n")
        #expect(r["ID"] == "alpine" && r["VERSION_ID"] == "3.19.1" && r["NAME"] == "Alpine")
        let info = QuickLook.linux(root: root, files: .init(fstab: "", osRelease: "NAME=Minimal\n"), filesystems: [root])
        #expect(info?.productName == "Minimal" && info?.distro == "unknown" && info?.majorVersion == 0 && info?.hostname == "unknown")
        #expect(info?.mountpoints.map(\.mountpoint) == ["/"])
    }

    // By-id entries, with the domain's disks known: sda root (virtio, serial VS-ROOT),
    // sdb data (virtio SCN-DATA-0001, partition 1 holds xfs), sdc logs (sata SCN-LOGS-0001, blank).
    let data1 = QuickLook.Filesystem(device: "/dev/sdb1", type: "xfs", uuid: "4d3c2b1a-0000-4000-8000-000000000001")
    var disks: [QuickLook.GuestDisk] {
        [.init(device: "/dev/sda", name: ByIDName(bus: .virtio, serial: "VS-ROOT")),
         .init(device: "/dev/sdb", name: ByIDName(bus: .virtio, serial: "SCN-DATA-0001")),
         .init(device: "/dev/sdc", name: ByIDName(bus: .sata, serial: "SCN-LOGS-0001"))]
    }

    func look(_ lines: String, disks: [QuickLook.GuestDisk]? = nil, filesystems: [QuickLook.Filesystem]? = nil) -> OSInfo? {
        QuickLook.linux(root: root, files: .init(fstab: "LABEL=vmroot / ext4 defaults 0 1\n" + lines, osRelease: release),
                        filesystems: filesystems ?? [root, data1], disks: disks ?? self.disks)
    }

    /// An entry by the name udev gives a disk from its serial mounts the appliance's device of
    /// that disk (the Debian test guest's fstab names its data disks so).
    @Test func byIDEntryMountsTheDiskWithThatSerial() throws {
        let info = try #require(look("/dev/disk/by-id/virtio-SCN-DATA-0001-part1 /mnt/data xfs defaults 0 2\n"))
        #expect(info.mountpoints.map(\.mountpoint) == ["/", "/mnt/data"])
        #expect(info.mountpoints.map(\.device) == ["/dev/sda2", "/dev/sdb1"])
    }

    /// nofail: the guest boots without the entry, so when the guest will have nothing there (no
    /// disk has that serial, or the disk holds no filesystem) the quick look leaves it out.
    @Test(arguments: ["/dev/disk/by-id/ata-QEMU_HARDDISK_SCN-LOGS-0001 /mnt/logs auto nofail 0 0",
                      "/dev/disk/by-id/virtio-NO-SUCH-DISK /mnt/gone ext4 defaults,nofail 0 2",
                      "/dev/disk/by-id/virtio-SCN-DATA-0001-part2 /mnt/p2 ext4 nofail 0 2"])
    func byIDEntryTheGuestLacksIsLeftOutWhenNofail(line: String) throws {
        let info = try #require(look(line + "\n"))
        #expect(info.mountpoints.map(\.mountpoint) == ["/"])
        // Without nofail the guest would stop at that entry: not the quick look's call.
        #expect(look(line.replacingOccurrences(of: "nofail", with: "noatime") + "\n") == nil)
    }

    /// Undecidable by-id entries go to libguestfs: no disk list, a name form that does not come
    /// from a serial, a disk whose name vmserial cannot tell (no serial), two disks behind one
    /// name (scsi names carry 20 characters), a disk not attached to the appliance.
    @Test func undecidableByIDEntriesDecline() {
        let entry = "/dev/disk/by-id/virtio-SCN-DATA-0001-part1 /mnt/data xfs nofail 0 2\n"
        #expect(QuickLook.linux(root: root, files: .init(fstab: "LABEL=vmroot / ext4 defaults 0 1\n" + entry, osRelease: release),
                                filesystems: [root, data1]) == nil)
        #expect(look("/dev/disk/by-id/wwn-0x5000c500a1b2c3d4 /srv ext4 nofail 0 2\n") == nil)
        #expect(look("/dev/disk/by-id/virtio-NO-SUCH-DISK /srv ext4 nofail 0 2\n", disks: disks + [.init(device: "/dev/sdd", name: nil)]) == nil)
        let long = "SCSI-SERIAL-0123456789-"
        let twins: [QuickLook.GuestDisk] = [.init(device: "/dev/sda", name: ByIDName(bus: .scsi, serial: long + "A")),
                                            .init(device: "/dev/sdb", name: ByIDName(bus: .scsi, serial: long + "B"))]
        #expect(look("/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_SCSI-SERIAL-01234567 /srv ext4 nofail 0 2\n", disks: twins) == nil)
        let detached = [QuickLook.GuestDisk(device: nil, name: ByIDName(bus: .virtio, serial: "SCN-DATA-0001"))]
        #expect(look(entry, disks: detached) == nil)
    }

    /// A whole-disk filesystem on a SATA disk, named by ata-…; a root named by id must be the root.
    @Test func byIDWholeDiskAndRoot() throws {
        let logs = QuickLook.Filesystem(device: "/dev/sdc", type: "ext4")
        let info = try #require(look("/dev/disk/by-id/ata-QEMU_HARDDISK_SCN-LOGS-0001 /var/log ext4 defaults 0 2\n",
                                     filesystems: [root, data1, logs]))
        #expect(info.mountpoints.map(\.device) == ["/dev/sda2", "/dev/sdc"])
        let rootByID = QuickLook.linux(root: root, files: .init(fstab: "/dev/disk/by-id/virtio-VS-ROOT-part2 / ext4 defaults 0 1\n", osRelease: release),
                                       filesystems: [root], disks: disks)
        #expect(rootByID?.mountpoints.map(\.device) == ["/dev/sda2"])
        let wrongRoot = QuickLook.linux(root: root, files: .init(fstab: "/dev/disk/by-id/virtio-SCN-DATA-0001-part1 / xfs defaults 0 1\n", osRelease: release),
                                        filesystems: [root, data1], disks: disks)
        #expect(wrongRoot == nil)
    }
}
