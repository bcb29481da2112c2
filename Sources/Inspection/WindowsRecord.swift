import Guestfs

/// What a Windows installation has recorded in its SYSTEM hive about the machine and its
/// disks: the SMBIOS table it last saw, the disk device instances Plug and Play created, and
/// the volumes MountedDevices maps to drive letters.
public struct WindowsRecord: Sendable, Equatable, Codable {
    /// The control set Windows boots with (`ControlSet001`), from `Select\Current`.
    public var controlSet: String?
    /// `Services\mssmbios\Data\SMBiosData` decoded; nil when the value is absent.
    public var smbios: SMBIOSView?
    /// Why SMBiosData could not be decoded, if it could not.
    public var smbiosError: String?
    public var diskInstances: [DiskInstance]
    public var mountedDevices: [MountedDevice]
    /// Things that were missing or unreadable (no Select key, no Enum), one sentence each.
    public var notes: [String]

    public init(controlSet: String? = nil, smbios: SMBIOSView? = nil, smbiosError: String? = nil,
                diskInstances: [DiskInstance] = [], mountedDevices: [MountedDevice] = [], notes: [String] = []) {
        self.controlSet = controlSet
        self.smbios = smbios
        self.smbiosError = smbiosError
        self.diskInstances = diskInstances
        self.mountedDevices = mountedDevices
        self.notes = notes
    }
}

/// The SMBIOS identity Windows saved: the table's version and its type 1 structure.
public struct SMBIOSView: Sendable, Equatable, Codable {
    /// "2.8".
    public var version: String
    public var manufacturer: String?
    public var productName: String?
    public var serialNumber: String?
    public var uuid: String?

    public init(_ table: SMBIOSTable) {
        version = "\(table.majorVersion).\(table.minorVersion)"
        let s = table.system
        manufacturer = s?.manufacturer
        productName = s?.productName
        serialNumber = s?.serialNumber
        uuid = s?.uuid
    }
}

/// A disk device instance: `Enum\<enumerator>\<device ID>\<instance ID>`.
///
/// How it records a disk's serial (the rule `IdentityComparison` matches with):
/// - a `SerialNumber` string value in the instance key or in its `Device Parameters` subkey;
/// - else the instance ID, when the device reported a unique ID and Plug and Play built the
///   instance ID from it: its first `&`-separated part (USBSTOR's `<serial>&0`, and storage
///   miniports that report the serial as the unique ID).
/// A location-based instance ID (`4&2a0cfc1b&0&000000`, `5&1f0c5a1&0&0.0.0`: depth, parent
/// hash, then the address) carries no serial: such an instance is listed, not matched.
public struct DiskInstance: Sendable, Equatable, Codable {
    public var enumerator: String
    public var deviceID: String
    public var instanceID: String
    public var hardwareIDs: [String]
    public var friendlyName: String?
    /// The serial this instance records, padding removed; nil for a location-based instance.
    public var serial: String?
    /// Where `serial` came from: "SerialNumber value", "Device Parameters\SerialNumber value", "instance ID".
    public var serialSource: String?
    /// The bus the device ID suggests (virtio, scsi, sata, nvme), when it is one QEMU presents.
    public var busHint: String?

    /// `SCSI\Disk&Ven_Red_Hat&Prod_VirtIO\VS0ABC&0`.
    public var path: String { "\(enumerator)\\\(deviceID)\\\(instanceID)" }

    public init(enumerator: String, deviceID: String, instanceID: String, hardwareIDs: [String] = [], friendlyName: String? = nil,
                serial: String? = nil, serialSource: String? = nil, busHint: String? = nil) {
        self.enumerator = enumerator
        self.deviceID = deviceID
        self.instanceID = instanceID
        self.hardwareIDs = hardwareIDs
        self.friendlyName = friendlyName
        self.serial = serial
        self.serialSource = serialSource
        self.busHint = busHint
    }

    /// True for Plug and Play's location-based instance IDs: at least three `&`-separated parts,
    /// the first a small hex depth, the second a hex hash.
    public static func isLocationBased(_ instanceID: String) -> Bool {
        let parts = instanceID.split(separator: "&", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return false }
        let hex: (Substring) -> Bool = { !$0.isEmpty && $0.allSatisfy(\.isHexDigit) }
        return hex(parts[0]) && parts[0].count <= 2 && hex(parts[1]) && parts[1].count >= 4
    }

