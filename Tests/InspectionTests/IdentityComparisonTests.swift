import Guestfs
import Testing
@testable import Inspection
import TestSupport

@Suite("recorded identities against the current ones")
struct IdentityComparisonTests {
    static let current = CurrentIdentity(uuid: "4F0FBB8C-3D52-4D6A-9A5E-0123456789AB", smbiosSerial: "4f0fbb8c-3d52-4d6a-9a5e-0123456789ab", disks: [
        CurrentDisk(name: "root", bus: .virtio, target: "vda", serial: "VS1KA4ZCHWYHWD0H51VZ"),
        CurrentDisk(name: "data", bus: .scsi, target: "sda", serial: "MANUAL-0001"),
        CurrentDisk(name: "scratch", bus: .sata, target: "sdb", serial: nil),
    ])

    static func entry(_ device: String, _ target: String, file: String = "/etc/fstab", options: [String] = ["defaults"], line: Int = 3) -> TableEntry {
        TableEntry(file: file, line: line, device: device, target: target, options: options)
    }

    @Test("an fstab entry naming a current disk by its serial and bus matches")
    func fstabMatch() throws {
        let f = IdentityComparison.linux([Self.entry("/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_MANUAL-0001-part1", "/data")], current: Self.current)
        let one = try #require(f.first)
        #expect(f.count == 1)
        #expect(one.ok && !one.info)
        #expect(one.what == "fstab /data")
        #expect(one.seen == "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_MANUAL-0001-part1")
        #expect(one.detail == "/etc/fstab line 3: disk data (scsi sda)")
    }

    @Test("an entry naming a serial no disk has will not be found at boot; nofail is mentioned")
    func fstabMissing() throws {
        let f = IdentityComparison.linux([
            Self.entry("/dev/disk/by-id/virtio-OLDSERIAL0000000001", "/old"),
            Self.entry("/dev/disk/by-id/virtio-OLDSERIAL0000000002-part2", "/opt", options: ["defaults", "nofail"], line: 4),
        ], current: Self.current)
        #expect(f.count == 2)
        #expect(f.allSatisfy { !$0.ok && !$0.info })
        #expect(f[0].expected == "virtio-VS1KA4ZCHWYHWD0H51VZ, scsi-0QEMU_QEMU_HARDDISK_MANUAL-0001")
        #expect(f[0].seen == "/dev/disk/by-id/virtio-OLDSERIAL0000000001")
        #expect(f[0].detail?.contains("no disk of this VM has serial OLDSERIAL0000000001: a disk that will not be found at boot") == true)
        #expect(f[0].detail?.contains("nofail") == false)
        #expect(f[1].detail?.contains("nofail: the boot goes on without it") == true)
    }

    @Test("the right serial under another bus's name is a name udev no longer makes")
    func fstabWrongBus() throws {
        let f = IdentityComparison.linux([Self.entry("/dev/disk/by-id/ata-QEMU_HARDDISK_MANUAL-0001-part1", "/data")], current: Self.current)
        let one = try #require(f.first)
        #expect(!one.ok)
        #expect(one.expected == "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_MANUAL-0001-part1")
        #expect(one.detail?.contains("on bus scsi rather than sata") == true)
    }

    @Test("crypttab entries are compared too; UUID= entries and other paths are not listed; wwn names are info")
    func crypttabAndOthers() {
        let f = IdentityComparison.linux([
            Self.entry("/dev/disk/by-id/virtio-VS1KA4ZCHWYHWD0H51VZ-part3", "secret", file: "/etc/crypttab", options: ["luks"]),
            Self.entry("UUID=0a1b", "/"),
            Self.entry("/dev/vda1", "/boot"),
            Self.entry("/dev/disk/by-id/wwn-0x5000c500a1b2c3d4", "/wwn"),
        ], current: Self.current)
        #expect(f.map(\.what) == ["crypttab secret", "fstab /wwn"])
        #expect(f[0].ok && !f[0].info)
        #expect(f[1].ok && f[1].info)
    }

