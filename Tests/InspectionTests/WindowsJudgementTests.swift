import Testing
@testable import Inspection
import TestSupport

/// What real hives lack: QEMU and virtio disk instances, a LastConfig that changed between
/// configurations Windows has seen, an offline disk of the VM's bus, a drive letter on a VM disk
/// that is gone. Synthetic hives, through the same reader as real ones.
@Suite("Windows: what the VM can have caused, judged; the rest listed")
struct WindowsJudgementTests {
    static let diskClass = RegistryValue.string("ClassGUID", WindowsSystemHive.diskDriveClassGUID)

    /// A `PartitionTableCache` for an MBR disk with partitions at `offsets`, shaped like the
    /// real ones (RealHiveTests reads those): style 0, count, signature at 8, 144-byte entries
    /// from 48 with the offset at +8 and the length at +16.
    static func mbrCache(signature: UInt32, offsets: [UInt64]) -> [UInt8] {
        func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(v >> (8 * UInt64($0)) & 0xff) } }
        var b = le(0, 4) + le(UInt64(max(4, offsets.count)), 4) + le(UInt64(signature), 4) + [UInt8](repeating: 0, count: 36)
        for i in 0..<max(4, offsets.count) {
            var e = [UInt8](repeating: 0, count: 144)
            if i < offsets.count {
                e.replaceSubrange(8..<16, with: le(offsets[i], 8))
                e.replaceSubrange(16..<24, with: le(64 << 20, 8))
            }
            b += e
        }
        return b
    }

    static func partmgr(diskId: String, attributes: UInt32, signature: UInt32, offsets: [UInt64]) -> RegistryKey {
        .path(["Device Parameters", "Partmgr"], values: [
            .string("DiskId", diskId), .dword("Attributes", attributes),
            .binary("PartitionTableCache", mbrCache(signature: signature, offsets: offsets)),
        ])
    }

    static let vmUUID = "4f0fbb8c-3d52-4d6a-9a5e-0123456789ab"

    /// Windows after booting on two QEMU configurations: the VM's virtio system disk (serial
    /// VSSYSTEM…, signature 0x11111111, C:) and a virtio data disk that is gone (VSGONE…,
    /// signature 0x22222222, offline, D:), a USB stick (history, E:).
    static func hive(lastConfig: String) -> RegistryKey {
        let virtio = RegistryKey("Disk&Ven_Red_Hat&Prod_VirtIO", subkeys: [
            RegistryKey("VSSYSTEM000000000001&0", values: [diskClass],
                        subkeys: [partmgr(diskId: "{aaaaaaaa-0000-0000-0000-000000000001}", attributes: 0, signature: 0x1111_1111, offsets: [1 << 20])]),
            RegistryKey("VSGONE00000000000001&0", values: [diskClass],
                        subkeys: [partmgr(diskId: "{aaaaaaaa-0000-0000-0000-000000000002}", attributes: 1, signature: 0x2222_2222, offsets: [1 << 20])]),
        ])
        let usb = RegistryKey("Disk&Ven_SanDisk&Prod_Cruzer&Rev_1.20", subkeys: [
            RegistryKey("200608767007B7C08A6A&0", values: [diskClass],
                        subkeys: [partmgr(diskId: "{aaaaaaaa-0000-0000-0000-000000000003}", attributes: 0, signature: 0x3333_3333, offsets: [1 << 20])]),
        ])
        return RegistryKey("ROOT", subkeys: [
            RegistryKey("Select", values: [.dword("Current", 1)]),
            RegistryKey("HardwareConfig", values: [.string("LastConfig", "{\(lastConfig.uppercased())}")], subkeys: [
                RegistryKey("{\(vmUUID)}", values: [.string("SystemManufacturer", "QEMU"), .string("SystemProductName", "Standard PC (Q35 + ICH9, 2009)"),
                                                  .string("BIOSVendor", "SeaBIOS"), .string("BIOSVersion", "1.16.2-debian-1.16.2-1")],
                            subkeys: [RegistryKey("ComputerIds", values: [.string("{1aaa6118-f19d-50ee-b799-86dfb0bfaf55}", "QEMU")])]),
                RegistryKey("{99999999-0000-4000-8000-000000000001}", values: [.string("SystemManufacturer", "QEMU")]),
                RegistryKey("NotAUUID"),
            ]),
            RegistryKey("ControlSet001", subkeys: [
                RegistryKey("Enum", subkeys: [RegistryKey("SCSI", subkeys: [virtio]), RegistryKey("USBSTOR", subkeys: [usb])]),
                .path(["Services", "partmgr", "Parameters"], values: [.dword("SanPolicy", 2)]),
            ]),
            RegistryKey("MountedDevices", values: [
                .binary("\\DosDevices\\C:", MountedDevice.mbrValue(signature: 0x1111_1111, offset: 1 << 20)),
                .binary("\\DosDevices\\D:", MountedDevice.mbrValue(signature: 0x2222_2222, offset: 1 << 20)),
                .binary("\\DosDevices\\E:", MountedDevice.mbrValue(signature: 0x3333_3333, offset: 1 << 20)),
            ]),
        ])
    }

    static let current = CurrentIdentity(uuid: vmUUID.uppercased(), smbiosSerial: nil, disks: [
        CurrentDisk(name: "system", bus: .virtio, target: "vda", serial: "VSSYSTEM000000000001",
                    layout: PartitionTable(style: "mbr", mbrSignature: "11111111", partitions: [.init(offset: 1 << 20, number: 1)])),
        CurrentDisk(name: "blank", bus: .scsi, target: "sda", serial: "MANUAL-0001", layout: PartitionTable(style: "none")),
    ])

    static func findings(lastConfig: String) throws -> [String: Finding] {
        let r = try WindowsSystemHive.read(InMemoryHive(hive(lastConfig: lastConfig)))
        return Dictionary(IdentityComparison.windows(r, current: current).map { ($0.what, $0) }, uniquingKeysWith: { a, _ in a })
    }

    @Test("HardwareConfig: braces and case do not matter; subkeys that are not UUIDs are not configurations")
    func hardwareConfig() throws {
        let r = try WindowsSystemHive.read(InMemoryHive(Self.hive(lastConfig: Self.vmUUID)))
        #expect(r.hardwareConfig?.lastConfig == Self.vmUUID)
        #expect(r.hardwareConfig?.machines.map(\.uuid) == [Self.vmUUID, "99999999-0000-4000-8000-000000000001"])
        #expect(r.hardwareConfig?.machines.first?.summary == "QEMU Standard PC (Q35 + ICH9, 2009), BIOS SeaBIOS 1.16.2-debian-1.16.2-1")
        #expect(r.hardwareConfig?.machines.first?.computerIds == 1)
        let rows = try Self.findings(lastConfig: Self.vmUUID)
        #expect(rows["machine uuid (HardwareConfig LastConfig)"].map { $0.ok && !$0.info } == true)
        #expect(rows["HardwareConfig {99999999-0000-4000-8000-000000000001}"]?.detail?.hasPrefix("earlier hardware") == true)
    }

    @Test("a LastConfig of an earlier configuration fails, naming both UUIDs")
    func changedLastConfig() throws {
        let rows = try Self.findings(lastConfig: "99999999-0000-4000-8000-000000000001")
        let m = try #require(rows["machine uuid (HardwareConfig LastConfig)"])
        #expect(!m.ok)
        #expect(m.expected == Self.vmUUID && m.seen == "99999999-0000-4000-8000-000000000001")
        #expect(m.detail?.contains("other hardware it has seen before") == true, "\(m.detail ?? "")")
    }

    @Test("the VM's virtio instances are judged, the gone one fails; its letter moves; the USB stick's letter is history")
    func instancesAndLetters() throws {
        let rows = try Self.findings(lastConfig: Self.vmUUID)
        #expect(rows["disk instances"]?.seen == "2 from the VM's buses, 1 from other hardware")
        #expect(rows["disk instance SCSI\\Disk&Ven_Red_Hat&Prod_VirtIO\\VSSYSTEM000000000001&0"].map { $0.ok && !$0.info } == true)
        let gone = try #require(rows["disk instance SCSI\\Disk&Ven_Red_Hat&Prod_VirtIO\\VSGONE00000000000001&0"])
        #expect(!gone.ok && gone.seen == "VSGONE00000000000001")
        #expect(gone.detail?.contains("offline, read-write") == true, "Partmgr Attributes 1: \(gone.detail ?? "")")
        #expect(rows["disk instance USBSTOR\\Disk&Ven_SanDisk&Prod_Cruzer&Rev_1.20\\200608767007B7C08A6A&0"]?.info == true)

        #expect(rows["MountedDevices \\DosDevices\\C:"]?.detail == "disk system (virtio vda) partition 1 at byte 1048576")
        let d = try #require(rows["MountedDevices \\DosDevices\\D:"])
        #expect(!d.ok && d.detail?.contains("the letter will move") == true)
        #expect(d.expected == "system: MBR 11111111, blank: no partition table")
        #expect(rows["MountedDevices \\DosDevices\\E:"]?.info == true)

        let failed = rows.values.filter { !$0.ok }.map(\.what).sorted()
        #expect(failed == ["MountedDevices \\DosDevices\\D:", "disk instance SCSI\\Disk&Ven_Red_Hat&Prod_VirtIO\\VSGONE00000000000001&0"])
    }

    @Test("per current disk: the instance Windows knows it as, the SAN policy for a disk it does not know")
    func currentDisks() throws {
        let rows = try Self.findings(lastConfig: Self.vmUUID)
        #expect(rows["san policy"]?.seen == "OfflineShared (2)")
        let system = try #require(rows["disk system"])
        #expect(system.info && system.seen == "MBR 11111111")
        #expect(system.detail?.contains("SCSI\\Disk&Ven_Red_Hat&Prod_VirtIO\\VSSYSTEM000000000001&0 (the VM's virtio bus, DiskId {aaaaaaaa-0000-0000-0000-000000000001}, online, read-write, MBR 11111111, 0 volumes)") == true,
                "\(system.detail ?? "")")
        #expect(system.detail?.hasSuffix("drive letter C:") == true)
        #expect(rows["disk blank"]?.detail?.contains("SanPolicy OfflineShared (2) decides whether it comes up online") == true)
    }

    @Test("the summary lists the VM-bus instances, the others, and the offline ones")
    func summary() throws {
        let s = WindowsSummary(try WindowsSystemHive.read(InMemoryHive(Self.hive(lastConfig: Self.vmUUID))))
        #expect(s.machineLastConfig == Self.vmUUID)
        #expect(s.machineHistory == [Self.vmUUID, "99999999-0000-4000-8000-000000000001"])
        #expect(s.sanPolicy == "OfflineShared")
        #expect(s.diskInstances == ["SCSI\\Disk&Ven_Red_Hat&Prod_VirtIO\\VSGONE00000000000001&0", "SCSI\\Disk&Ven_Red_Hat&Prod_VirtIO\\VSSYSTEM000000000001&0"])
        #expect(s.otherDiskInstances == ["USBSTOR\\Disk&Ven_SanDisk&Prod_Cruzer&Rev_1.20\\200608767007B7C08A6A&0"])
        #expect(s.offlineDiskInstances == ["SCSI\\Disk&Ven_Red_Hat&Prod_VirtIO\\VSGONE00000000000001&0"])
        #expect(s.mountedDevices == ["\\DosDevices\\C: MBR 11111111 offset 1048576", "\\DosDevices\\D: MBR 22222222 offset 1048576",
                                     "\\DosDevices\\E: MBR 33333333 offset 1048576"])
    }

    @Test("device IDs the VM's buses present, and ones they do not", arguments: [
        ("SCSI", "Disk&Ven_Red_Hat&Prod_VirtIO", "virtio" as String?),
        ("SCSI", "Disk&Ven_QEMU&Prod_QEMU_HARDDISK", "scsi"),
        ("SCSI", "Disk&Ven_QEMU&Prod_HARDDISK", "sata"),
        ("SCSI", "Disk&Ven_&Prod_QEMU_HARDDISK", "sata"),
        ("IDE", "DiskQEMU_HARDDISK___________________________2.5+____", "sata"),
        ("SCSI", "Disk&Ven_NVMe&Prod_QEMU_NVMe_Ctrl", "nvme"),
        ("SCSI", "Disk&Ven_NVMe&Prod_Samsung_SSD_970", nil),
        ("SCSI", "Disk&Ven_VMware_&Prod_VMware_Virtual_S", nil),
        ("SCSI", "Disk&Ven_Msft&Prod_Virtual_Disk", nil),
        ("USBSTOR", "Disk&Ven_QEMU&Prod_QEMU_HARDDISK&Rev_2.5+", nil),
        ("SCSI", "CdRom&Ven_QEMU&Prod_QEMU_CD-ROM", nil),
    ])
    func qemuModels(enumerator: String, deviceID: String, bus: String?) {
        #expect(DiskInstance.busHint(deviceID: deviceID, enumerator: enumerator) == bus)
        #expect(DiskInstance(enumerator: enumerator, deviceID: deviceID, instanceID: "x").fromVMBus == (bus != nil))
    }

    @Test("a PartitionTableCache too short or of an unknown style is not decoded")
    func badCache() {
        #expect(PartitionTable(partitionTableCache: [0, 0, 0, 0]) == nil)
        #expect(PartitionTable(partitionTableCache: [7] + [UInt8](repeating: 0, count: 47)) == nil)
        #expect(PartitionTable(partitionTableCache: [0, 0, 0, 0, 2] + [UInt8](repeating: 0, count: 43)) == nil, "2 entries announced, none there")
    }
}