    /// The serial an instance ID was built from: `<serial>&<n>` (USBSTOR's form, and
    /// miniports that report the serial as unique ID) or a bare `<serial>`; nil for a
    /// location-based ID or a bare number (a target/LUN address such as `000000`).
    public static func serial(fromInstanceID id: String) -> String? {
        guard !isLocationBased(id) else { return nil }
        let parts = id.split(separator: "&", omittingEmptySubsequences: false)
        let digits: (Substring) -> Bool = { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
        let candidate: Substring
        switch parts.count {
        case 1 where !digits(parts[0]): candidate = parts[0]
        case 2 where digits(parts[1]): candidate = parts[0]
        default: return nil
        }
        let s = normalize(String(candidate))
        return s.isEmpty ? nil : s
    }

    /// A serial as Windows writes it in IDs: spaces become underscores, ATA serials arrive padded.
    public static func normalize(_ serial: String) -> String {
        var s = Substring(serial)
        while let last = s.last, last == " " || last == "_" { s = s.dropLast() }
        while let first = s.first, first == " " || first == "_" { s = s.dropFirst() }
        return s.uppercased()
    }

    /// QEMU's device models as Windows names their disks.
    static func busHint(deviceID: String, enumerator: String) -> String? {
        let d = deviceID.lowercased()
        if d.contains("prod_virtio") { return "virtio" }
        if d.contains("ven_qemu&prod_qemu_harddisk") { return "scsi" }
        if d.contains("nvme") { return "nvme" }
        if d.contains("qemu_harddisk") { return "sata" }  // ATA through storahci (SCSI\Disk&Ven_&Prod_QEMU_HARDDISK) or IDE
        return nil
    }
}

/// One value of `HKLM\SYSTEM\MountedDevices`: a drive letter or volume GUID and the partition
/// (or device) Windows bound it to.
public struct MountedDevice: Sendable, Equatable, Codable {
    /// `\DosDevices\C:` or `\??\Volume{…}`.
    public var name: String
    /// mbr, gpt, device or other.
    public var kind: String
    /// MBR: the disk signature (8 hex digits) and the partition's byte offset.
    public var diskSignature: String?
    public var partitionOffset: UInt64?
    /// GPT: the partition's unique GUID.
    public var partitionGUID: String?
    /// A device path (`\??\SCSI#Disk&Ven_…#…`), for removable media and some volumes.
    public var device: String?

    public init(name: String, kind: String, diskSignature: String? = nil, partitionOffset: UInt64? = nil,
                partitionGUID: String? = nil, device: String? = nil) {
        self.name = name
        self.kind = kind
        self.diskSignature = diskSignature
        self.partitionOffset = partitionOffset
        self.partitionGUID = partitionGUID
        self.device = device
    }

    /// Decodes a MountedDevices value: 12 bytes are an MBR disk signature and partition offset
    /// (little-endian); `DMIO:ID:` and 16 bytes a GPT partition GUID; UTF-16 text a device path.
    public init(name: String, data: [UInt8]) {
        self.name = name
        if data.count == 12 {
            kind = "mbr"
            let sig = UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24
            diskSignature = hex(UInt64(sig), width: 8)
            partitionOffset = (0..<8).reduce(UInt64(0)) { $0 | UInt64(data[4 + $1]) << (8 * UInt64($1)) }
        } else if data.count >= 24, data.prefix(8) == Array("DMIO:ID:".utf8)[...] {
            kind = "gpt"
            partitionGUID = guidString(Array(data[8..<24]))
        } else if data.count >= 8, data.count % 2 == 0, let text = RegistryValue.decodeUTF16LE(data).first,
                  text.hasPrefix("\\??\\") || text.hasPrefix("_??_") || text.hasPrefix("\\\\?\\") {
            kind = "device"
            device = text
        } else {
            kind = "other"
        }
    }

    /// One line for a table: "MBR disk 1a2b3c4d, partition at byte 1048576".
    public var summary: String {
        switch kind {
        case "mbr": "MBR disk \(diskSignature ?? "?"), partition at byte \(partitionOffset ?? 0)"
        case "gpt": "GPT partition \(partitionGUID ?? "?")"
        case "device": device ?? "?"
        default: "(unrecognised value)"
        }
    }

    /// The bytes Windows stores for an MBR partition: disk signature, then byte offset.
    public static func mbrValue(signature: UInt32, offset: UInt64) -> [UInt8] {
        (0..<4).map { UInt8(signature >> (8 * UInt32($0)) & 0xff) } + (0..<8).map { UInt8(offset >> (8 * UInt64($0)) & 0xff) }
    }

    /// The bytes Windows stores for a GPT partition: `DMIO:ID:` and the GUID in its binary form.
    public static func gptValue(partitionGUID: String) -> [UInt8]? {
        guard let raw = SystemInformation.uuidBytes(partitionGUID, littleEndian: true) else { return nil }
        return Array("DMIO:ID:".utf8) + raw
    }
}

/// A Windows GUID's binary form: Data1, Data2, Data3 little-endian, Data4 as stored.
func guidString(_ raw: [UInt8]) -> String {
    SystemInformation.uuidString(raw, littleEndian: true) ?? "00000000-0000-0000-0000-000000000000"
}

func hex(_ v: UInt64, width: Int) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, width - s.count)) + s
}