    static func windows(serial: String?, uuid: String?, instances: [DiskInstance] = [], mounted: [MountedDevice] = []) -> WindowsRecord {
        var table = SMBIOSTable(structures: [SystemInformation(manufacturer: "QEMU", serialNumber: serial, uuid: uuid).structure(),
                                             .endOfTable(handle: 1)])
        table.minorVersion = 8
        return WindowsRecord(controlSet: "ControlSet001", smbios: SMBIOSView(table), diskInstances: instances, mountedDevices: mounted)
    }

    @Test("the SMBIOS serial and UUID Windows last saw match the current ones (UUID case does not matter)")
    func smbiosMatch() {
        let f = IdentityComparison.windows(Self.windows(serial: "4f0fbb8c-3d52-4d6a-9a5e-0123456789ab", uuid: "4f0fbb8c-3d52-4d6a-9a5e-0123456789ab"),
                                           current: Self.current).filter { $0.what.hasPrefix("smbios") }
        #expect(f.map(\.what) == ["smbios serial (Windows last saw)", "smbios uuid (Windows last saw)"])
        #expect(f.allSatisfy { $0.ok })
        #expect(f[1].expected == "4f0fbb8c-3d52-4d6a-9a5e-0123456789ab")
    }

    @Test("another SMBIOS serial fails, naming both values")
    func smbiosMismatch() throws {
        let f = IdentityComparison.windows(Self.windows(serial: "OLD-HOST-SERIAL", uuid: "4f0fbb8c-3d52-4d6a-9a5e-0123456789ab"),
                                           current: Self.current)
        let serial = try #require(f.first { $0.what.hasPrefix("smbios serial") })
        #expect(!serial.ok)
        #expect(serial.expected == "4f0fbb8c-3d52-4d6a-9a5e-0123456789ab")
        #expect(serial.seen == "OLD-HOST-SERIAL")
        #expect(serial.detail?.contains("Windows last saw SMBIOS serial OLD-HOST-SERIAL, this VM now presents 4f0fbb8c-3d52-4d6a-9a5e-0123456789ab") == true)
        #expect(f.first { $0.what.hasPrefix("smbios uuid") }?.ok == true)
    }

    @Test("a VM without an SMBIOS serial expects none; a UUID Windows saw differently fails")
    func noSerialAndOtherUUID() {
        var none = Self.current
        none.smbiosSerial = nil
        let f = IdentityComparison.windows(Self.windows(serial: nil, uuid: "00000000-0000-0000-0000-000000000001"), current: none)
            .filter { $0.what.hasPrefix("smbios") }
        #expect(f[0].ok, "no serial then, none now")
        #expect(f[0].expected == "" && f[0].seen == "")
        #expect(!f[1].ok)
        #expect(f[1].seen == "00000000-0000-0000-0000-000000000001")
    }

