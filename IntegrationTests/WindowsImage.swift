import Foundation
import Guestfs
import Inspection
import Testing
import VMSerialKit
import TestSupport

/// A synthetic Windows system disk, built with libguestfs: qcow2, MBR, one NTFS partition with
/// exactly what libguestfs 1.48's inspection needs to call it Windows
/// (daemon/inspect_fs_windows.ml):
/// - `is_systemroot`: `/Windows/System32` and `/Windows/System32/config` directories and a
///   `/Windows/System32/cmd.exe` file;
/// - `check_windows_arch`: `file` must call cmd.exe "PE32+ executable" (else inspection fails),
///   so cmd.exe is a minimal PE32+ header;
/// - SOFTWARE hive: `Microsoft\Windows NT\CurrentVersion` ProductName and
///   CurrentMajorVersionNumber / CurrentMinorVersionNumber (DWORDs);
/// - SYSTEM hive: `Select\Current` (the control set) and
///   `ControlSet00N\Services\Tcpip\Parameters\Hostname`.
/// Both hives start as `RegistryHiveFile.empty()` and are filled through libguestfs' hivex
/// functions, which is also the proof that hivex accepts that empty hive.
enum WindowsImage {
    static let productName = "Windows Server 2019 Standard (vmserial test image)"
    static let hostname = "VMSERIAL-WIN"
    static let systemHive = "/Windows/System32/config/SYSTEM"
    static let softwareHive = "/Windows/System32/config/SOFTWARE"

    /// The handle options the tests use: TCG unless VMSERIAL_ACCEL=kvm; the fixed appliance when built.
    static var options: GuestfsOptions {
        GuestfsOptions(forceTCG: ProcessInfo.processInfo.environment["VMSERIAL_ACCEL"] != "kvm",
                       appliancePath: HostPaths.fixedAppliance())
    }

    /// A 512-byte PE32+ (x86-64, console) header: enough for `file` to say
    /// "PE32+ executable (console) x86-64, for MS Windows".
    static var cmdExe: [UInt8] {
        var b = [UInt8](repeating: 0, count: 512)
        func put16(_ at: Int, _ v: UInt16) { b[at] = UInt8(v & 0xff); b[at + 1] = UInt8(v >> 8) }
        func put32(_ at: Int, _ v: UInt32) { for i in 0..<4 { b[at + i] = UInt8(v >> (8 * UInt32(i)) & 0xff) } }
        b[0] = UInt8(ascii: "M"); b[1] = UInt8(ascii: "Z")
        put16(0x18, 0x40)                  // e_lfarlc: a new-style executable follows
        put32(0x3C, 0x80)                  // e_lfanew: the PE header
        b.replaceSubrange(0x80..<0x84, with: Array("PE\0\0".utf8))
        put16(0x84, 0x8664)                // machine: AMD64
        put16(0x94, 0xF0)                  // size of the optional header
        put16(0x96, 0x0022)                // executable, large-address aware
        put16(0x98, 0x020B)                // optional header magic: PE32+
        put16(0x98 + 68, 3)                // subsystem: Windows console
        return b
    }

    /// The SOFTWARE hive's content.
    static var software: RegistryKey {
        RegistryKey("ROOT", subkeys: [
            .path(["Microsoft", "Windows NT", "CurrentVersion"], values: [
                .string("ProductName", productName),
                .string("CurrentVersion", "6.3"),
                .dword("CurrentMajorVersionNumber", 10),
                .dword("CurrentMinorVersionNumber", 0),
                .string("CurrentBuildNumber", "17763"),
                .string("InstallationType", "Server"),
            ]),
        ])
    }

    /// A SYSTEM hive: control set 1, the SMBIOS table (type 1 with this serial and UUID),
    /// `HardwareConfig` with `lastConfig` (as Windows 10 writes it: braces, upper case), the
    /// given disk instances under Enum and MountedDevices. Instances are (enumerator, device ID,
    /// instance ID, values).
    static func system(smbiosSerial: String?, uuid: String, lastConfig: String? = nil,
                       instances: [(String, String, String, [RegistryValue])]) -> RegistryKey {
        let info = SystemInformation(manufacturer: "QEMU", productName: "Standard PC (i440FX + PIIX, 1996)", version: "pc-i440fx-7.2",
                                     serialNumber: smbiosSerial, uuid: uuid)
        let table = SMBIOSTable(majorVersion: 2, minorVersion: 8, structures: [info.structure(), .endOfTable(handle: 0x7F00)])
        var enumKey = RegistryKey("Enum")
        for (enumerator, device, instance, values) in instances {
            enumKey.merge(RegistryKey("Enum", subkeys: [.path([enumerator, device, instance], values: values)]))
        }
        return RegistryKey("ROOT", subkeys: [
            RegistryKey("Select", values: [.dword("Current", 1), .dword("Default", 1), .dword("LastKnownGood", 1), .dword("Failed", 0)]),
            RegistryKey("ControlSet001", subkeys: [
                .path(["Services", "mssmbios", "Data"], values: [.binary("SMBiosData", table.rawSMBIOSData())]),
                .path(["Services", "Tcpip", "Parameters"], values: [.string("Hostname", hostname)]),
                enumKey,
            ]),
            RegistryKey("MountedDevices", values: [
                .binary("\\DosDevices\\C:", MountedDevice.mbrValue(signature: 0x5653_4552, offset: 1_048_576)),
            ]),
        ] + (lastConfig.map { last in
            [RegistryKey("HardwareConfig", values: [.string("LastConfig", "{\(last.uppercased())}")], subkeys: [
                RegistryKey("{\(last.uppercased())}", values: [.string("SystemManufacturer", "QEMU"), .string("BIOSVendor", "SeaBIOS")]),
            ])]
        } ?? []))
    }

