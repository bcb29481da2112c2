import SerialPolicy
import Testing
@testable import Inspection

@Suite("by-id names and fstab / crypttab")
struct LinuxTablesTests {
    @Test("each bus's by-id name parses back to bus, serial and partition", arguments: [
        ("virtio-VS1KA4ZCHWYHWD0H51VZ", "virtio", "VS1KA4ZCHWYHWD0H51VZ", nil as Int?),
        ("/dev/disk/by-id/virtio-VS1KA4ZCHWYHWD0H51VZ-part2", "virtio", "VS1KA4ZCHWYHWD0H51VZ", 2),
        ("scsi-0QEMU_QEMU_HARDDISK_MANUAL-0001", "scsi", "MANUAL-0001", nil),
        ("scsi-SQEMU_QEMU_HARDDISK_MANUAL-0001-part1", "scsi", "MANUAL-0001", 1),
        ("ata-QEMU_HARDDISK_VSQ5YPCSQGPNT7DWXGNE-part15", "sata", "VSQ5YPCSQGPNT7DWXGNE", 15),
        ("nvme-QEMU_NVMe_Ctrl_NV-0001", "nvme", "NV-0001", nil),
        // A serial that itself ends like a partition suffix but without digits stays whole.
        ("virtio-DISK-part", "virtio", "DISK-part", nil),
        ("virtio-A-part3-part1", "virtio", "A-part3", 1),
    ])
    func parses(name: String, bus: String, serial: String, partition: Int?) throws {
        let n = try #require(ByIDName(parsing: name))
        #expect(n.bus.rawValue == bus)
        #expect(n.serial == serial)
        #expect(n.partition == partition)
    }

    @Test("names not built from a serial, and paths outside by-id, are not by-id serial names", arguments: [
        "wwn-0x5000c500a1b2c3d4", "nvme-eui.0123456789abcdef", "dm-name-vg-root", "virtio-", "virtio--part1",
        "/dev/disk/by-path/virtio-pci-0000:00:04.0", "/dev/vda1", "UUID=1234",
    ])
    func rejects(name: String) {
        #expect(ByIDName(parsing: name) == nil)
    }

    @Test("rendering gives the names udev makes")
    func renders() {
        #expect(ByIDName(bus: .virtio, serial: "S1").name == "virtio-S1")
        #expect(ByIDName(bus: .scsi, serial: "S1", partition: 1).name == "scsi-0QEMU_QEMU_HARDDISK_S1-part1")
        #expect(ByIDName(bus: .sata, serial: "S1").name == "ata-QEMU_HARDDISK_S1")
        #expect(ByIDName(bus: .nvme, serial: "S1").name == "nvme-QEMU_NVMe_Ctrl_S1")
    }

    @Test("fstab: comments, blank lines, tabs, octal escapes, short lines and line numbers")
    func fstab() {
        let text = """
        # /etc/fstab: static file system information.
        UUID=0a1b2c3d\t/\text4\terrors=remount-ro\t0\t1

        /dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_DATA1-part1 /srv/my\\040data ext4 defaults,nofail 0 2
           # indented comment
        /dev/disk/by-id/virtio-OLD /old
        proc /proc proc defaults 0 0\r
        lonely
        """
        let e = FilesystemTable.fstab(text)
        #expect(e.map(\.device) == ["UUID=0a1b2c3d", "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_DATA1-part1", "/dev/disk/by-id/virtio-OLD", "proc"])
        #expect(e.map(\.line) == [2, 4, 6, 7])
        #expect(e[1].target == "/srv/my data")
        #expect(e[1].options == ["defaults", "nofail"])
        #expect(e[1].noFail)
        #expect(e[1].udevName == ByIDName(bus: .scsi, serial: "DATA1", partition: 1))
        #expect(e[2].options.isEmpty)
        #expect(e[3].options == ["defaults"])
        #expect(e.allSatisfy { $0.file == "/etc/fstab" })
    }

    @Test("crypttab: the device is the second field, the target the volume name")
    func crypttab() {
        let text = """
        # <target name> <source device> <key file> <options>
        secret /dev/disk/by-id/virtio-KEY1-part2 none luks,discard
        swap\t/dev/disk/by-id/ata-QEMU_HARDDISK_SW1\t/dev/urandom\tswap,cipher=aes-xts-plain64
        bare UUID=abcd
        """
        let e = FilesystemTable.crypttab(text)
        #expect(e.map(\.target) == ["secret", "swap", "bare"])
        #expect(e.map(\.device) == ["/dev/disk/by-id/virtio-KEY1-part2", "/dev/disk/by-id/ata-QEMU_HARDDISK_SW1", "UUID=abcd"])
        #expect(e[0].options == ["luks", "discard"])
        #expect(e[2].options.isEmpty)
        #expect(e.allSatisfy { $0.file == "/etc/crypttab" })
    }

    @Test("an escape that is not three octal digits stays as written")
    func escapes() {
        #expect(FilesystemTable.unescape("a\\040b\\011c\\134d") == "a b\tc\\d")
        #expect(FilesystemTable.unescape("a\\09") == "a\\09")
        #expect(FilesystemTable.unescape("end\\") == "end\\")
        #expect(FilesystemTable.unescape("x\\999") == "x\\999")
    }
}