/// Reads a SYSTEM hive into a `WindowsRecord`.
public enum WindowsSystemHive {
    /// The setup class of disk drives (devguid.h GUID_DEVCLASS_DISKDRIVE).
    public static let diskDriveClassGUID = "{4d36e967-e325-11ce-bfc1-08002be10318}"
    /// Enumerators under which Windows keeps disk device instances: storport and SCSI miniports
    /// (virtio-blk's viostor, vioscsi, storahci for SATA, stornvme), the legacy IDE stack, and
    /// the storage and USB enumerators.
    public static let diskEnumerators = ["SCSI", "IDE", "STORAGE", "NVME", "USBSTOR"]

    public static func read(_ hive: some HiveReading) throws -> WindowsRecord {
        var record = WindowsRecord()
        // Select\Current names the control set (CurrentControlSet is a link Windows makes at boot).
        if let select = try hive.node(["Select"]), let current = try hive.value(select, "Current")?.dword {
            record.controlSet = "ControlSet" + String(repeating: "0", count: max(0, 3 - String(current).count)) + String(current)
        } else if try hive.node(["ControlSet001"]) != nil {
            record.controlSet = "ControlSet001"
            record.notes.append("no Select\\Current value: read ControlSet001")
        } else {
            record.notes.append("no Select\\Current value and no ControlSet001: no control set to read")
        }
        if let cs = record.controlSet {
            if try hive.node([cs]) == nil {
                record.notes.append("Select\\Current names \(cs), which the hive does not have")
            } else {
                try readSMBIOS(hive, controlSet: cs, into: &record)
                record.diskInstances = try diskInstances(hive, controlSet: cs)
            }
        }
        if let md = try hive.node(["MountedDevices"]) {
            record.mountedDevices = try hive.values(md).filter { $0.type == RegistryType.binary }
                .map { MountedDevice(name: $0.name, data: $0.data) }
                .sorted { $0.name.lowercased() < $1.name.lowercased() }
        }
        return record
    }

    static func readSMBIOS(_ hive: some HiveReading, controlSet cs: String, into record: inout WindowsRecord) throws {
        guard let data = try hive.node([cs, "Services", "mssmbios", "Data"]),
              let blob = try hive.value(data, "SMBiosData") else {
            record.notes.append("no \(cs)\\Services\\mssmbios\\Data\\SMBiosData: Windows has saved no SMBIOS table")
            return
        }
        do {
            record.smbios = SMBIOSView(try SMBIOSTable(rawSMBIOSData: blob.data))
        } catch {
            record.smbiosError = "\(error)"
        }
    }

    static func diskInstances(_ hive: some HiveReading, controlSet cs: String) throws -> [DiskInstance] {
        guard let enumKey = try hive.node([cs, "Enum"]) else { return [] }
        var out: [DiskInstance] = []
        for enumerator in diskEnumerators {
            guard let e = try hive.child(enumKey, enumerator) else { continue }
            for (deviceID, device) in try hive.children(e) {
                for (instanceID, instance) in try hive.children(device) {
                    guard try isDisk(hive, instance, deviceID: deviceID) else { continue }
                    var d = DiskInstance(enumerator: enumerator, deviceID: deviceID, instanceID: instanceID)
                    d.hardwareIDs = try hive.value(instance, "HardwareID")?.strings ?? []
                    d.friendlyName = try hive.value(instance, "FriendlyName")?.string
                    d.busHint = DiskInstance.busHint(deviceID: deviceID, enumerator: enumerator)
                    if let s = try hive.value(instance, "SerialNumber")?.string, !DiskInstance.normalize(s).isEmpty {
                        d.serial = DiskInstance.normalize(s)
                        d.serialSource = "SerialNumber value"
                    } else if let params = try hive.child(instance, "Device Parameters"),
                              let s = try hive.value(params, "SerialNumber")?.string, !DiskInstance.normalize(s).isEmpty {
                        d.serial = DiskInstance.normalize(s)
                        d.serialSource = "Device Parameters\\SerialNumber value"
                    } else if let s = DiskInstance.serial(fromInstanceID: instanceID) {
                        d.serial = s
                        d.serialSource = "instance ID"
                    }
                    out.append(d)
                }
            }
        }
        return out
    }

    /// A disk drive: class GUID or class name says so; with neither, a device ID starting "Disk".
    static func isDisk(_ hive: some HiveReading, _ instance: Int64, deviceID: String) throws -> Bool {
        if let guid = try hive.value(instance, "ClassGUID")?.string {
            return guid.lowercased() == diskDriveClassGUID
        }
        if let cls = try hive.value(instance, "Class")?.string {
            return cls.lowercased() == "diskdrive"
        }
        return deviceID.lowercased().hasPrefix("disk")
    }
}