    /// A disk instance as Windows' storport disk class writes it.
    static func diskValues(friendlyName: String, hardwareIDs: [String]) -> [RegistryValue] {
        [.multiString("HardwareID", hardwareIDs), .string("ClassGUID", WindowsSystemHive.diskDriveClassGUID),
         .string("Class", "DiskDrive"), .string("FriendlyName", friendlyName), .string("Service", "disk")]
    }

    /// Makes the image at `path` (an existing qcow2, whatever it holds) a Windows system disk
    /// whose SYSTEM hive holds `system`. One appliance.
    static func build(_ path: String, system: RegistryKey) throws {
        let g = try Guestfs(options: options)
        defer { g.close() }
        try g.addDrive(path, format: "qcow2", readonly: false)
        try g.launch()
        try g.partDisk("/dev/sda", partType: "mbr")
        try g.mkfs("ntfs", "/dev/sda1")
        try g.mount("/dev/sda1", at: "/")
        try g.mkdirP("/Windows/System32/config")
        try g.write("/Windows/System32/cmd.exe", cmdExe)
        for (hive, content, name) in [(systemHive, system, "SYSTEM"), (softwareHive, software, "SOFTWARE")] {
            try g.write(hive, RegistryHiveFile.empty(fileName: "\\SystemRoot\\System32\\Config\\\(name)"))
            try g.hivexOpen(hive, write: true)
            try g.hivexMerge(content)
            try g.hivexCommit()
            try g.hivexClose()
        }
        try g.umountAll()
        try g.shutdown()
    }

    /// A real SYSTEM hive (an xz file of Tests/InspectionTests/Fixtures/windows-hives),
    /// decompressed into `directory`; returns the hive's path.
    static func realHive(_ name: String, into directory: String) throws -> String {
        let xz = "\(packageRoot)/Tests/InspectionTests/Fixtures/windows-hives/\(name).xz"
        let out = "\(directory)/\(name)"
        let r = try run("/bin/sh", ["-c", "xz --decompress --stdout \"$0\" > \"$1\"", xz, out])
        try #require(r.status == 0, "xz -dc \(xz): \(r.stderr)")
        return out
    }

    /// Makes the image at `path` (an existing qcow2 of at least 600 MiB virtual size) a Windows
    /// disk laid out as the disk a real hive describes: an MBR whose disk signature is
    /// `signature` (written at byte 440 after parted made the table: parted picks a random one),
    /// partitions at the given sectors (inclusive), the Windows tree with the real SYSTEM hive
    /// `hive` on partition `systemPartition` (NTFS). One appliance.
    static func buildFromRealHive(_ path: String, hive: String, signature: UInt32, partitions: [(start: Int64, end: Int64)],
                                  systemPartition: Int) throws {
        let g = try Guestfs(options: options)
        defer { g.close() }
        try g.addDrive(path, format: "qcow2", readonly: false)
        try g.launch()
        try g.partInit("/dev/sda", partType: "mbr")
        for p in partitions { try g.partAdd("/dev/sda", start: p.start, end: p.end) }
        try g.pwriteDevice("/dev/sda", (0..<4).map { UInt8(signature >> (8 * UInt32($0)) & 0xff) }, offset: 440)
        let root = "/dev/sda\(systemPartition)"
        try g.mkfs("ntfs", root)
        try g.mount(root, at: "/")
        try g.mkdirP("/Windows/System32/config")
        try g.write("/Windows/System32/cmd.exe", cmdExe)
        try g.upload(local: hive, remote: systemHive)
        try g.write(softwareHive, RegistryHiveFile.empty(fileName: "\\SystemRoot\\System32\\Config\\SOFTWARE"))
        try g.hivexOpen(softwareHive, write: true)
        try g.hivexMerge(software)
        try g.hivexCommit()
        try g.hivexClose()
        try g.umountAll()
        try g.shutdown()
    }

    /// Merges `changes` into the image's SYSTEM hive (values of the same name are replaced). One appliance.
    static func updateSystem(_ path: String, _ changes: RegistryKey) throws {
        let g = try Guestfs(options: options)
        defer { g.close() }
        try g.addDrive(path, format: "qcow2", readonly: false)
        try g.launch()
        try g.mount("/dev/sda1", at: "/")
        try g.hivexOpen(systemHive, write: true)
        try g.hivexMerge(changes)
        try g.hivexCommit()
        try g.hivexClose()
        try g.umountAll()
        try g.shutdown()
    }
}
