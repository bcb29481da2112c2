import Foundation
import Testing
@testable import Inspection
import ProcessRunner

/// The analysis on two SYSTEM hives real Windows wrote (Fixtures/windows-hives, from regipy's
/// MIT-licensed test data; see the README there), read from the file by `HiveFile`.
///
/// Every expected value below was read with another tool, not with vmserial's parser:
/// `xz -dc SYSTEM-….xz > SYSTEM; hivexregedit --export SYSTEM '\' > SYSTEM.reg` (Debian's
/// libwin-hivex-perl, hivex 1.3.23), then looked up in SYSTEM.reg by hand:
/// - `[\Select] "Current"`, `[\HardwareConfig] "LastConfig"` and its subkeys, `[\ControlSet001\
///   Services\partmgr\Parameters] "SanPolicy"`;
/// - the disk instances: the keys `[\ControlSet001\Enum\{SCSI,IDE,STORAGE,NVME,USBSTOR}\<device>\
///   <instance>]` whose "ClassGUID" is `{4d36e967-…}` (disk drives), counted;
/// - MountedDevices: each `hex(3):` value's bytes: 12 bytes are the signature (bytes 0-3) and
///   offset (4-11), little-endian; other values are UTF-16LE text;
/// - Partmgr: "DiskId", "Attributes" and "PartitionTableCache" bytes 0-3 (style), 8-11 (MBR
///   signature, little-endian) and the first partition's offset at bytes 56-63.
@Suite("real Windows SYSTEM hives")
struct RealHiveTests {
    /// The decompressed hive (xz, from xz-utils, which tar and libguestfs already depend on).
    static func hive(_ name: String) throws -> HiveFile {
        let url = try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/windows-hives/\(name).xz"))
        let result = try Command("/usr/bin/xz", ["--decompress", "--stdout", url.path]).run()
        try #require(result.succeeded, "xz -dc \(url.path) failed: \(result.errorOutput)")
        return try HiveFile(bytes: [UInt8](result.standardOutput))
    }

    static let win10 = "SYSTEM-win10-hyperv-vmware"
    static let win7 = "SYSTEM-win7-vmware"
    /// `[\HardwareConfig] "LastConfig"=str(1):"{25194d56-caef-8737-5c44-50fe82f3ffde}"`.
    static let win10LastConfig = "25194d56-caef-8737-5c44-50fe82f3ffde"

    /// The VMware system disk of the Windows 10 hive as a current disk: MBR signature df4546ae
    /// (MountedDevices' `\DosDevices\C:` bytes `ae,46,45,df`) with partitions at 1048576 (E:)
    /// and 525336576 (C:, bytes `00,00,50,1f,00,00,00,00`).
    static let win10Disk = PartitionTable(style: "mbr", mbrSignature: "df4546ae",
                                          partitions: [.init(offset: 1_048_576, number: 1), .init(offset: 525_336_576, number: 2)])

    static func current(uuid: String, layout: PartitionTable?) -> CurrentIdentity {
        CurrentIdentity(uuid: uuid, smbiosSerial: "VMSERIAL-TEST", disks: [
            CurrentDisk(name: "system", bus: .sata, target: "sda", serial: "SYSTEM-DISK-SERIAL", layout: layout),
        ])
    }

    @Test("Windows 10: LastConfig, one hardware configuration, no SMBiosData, SanPolicy OnlineAll")
    func win10Machine() throws {
        let r = try WindowsSystemHive.read(Self.hive(Self.win10))
        #expect(r.controlSet == "ControlSet001")
        #expect(r.smbios == nil && r.smbiosError == nil, "real hives keep no SMBiosData")
        let hc = try #require(r.hardwareConfig)
        #expect(hc.lastConfig == Self.win10LastConfig)
        #expect(hc.machines.map(\.uuid) == [Self.win10LastConfig])
        // [\HardwareConfig\{25194d56-…}] "SystemManufacturer", "SystemProductName", "BIOSVendor", "BIOSVersion", "BIOSReleaseDate";
        // [\HardwareConfig\{…}\ComputerIds] holds 6 values.
        let m = try #require(hc.machines.first)
        #expect(m.systemManufacturer == "VMware, Inc.")
        #expect(m.systemProductName == "VMware Virtual Platform")
        #expect(m.biosVendor == "Phoenix Technologies LTD")
        #expect(m.biosVersion == "6.00")
        #expect(m.biosReleaseDate == "07/29/2019")
        #expect(m.computerIds == 6)
        #expect(r.sanPolicy == 1, "\"SanPolicy\"=dword:00000001")
    }

