import SerialPolicy
import Testing

@Suite struct ByIDNameTests {
    @Test(arguments: [
        (Bus.virtio, "virtio-VS0123456789ABCDEFGH"),
        (Bus.scsi, "scsi-0QEMU_QEMU_HARDDISK_VS0123456789ABCDEFGH"),
        (Bus.sata, "ata-QEMU_HARDDISK_VS0123456789ABCDEFGH"),
        (Bus.nvme, "nvme-QEMU_NVMe_Ctrl_VS0123456789ABCDEFGH"),
    ])
    func namesPerBus(bus: Bus, name: String) {
        let n = ByIDName(bus: bus, serial: "VS0123456789ABCDEFGH")
        #expect(n.name == name)
        #expect(ByIDName(parsing: "/dev/disk/by-id/" + name) == n)
    }

    @Test func partitionsAndSerialsWithDashes() {
        let n = ByIDName(bus: .sata, serial: "MANUAL-0001", partition: 2)
        #expect(n.name == "ata-QEMU_HARDDISK_MANUAL-0001-part2")
        #expect(ByIDName(parsing: n.name) == n)
        // "-part" inside a serial without digits after it stays part of the serial.
        #expect(ByIDName(parsing: "virtio-DISK-part")?.serial == "DISK-part")
        #expect(ByIDName(parsing: "virtio-DISK-part")?.partition == nil)
    }

    @Test(arguments: ["wwn-0x5000c500a1b2c3d4", "nvme-eui.0123456789abcdef", "virtio-", "usb-Kingston_DT_123", ""])
    func otherNamesAreNotOurs(name: String) {
        #expect(ByIDName(parsing: name) == nil)
    }
}

@Suite struct ByIDNameQuirksTests {
    /// QEMU 7.2 builds scsi-hd's page 0x83 identifier from the first 20 characters of the serial.
    @Test func scsiNamesCarryTwentyCharacters() {
        let n = ByIDName(bus: .scsi, serial: "SCSI-SERIAL-0123456789-ABCDEFGHIJK")
        #expect(n.name == "scsi-0QEMU_QEMU_HARDDISK_SCSI-SERIAL-01234567")
        #expect(n.denotes("/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_SCSI-SERIAL-01234567-part1"))
        #expect(!n.denotes("scsi-0QEMU_QEMU_HARDDISK_SCSI-SERIAL-01234568"))
        // Twenty characters or fewer: the whole serial.
        #expect(ByIDName(bus: .scsi, serial: "SHORT").name == "scsi-0QEMU_QEMU_HARDDISK_SHORT")
    }

    @Test func nvmeAlsoHasANamespaceName() {
        let n = ByIDName(bus: .nvme, serial: "NVMESERIAL01")
        #expect(n.names == ["nvme-QEMU_NVMe_Ctrl_NVMESERIAL01", "nvme-QEMU_NVMe_Ctrl_NVMESERIAL01_1"])
        #expect(n.denotes("nvme-QEMU_NVMe_Ctrl_NVMESERIAL01_1"))
        #expect(n.denotes("nvme-QEMU_NVMe_Ctrl_NVMESERIAL01_1-part2"))
        #expect(!n.denotes("nvme-QEMU_NVMe_Ctrl_NVMESERIAL02"))
        // Another bus with the same serial is another disk.
        #expect(!n.denotes("virtio-NVMESERIAL01"))
    }
}