    @Test("disk instances: a serial a current disk has matches (case and padding aside), an unknown one is flagged, location-based ones are listed")
    func instances() throws {
        let f = IdentityComparison.windows(Self.windows(serial: "4f0fbb8c-3d52-4d6a-9a5e-0123456789ab", uuid: "4f0fbb8c-3d52-4d6a-9a5e-0123456789ab", instances: [
            DiskInstance(enumerator: "SCSI", deviceID: "Disk&Ven_Red_Hat&Prod_VirtIO", instanceID: "VS1KA4ZCHWYHWD0H51VZ&0",
                         serial: "VS1KA4ZCHWYHWD0H51VZ", serialSource: "instance ID", busHint: "virtio"),
            DiskInstance(enumerator: "SCSI", deviceID: "Disk&Ven_QEMU&Prod_QEMU_HARDDISK", instanceID: "MANUAL-0001&0",
                         serial: DiskInstance.normalize("manual-0001"), serialSource: "instance ID"),
            DiskInstance(enumerator: "SCSI", deviceID: "Disk&Ven_Red_Hat&Prod_VirtIO", instanceID: "VSOLDOLDOLDOLDOLDOLD&0",
                         friendlyName: "Red Hat VirtIO SCSI Disk Device", serial: "VSOLDOLDOLDOLDOLDOLD", serialSource: "instance ID"),
            DiskInstance(enumerator: "SCSI", deviceID: "Disk&Ven_&Prod_QEMU_HARDDISK", instanceID: "4&2a0cfc1b&0&000000"),
        ], mounted: [MountedDevice(name: "\\DosDevices\\C:", data: MountedDevice.mbrValue(signature: 7, offset: 1_048_576))]),
                                           current: Self.current)
        let rows = Dictionary(uniqueKeysWithValues: f.map { ($0.what, $0) })
        let virtio = try #require(rows["disk instance SCSI\\Disk&Ven_Red_Hat&Prod_VirtIO\\VS1KA4ZCHWYHWD0H51VZ&0"])
        #expect(virtio.ok && !virtio.info)
        #expect(virtio.detail == "serial from the instance ID: disk root (virtio vda)")
        #expect(rows["disk instance SCSI\\Disk&Ven_QEMU&Prod_QEMU_HARDDISK\\MANUAL-0001&0"]?.ok == true)
        let old = try #require(rows["disk instance SCSI\\Disk&Ven_Red_Hat&Prod_VirtIO\\VSOLDOLDOLDOLDOLDOLD&0"])
        #expect(!old.ok)
        #expect(old.seen == "VSOLDOLDOLDOLDOLDOLD")
        #expect(old.expected == "VS1KA4ZCHWYHWD0H51VZ, MANUAL-0001")
        #expect(old.detail?.contains("the trace of a serial change") == true)
        let located = try #require(rows["disk instance SCSI\\Disk&Ven_&Prod_QEMU_HARDDISK\\4&2a0cfc1b&0&000000"])
        #expect(located.ok && located.info)
        let c = try #require(rows["MountedDevices \\DosDevices\\C:"])
        #expect(c.info && c.seen == "MBR disk 00000007, partition at byte 1048576")
        #expect(f.filter { !$0.ok }.count == 1)
    }

    @Test("an unreadable table and hive notes are reported")
    func problems() {
        let r = WindowsRecord(controlSet: "ControlSet001", smbiosError: "SMBIOS table truncated: x", notes: ["no Select\\Current value: read ControlSet001"])
        let f = IdentityComparison.windows(r, current: Self.current)
        #expect(f.map(\.what) == ["SYSTEM hive", "machine uuid (HardwareConfig)", "smbios table", "san policy"])
        #expect(f[0].info && f[1].info && f[3].info)
        #expect(!f[2].ok)
    }

    @Test("a system's findings start with what could not be read")
    func systemFindings() {
        let s = SystemRecord(root: "/dev/sda2", disk: 0, type: "windows", distro: "windows", productName: "Windows", majorVersion: 10,
                             minorVersion: 0, hostname: "win", problems: ["cannot open the SYSTEM hive"])
        let f = s.findings(current: Self.current)
        #expect(f.count == 1 && !f[0].ok)
        #expect(s.version == "10.0")
    }

    @Test("after libguestfs' parted failure, the disks with partitions are inspected again")
    func unlabelledDisks() {
        let e = GuestfsError(function: "guestfs_inspect_os",
                             message: "inspect_os: parted: /dev/sdb: parted exited with status 1: Error: /dev/sdb: unrecognised disk label: Invalid argument")
        #expect(GuestInspector.isUnlabelledDiskFailure(e))
        #expect(!GuestInspector.isUnlabelledDiskFailure(GuestfsError(function: "guestfs_launch", message: "qemu died")))
        #expect(GuestInspector.partitionedDisks(devices: ["/dev/sda", "/dev/sdb", "/dev/sdc"], partitions: ["/dev/sda1", "/dev/sdc1", "/dev/sdc2"]) == [0, 2])
        #expect(GuestInspector.partitionedDisks(devices: ["/dev/sda"], partitions: []) == [])
    }

    @Test("a root's disk is the device it is a partition of", arguments: [
        ("/dev/sda1", 0 as Int?), ("/dev/sdb12", 1), ("/dev/sdb", 1), ("/dev/mapper/vg-root", nil), ("/dev/sdaa1", nil),
    ])
    func diskIndex(root: String, index: Int?) {
        #expect(GuestInspector.diskIndex(of: root, devices: ["/dev/sda", "/dev/sdb"]) == index)
    }
}