    @Test("Windows 10: 11 disk instances, none of them from the VM's buses; Partmgr per instance")
    func win10Instances() throws {
        let r = try WindowsSystemHive.read(Self.hive(Self.win10))
        #expect(r.diskInstances.count == 11, "\(r.diskInstances.map(\.path))")
        #expect(!r.diskInstances.contains { $0.fromVMBus })
        let paths = Set(r.diskInstances.map(\.path))
        #expect(paths.contains("USBSTOR\\Disk&Ven_SanDisk&Prod_Cruzer&Rev_1.20\\200608767007B7C08A6A&0"))
        #expect(paths.filter { $0.hasPrefix("SCSI\\Disk&Ven_Msft&Prod_Virtual_Disk\\") }.count == 5)
        #expect(paths.filter { $0.hasPrefix("SCSI\\Disk&Ven_VMware_&Prod_VMware_Virtual_S\\") }.count == 3)
        // Not disks: the SATA CD-ROM (class {4d36e965-…}) and the SES enclosure ({4d36e97d-…}).
        #expect(!paths.contains { $0.contains("CdRom") || $0.contains("Enclosure") })

        let vmware = try #require(r.diskInstances.first { $0.path == "SCSI\\Disk&Ven_VMware_&Prod_VMware_Virtual_S\\5&1ec51bf7&0&000000" })
        #expect(vmware.friendlyName == "VMware, VMware Virtual S SCSI Disk Device")
        #expect(vmware.serial == nil, "a location-based instance ID")
        let pm = try #require(vmware.partmgr)
        #expect(pm.diskId == "{2b8dca60-672e-11e7-bce1-806e6f6e6963}")
        #expect(pm.attributes == 0 && !pm.offline && !pm.readOnly)
        #expect(pm.layout?.style == "mbr")
        #expect(pm.layout?.mbrSignature == "df4546ae", "PartitionTableCache bytes 8-11: ae,46,45,df")
        #expect(pm.layout?.partitions.first?.offset == 1_048_576)
        // Enum\STORAGE\Volume: {2b8dca60-…}#0000000000100000, #000000001F500000, #00000022E1858000.
        #expect(r.volumes.filter { $0.diskId == pm.diskId }.map(\.offset) == [0x100000, 0x1F50_0000, 0x22_E185_8000])
        #expect(r.volumes.count == 12)

        // [\…\Disk&Ven_Msft&Prod_Virtual_Disk\2&1f4adffe&0&000002\Device Parameters\Partmgr]: a GPT disk.
        let hyperv = try #require(r.diskInstances.first { $0.path == "SCSI\\Disk&Ven_Msft&Prod_Virtual_Disk\\2&1f4adffe&0&000002" })
        #expect(hyperv.friendlyName == "Microsoft Virtual Disk", "the display part of @disk.inf,%VHD_Generic_FriendlyName%;Microsoft Virtual Disk")
        #expect(hyperv.partmgr?.layout?.style == "gpt")
        #expect(hyperv.partmgr?.layout?.gptDiskGUID == "105b8ca0-63ee-11ea-833a-00155db3981d", "bytes 8-23: a0,8c,5b,10,ee,63,ea,11,83,3a,…")
    }

    /// MountedDevices of the Windows 10 hive, decoded by hand from hivexregedit's hex.
    static let win10Mounted = [
        "#{46686113-4e39-11ea-bd05-784f439fa657} MBR df4546ae offset 149812510720",
        "#{5aae7822-77cb-11e9-bcf1-784f439fa657} MBR df4546ae offset 106862837760",
        "\\??\\Volume{2b8dca72-672e-11e7-bce1-806e6f6e6963} device \\??\\SCSI#CdRom&Ven_NECVMWar&Prod_VMware_SATA_CD01#5&2edf08dd&0&010000#{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}",
        "\\??\\Volume{629458e4-0000-0000-0000-010000000000} MBR 629458e4 offset 65536",
        "\\DosDevices\\C: MBR df4546ae offset 525336576",
        "\\DosDevices\\D: device \\??\\SCSI#CdRom&Ven_NECVMWar&Prod_VMware_SATA_CD01#5&2edf08dd&0&010000#{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}",
        "\\DosDevices\\E: MBR df4546ae offset 1048576",
        "\\DosDevices\\F: MBR 002b1be5 offset 1048576",
    ]

