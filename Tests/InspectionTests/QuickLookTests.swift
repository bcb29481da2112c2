import Guestfs
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
}
