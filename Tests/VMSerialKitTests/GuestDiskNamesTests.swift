import DomainXML
import SerialPolicy
import Testing
@testable import VMSerialKit

/// The by-id names a guest gives the disks of a definition, as the quick look gets them: one
/// per disk in the definition's order, nil where vmserial cannot tell the name.
@Suite struct GuestDiskNamesTests {
    static let xml = """
        <domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
          <name>names</name>
          <memory unit='KiB'>262144</memory>
          <os><type arch='x86_64' machine='q35'>hvm</type></os>
          <devices>
            <disk type='file' device='disk'>
              <driver name='qemu' type='qcow2'/><source file='/img/root.qcow2'/>
              <target dev='vda' bus='virtio'/><serial>VS-ROOT</serial>
            </disk>
            <disk type='file' device='disk'>
              <driver name='qemu' type='qcow2'/><source file='/img/logs.qcow2'/>
              <target dev='sda' bus='sata'/><serial>SCN-LOGS-0001</serial>
            </disk>
            <disk type='file' device='disk'>
              <driver name='qemu' type='raw'/><source file='/img/nvme.img'/>
              <target dev='vdb' bus='virtio'/><serial>NV-0001</serial><alias name='ua-vmserial-nvme-vdb'/>
            </disk>
            <disk type='file' device='disk'>
              <driver name='qemu' type='raw'/><source file='/img/noserial.img'/>
              <target dev='sdb' bus='sata'/>
            </disk>
            <disk type='file' device='cdrom'>
              <driver name='qemu' type='raw'/><target dev='sdc' bus='sata'/><readonly/>
            </disk>
            <disk type='file' device='disk'>
              <driver name='qemu' type='raw'/><source file='/img/old.img'/>
              <target dev='hda' bus='ide'/><serial>IDE-1</serial>
            </disk>
          </devices>
          <qemu:override>
            <qemu:device alias='ua-vmserial-nvme-vdb'>
              <qemu:frontend><qemu:property name='driver' type='string' value='nvme'/></qemu:frontend>
            </qemu:device>
          </qemu:override>
        </domain>
        """

    @Test func namesFollowTheDefinition() throws {
        let names = GuestSession.byIDNames(of: try DomainDefinition(xml: Self.xml))
        #expect(names.map(\.name?.name) == ["virtio-VS-ROOT", "ata-QEMU_HARDDISK_SCN-LOGS-0001", "nvme-QEMU_NVMe_Ctrl_NV-0001",
                                            nil, nil, nil])
        #expect(names.map(\.attached) == [true, true, true, true, false, true])
    }

    /// The quick look skips blkid on a disk whose partitions it lists (libguestfs' own
    /// list_filesystems does the same): the parent of each partition name.
    @Test(arguments: [
        ("/dev/sda1", "/dev/sda"), ("/dev/sdab12", "/dev/sdab"), ("/dev/vdb2", "/dev/vdb"), ("/dev/xvda1", "/dev/xvda"),
        ("/dev/nvme0n1p2", "/dev/nvme0n1"), ("/dev/mmcblk0p1", "/dev/mmcblk0"),
    ])
    func partitionParent(_ partition: String, _ disk: String) {
        #expect(GuestSession.wholeDisk(ofPartition: partition) == disk)
    }

    @Test(arguments: ["/dev/sda", "/dev/nvme0n1", "/dev/mmcblk0", "/dev/md0", "/dev/vdb", "/dev/sd1", "/dev/123", "sda"])
    func notAPartition(_ device: String) {
        #expect(GuestSession.wholeDisk(ofPartition: device) == nil)
    }

    /// The drive added n-th is /dev/sd + the kernel's SCSI disk letters (libguestfs' add_drive
    /// documentation: /dev/sda, /dev/sdb, …; Linux's sd naming: sdz, then sdaa … sdzz, then sdaaa).
    @Test(arguments: [(0, "/dev/sda"), (1, "/dev/sdb"), (25, "/dev/sdz"), (26, "/dev/sdaa"), (27, "/dev/sdab"),
                      (51, "/dev/sdaz"), (52, "/dev/sdba"), (701, "/dev/sdzz"), (702, "/dev/sdaaa")])
    func applianceDisk(_ index: Int, _ name: String) {
        #expect(GuestSession.applianceDiskName(index: index) == name)
    }
}