    @Test("Windows 10: the summary the scenario runner reads")
    func win10Summary() throws {
        let s = WindowsSummary(try WindowsSystemHive.read(Self.hive(Self.win10)))
        #expect(s.machineLastConfig == Self.win10LastConfig)
        #expect(s.machineHistory == [Self.win10LastConfig])
        #expect(!s.smbiosKept)
        #expect(s.sanPolicy == "OnlineAll")
        #expect(s.diskInstances == [])
        #expect(s.otherDiskInstances.count == 11)
        #expect(s.offlineDiskInstances == [], "every Partmgr Attributes is dword:00000000")
        #expect(s.mountedDevices == Self.win10Mounted.sorted())
    }

    @Test("Windows 10: the VM's UUID as LastConfig and its disk laid out as Windows knew it: nothing fails")
    func win10Matches() throws {
        let r = try WindowsSystemHive.read(Self.hive(Self.win10))
        let f = IdentityComparison.windows(r, current: Self.current(uuid: Self.win10LastConfig.uppercased(), layout: Self.win10Disk))
        #expect(f.filter { !$0.ok }.isEmpty, "\(f.filter { !$0.ok })")
        let rows = Dictionary(f.map { ($0.what, $0) }, uniquingKeysWith: { a, _ in a })
        let machine = try #require(rows["machine uuid (HardwareConfig LastConfig)"])
        #expect(machine.ok && !machine.info, "judged, and the case of the VM's UUID does not matter")
        #expect(rows["smbios table"]?.info == true && rows["smbios table"]?.seen == "(not kept offline)")
        #expect(rows["disk instances"]?.seen == "0 from the VM's buses, 11 from other hardware")
        #expect(f.filter { $0.what.hasPrefix("disk instance ") }.allSatisfy { $0.info }, "USB, Hyper-V and VMware instances are history")
        // C: and E: are on the current disk; F: (002b1be5, the SanDisk Extreme SSD's signature) is history.
        #expect(rows["MountedDevices \\DosDevices\\C:"].map { $0.ok && !$0.info } == true)
        #expect(rows["MountedDevices \\DosDevices\\C:"]?.detail == "disk system (sata sda) partition 2 at byte 525336576")
        #expect(rows["MountedDevices \\DosDevices\\E:"].map { $0.ok && !$0.info } == true)
        let f10 = try #require(rows["MountedDevices \\DosDevices\\F:"])
        #expect(f10.info && f10.detail?.contains("SCSI\\Disk&Ven_SanDisk&Prod_Extreme_SSD\\000000") == true)
        let disk = try #require(rows["disk system"])
        #expect(disk.info && disk.seen == "MBR df4546ae")
        #expect(disk.detail?.contains("SCSI\\Disk&Ven_VMware_&Prod_VMware_Virtual_S\\5&1ec51bf7&0&000000") == true)
        #expect(disk.detail?.contains("SanPolicy OnlineAll (1)") == true)
        #expect(disk.detail?.contains("drive letters C:, E:") == true)
    }

    @Test("Windows 10: another UUID fails, naming both")
    func win10OtherUUID() throws {
        let r = try WindowsSystemHive.read(Self.hive(Self.win10))
        let vm = "4f0fbb8c-3d52-4d6a-9a5e-0123456789ab"
        let f = IdentityComparison.windows(r, current: Self.current(uuid: vm, layout: Self.win10Disk))
        let failed = f.filter { !$0.ok }
        #expect(failed.map(\.what) == ["machine uuid (HardwareConfig LastConfig)"])
        let machine = try #require(failed.first)
        #expect(machine.expected == vm && machine.seen == Self.win10LastConfig)
        #expect(machine.detail?.contains(vm) == true && machine.detail?.contains(Self.win10LastConfig) == true)
        #expect(machine.detail?.contains("new hardware") == true)
    }

    @Test("Windows 10: the system disk rewritten with another signature moves C: and E:; the history never fails")
    func win10OtherSignature() throws {
        let r = try WindowsSystemHive.read(Self.hive(Self.win10))
        var moved = Self.win10Disk
        moved.partitions = [.init(offset: 1_048_576, number: 1)]
        let f = IdentityComparison.windows(r, current: Self.current(uuid: Self.win10LastConfig, layout: moved))
        // Same signature, no partition at 525336576: C: is gone from it.
        #expect(f.filter { !$0.ok }.map(\.what) == ["MountedDevices \\DosDevices\\C:"])
        moved.mbrSignature = "12345678"
        let g = IdentityComparison.windows(r, current: Self.current(uuid: Self.win10LastConfig, layout: moved))
        // A signature Windows never saw: the letters belonged to a VMware disk (history), so nothing is judged.
        #expect(g.filter { !$0.ok }.isEmpty, "\(g.filter { !$0.ok })")
    }

    @Test("Windows 7: no HardwareConfig, SanPolicy OnlineAll, 3 disk instances (VMware and USB), 11 MountedDevices entries")
    func win7() throws {
        let r = try WindowsSystemHive.read(Self.hive(Self.win7))
        #expect(r.controlSet == "ControlSet001")
        #expect(r.hardwareConfig == nil)
        #expect(r.sanPolicy == 1, "[\\ControlSet001\\services\\partmgr\\Parameters] \"SanPolicy\"=dword:00000001 (lower-case services)")
        #expect(r.smbios == nil)
        #expect(r.diskInstances.map(\.path).sorted() == [
            "SCSI\\Disk&Ven_VMware&Prod_Virtual_disk\\5&1982005&0&000000",
            "SCSI\\Disk&Ven_VMware_&Prod_VMware_Virtual_S\\5&1982005&0&000000",
            "USBSTOR\\Disk&Ven_HP&Prod_v100w&Rev_1024\\AA951D0000007252&0",
        ])
        #expect(r.diskInstances.allSatisfy { !$0.fromVMBus })
        // Enum\STORAGE\Volume: two {DiskId}#offset keys; `_??_USBSTOR#…` (a volume without a partition table) is not one.
        #expect(r.volumes == [StorageVolume(diskId: "{656b1713-ecf6-11df-92e6-806e6f6e6963}", offset: 0x100000),
                              StorageVolume(diskId: "{a510fcf4-a73d-11e0-98c9-806e6f6e6963}", offset: 0x100000)])
        // Windows 7's Partmgr keeps DiskId and Attributes, no PartitionTableCache.
        let usb = try #require(r.diskInstances.first { $0.enumerator == "USBSTOR" })
        #expect(usb.partmgr == PartmgrRecord(diskId: "{eba74da4-5bb2-11e0-95d1-000c2971073c}", attributes: 0, layout: nil))
        let s = WindowsSummary(r)
        #expect(s.machineLastConfig == nil && s.machineHistory == [])
        #expect(s.mountedDevices.count == 11)
        #expect(s.mountedDevices.contains("\\DosDevices\\C: MBR 5cbea03e offset 1048576"), "bytes 3e,a0,be,5c,00,00,10,00,00,00,00,00")
        #expect(s.mountedDevices.contains("\\DosDevices\\A: device \\??\\FDC#GENERIC_FLOPPY_DRIVE#6&2bc13940&0&0#{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}"))
        #expect(s.mountedDevices.contains("\\DosDevices\\E: device _??_USBSTOR#Disk&Ven_HP&Prod_v100w&Rev_1024#AA951D0000007252&0#{53f56307-b6bf-11d0-94f2-00a0c91efb8b}"))

        let disk = PartitionTable(style: "mbr", mbrSignature: "5cbea03e", partitions: [.init(offset: 1_048_576, number: 1)])
        let f = IdentityComparison.windows(r, current: Self.current(uuid: "4f0fbb8c-3d52-4d6a-9a5e-0123456789ab", layout: disk))
        #expect(f.filter { !$0.ok }.isEmpty, "nothing the VM caused disagrees: \(f.filter { !$0.ok })")
        let machine = try #require(f.first { $0.what == "machine uuid (HardwareConfig)" })
        #expect(machine.info && machine.seen == "(not recorded)")
        #expect(machine.detail?.contains("cannot be judged") == true)
        #expect(f.first { $0.what == "MountedDevices \\DosDevices\\C:" }.map { $0.ok && !$0.info } == true)
        #expect(f.first { $0.what == "san policy" }?.seen == "OnlineAll (1)")
    }

    @Test("a file that is not a hive is refused, naming what is wrong")
    func notAHive() {
        #expect(throws: HiveFileError.malformed("not a registry hive (no regf signature)")) {
            try HiveFile(bytes: [UInt8](repeating: 0, count: 0x2000))
        }
    }
}
