import Guestfs

/// What a Windows installation has recorded in its SYSTEM hive about the machine and its
/// disks: the hardware configurations it booted on (`HardwareConfig`), the SMBIOS table where
/// a hive keeps one, the disk device instances Plug and Play created with what the partition
/// manager keeps for each, the volumes, the SAN policy, and the volumes MountedDevices maps to
/// drive letters.
public struct WindowsRecord: Sendable, Equatable, Codable {
    /// The control set Windows boots with (`ControlSet001`), from `Select\Current`.
    public var controlSet: String?
    /// `HKLM\SYSTEM\HardwareConfig` (Windows 10 and later); nil when the hive has none.
    public var hardwareConfig: HardwareConfig?
    /// `Services\mssmbios\Data\SMBiosData` decoded; nil when the value is absent, which is the
    /// rule on real hives: Windows writes it at boot and does not keep it in the hive file.
    public var smbios: SMBIOSView?
    /// Why SMBiosData could not be decoded, if it could not.
    public var smbiosError: String?
    /// `Services\partmgr\Parameters\SanPolicy`; nil when absent (Windows then applies its
    /// edition's default).
    public var sanPolicy: UInt32?
    public var diskInstances: [DiskInstance]
    /// `Enum\STORAGE\Volume\{DiskId}#offset`: the partition volumes Plug and Play created.
    public var volumes: [StorageVolume]
    public var mountedDevices: [MountedDevice]
    /// Things that were missing or unreadable (no Select key, no Enum), one sentence each.
    public var notes: [String]

    public init(controlSet: String? = nil, hardwareConfig: HardwareConfig? = nil, smbios: SMBIOSView? = nil, smbiosError: String? = nil,
                sanPolicy: UInt32? = nil, diskInstances: [DiskInstance] = [], volumes: [StorageVolume] = [],
                mountedDevices: [MountedDevice] = [], notes: [String] = []) {
        self.controlSet = controlSet
        self.hardwareConfig = hardwareConfig
        self.smbios = smbios
        self.smbiosError = smbiosError
        self.sanPolicy = sanPolicy
        self.diskInstances = diskInstances
        self.volumes = volumes
        self.mountedDevices = mountedDevices
        self.notes = notes
    }

    /// `SanPolicy`'s name: its values are VDS_SAN_POLICY's (vds.h): 1 OnlineAll, 2 OfflineShared,
    /// 3 OfflineAll, 4 OfflineInternal.
    public static func sanPolicyName(_ v: UInt32) -> String {
        switch v {
        case 1: "OnlineAll"
        case 2: "OfflineShared"
        case 3: "OfflineAll"
        case 4: "OfflineInternal"
        default: "unknown (\(v))"
        }
    }
}

/// `HKLM\SYSTEM\HardwareConfig`: Windows 10 and later keep one subkey per hardware
/// configuration the installation has booted on, named by the machine's SMBIOS UUID in the form
/// `Win32_ComputerSystemProduct.UUID` shows (`{25194d56-caef-8737-5c44-50fe82f3ffde}`), and
/// `LastConfig` naming the one it booted on last.
public struct HardwareConfig: Sendable, Equatable, Codable {
    /// `LastConfig`, lower case, without braces.
    public var lastConfig: String?
    /// One per subkey, sorted by UUID.
    public var machines: [Machine]

    public struct Machine: Sendable, Equatable, Codable {
        /// The subkey's name, lower case, without braces.
        public var uuid: String
        public var systemManufacturer: String?
        public var systemProductName: String?
        public var biosVendor: String?
        public var biosVersion: String?
        public var biosReleaseDate: String?
        /// How many `ComputerIds` (the hardware IDs Windows derives from SMBIOS) it recorded.
        public var computerIds: Int

        public init(uuid: String, systemManufacturer: String? = nil, systemProductName: String? = nil, biosVendor: String? = nil,
                    biosVersion: String? = nil, biosReleaseDate: String? = nil, computerIds: Int = 0) {
            self.uuid = uuid
            self.systemManufacturer = systemManufacturer
            self.systemProductName = systemProductName
            self.biosVendor = biosVendor
            self.biosVersion = biosVersion
            self.biosReleaseDate = biosReleaseDate
            self.computerIds = computerIds
        }

        /// "VMware, Inc. VMware Virtual Platform, BIOS Phoenix Technologies LTD 6.00 07/29/2019".
        public var summary: String {
            let system = [systemManufacturer, systemProductName].compactMap { $0 }.joined(separator: " ")
            let bios = [biosVendor, biosVersion, biosReleaseDate].compactMap { $0 }.joined(separator: " ")
            return [system.isEmpty ? nil : system, bios.isEmpty ? nil : "BIOS \(bios)"].compactMap { $0 }.joined(separator: ", ")
        }
    }

    public init(lastConfig: String?, machines: [Machine]) {
        self.lastConfig = lastConfig
        self.machines = machines
    }

    /// `{25194D56-CAEF-…}` → `25194d56-caef-…`: how UUIDs are compared here.
    public static func normalize(_ uuid: String) -> String {
        var s = Substring(uuid.trimmingSpaces)
        if s.hasPrefix("{") { s = s.dropFirst() }
        if s.hasSuffix("}") { s = s.dropLast() }
        return s.lowercased()
    }
}

/// `Enum\STORAGE\Volume\{DiskId}#<offset>`: a partition volume, named by the partition
/// manager's DiskId of its disk and the partition's byte offset (hex).
public struct StorageVolume: Sendable, Equatable, Codable {
    /// The DiskId, lower case with braces, as in `Partmgr\DiskId`.
    public var diskId: String
    public var offset: UInt64

    public init(diskId: String, offset: UInt64) {
        self.diskId = diskId
        self.offset = offset
    }

    /// Parses `{5aae765e-77cb-11e9-bcf1-784f439fa657}#0000000008100000`; nil for other forms
    /// (`_??_USBSTOR#…`: a volume on a device without a partition table).
    public init?(instanceID: String) {
        let parts = instanceID.split(separator: "#")
        guard parts.count == 2, parts[0].hasPrefix("{"), parts[0].hasSuffix("}"), parts[0].count == 38,
              let offset = UInt64(parts[1], radix: 16) else { return nil }
        diskId = parts[0].lowercased()
        self.offset = offset
    }
}

/// What the partition manager keeps for a disk instance under `Device Parameters\Partmgr`.
public struct PartmgrRecord: Sendable, Equatable, Codable {
    /// `DiskId`: the partition manager's own ID of the disk (not the GPT disk GUID), lower case
    /// with braces; `Enum\STORAGE\Volume` names the disk's volumes by it.
    public var diskId: String?
    /// `Attributes`: the disk attributes (winioctl.h DISK_ATTRIBUTE_OFFLINE 0x1,
    /// DISK_ATTRIBUTE_READ_ONLY 0x2) Windows applies when this instance arrives.
    public var attributes: UInt32?
    /// `PartitionTableCache` decoded: the disk's signature or GUID as Windows last saw it.
    public var layout: PartitionTable?

    public init(diskId: String? = nil, attributes: UInt32? = nil, layout: PartitionTable? = nil) {
        self.diskId = diskId
        self.attributes = attributes
        self.layout = layout
    }

    public var offline: Bool { (attributes ?? 0) & 0x1 != 0 }
    public var readOnly: Bool { (attributes ?? 0) & 0x2 != 0 }

    /// "online, read-write" / "offline, read-only".
    public var state: String {
        guard attributes != nil else { return "no Attributes value" }
        return "\(offline ? "offline" : "online"), \(readOnly ? "read-only" : "read-write")"
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
    /// The VM bus (virtio, scsi, sata, nvme) whose QEMU device presents exactly this device ID
    /// to Windows; nil when none of them can have produced it (a USB stick, a physical disk,
    /// another hypervisor's disk). Only instances with a bus hint are judged.
    public var busHint: String?
    /// The Windows driver through which that QEMU device shows this device ID (viostor, …).
    public var driver: String?
    /// `Device Parameters\Partmgr`, when the partition manager has seen the disk.
    public var partmgr: PartmgrRecord?

    /// `SCSI\Disk&Ven_Red_Hat&Prod_VirtIO\VS0ABC&0`.
    public var path: String { "\(enumerator)\\\(deviceID)\\\(instanceID)" }

    public init(enumerator: String, deviceID: String, instanceID: String, hardwareIDs: [String] = [], friendlyName: String? = nil,
                serial: String? = nil, serialSource: String? = nil, busHint: String? = nil, driver: String? = nil,
                partmgr: PartmgrRecord? = nil) {
        self.enumerator = enumerator
        self.deviceID = deviceID
        self.instanceID = instanceID
        self.hardwareIDs = hardwareIDs
        self.friendlyName = friendlyName
        self.serial = serial
        self.serialSource = serialSource
        // The device ID decides; an explicit bus only stands in for IDs outside the table.
        let model = Self.qemuModel(deviceID: deviceID, enumerator: enumerator)
        self.busHint = model?.bus ?? busHint
        self.driver = model?.driver ?? driver
        self.partmgr = partmgr
    }

    /// True when one of the VM's own disks can have produced this instance.
    public var fromVMBus: Bool { busHint != nil }

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

    /// A device ID one of QEMU's disk models presents to Windows, through the driver Windows
    /// binds to it. Windows builds a SCSI device ID as `Disk&Ven_<INQUIRY vendor>&Prod_<INQUIRY
    /// product>` (trimmed, spaces as `_`); the IDE enumerator uses the ATA model as is.
    public struct QEMUModel: Sendable, Equatable {
        public var enumerator: String
        /// Lower case; SCSI: the whole device ID, IDE: its start (the revision follows).
        public var deviceID: String
        public var bus: String
        public var driver: String
    }

    /// Every device ID the VM's disks can present (README "What each bus presents to Windows"
    /// gives the sources):
    /// - virtio-blk, viostor: INQUIRY vendor "Red Hat ", product "VirtIO"
    ///   (kvm-guest-drivers-windows viostor/virtio_stor.c);
    /// - virtio-scsi, vioscsi: the INQUIRY of QEMU's scsi-hd, vendor "QEMU", product
    ///   "QEMU HARDDISK" (QEMU hw/scsi/scsi-disk.c);
    /// - SATA (ich9-ahci), storahci: the ATA model "QEMU HARDDISK" (QEMU hw/ide/core.c) split
    ///   at the last space in its first 8 characters, vendor "QEMU", product "HARDDISK"
    ///   (storahci's AtaGenerateInquiryData); an ATA miniport that leaves the vendor empty gives
    ///   `Ven_&Prod_QEMU_HARDDISK`; ataport drivers (msahci, atapi: Windows 7) enumerate IDE;
    /// - NVMe, stornvme: vendor "NVMe", product the model's first 16 characters (NVM Express
    ///   SCSI Translation Reference, standard INQUIRY), QEMU's model "QEMU NVMe Ctrl"
    ///   (hw/nvme/ctrl.c).
    public static let qemuModels: [QEMUModel] = [
        QEMUModel(enumerator: "SCSI", deviceID: "disk&ven_red_hat&prod_virtio", bus: "virtio", driver: "viostor"),
        QEMUModel(enumerator: "SCSI", deviceID: "disk&ven_qemu&prod_qemu_harddisk", bus: "scsi", driver: "vioscsi"),
        QEMUModel(enumerator: "SCSI", deviceID: "disk&ven_qemu&prod_harddisk", bus: "sata", driver: "storahci"),
        QEMUModel(enumerator: "SCSI", deviceID: "disk&ven_&prod_qemu_harddisk", bus: "sata", driver: "an ATA miniport"),
        QEMUModel(enumerator: "IDE", deviceID: "diskqemu_harddisk", bus: "sata", driver: "ataport (msahci, atapi)"),
        QEMUModel(enumerator: "SCSI", deviceID: "disk&ven_nvme&prod_qemu_nvme_ctrl", bus: "nvme", driver: "stornvme"),
    ]

    /// The QEMU model that presents `deviceID` under `enumerator`, if any.
    public static func qemuModel(deviceID: String, enumerator: String) -> QEMUModel? {
        let d = deviceID.lowercased(), e = enumerator.uppercased()
        return qemuModels.first { m in
            m.enumerator == e && (e == "IDE" ? d.hasPrefix(m.deviceID) : d == m.deviceID)
        }
    }

    /// The VM bus whose QEMU device presents this device ID; nil for everything else.
    static func busHint(deviceID: String, enumerator: String) -> String? {
        qemuModel(deviceID: deviceID, enumerator: enumerator)?.bus
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
                record.volumes = try volumes(hive, controlSet: cs)
                if let p = try hive.node([cs, "Services", "partmgr", "Parameters"]) {
                    record.sanPolicy = try hive.value(p, "SanPolicy")?.dword
                }
            }
        }
        record.hardwareConfig = try hardwareConfig(hive)
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
            // The rule on real hives (IdentityComparison says so): nothing to note here.
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
                    d.friendlyName = try hive.value(instance, "FriendlyName")?.string.map(displayString)
                    if let model = DiskInstance.qemuModel(deviceID: deviceID, enumerator: enumerator) {
                        d.busHint = model.bus
                        d.driver = model.driver
                    }
                    if let pm = try hive.node(instance, ["Device Parameters", "Partmgr"]) {
                        d.partmgr = PartmgrRecord(diskId: try hive.value(pm, "DiskId")?.string?.lowercased(),
                                                  attributes: try hive.value(pm, "Attributes")?.dword,
                                                  layout: try hive.value(pm, "PartitionTableCache").flatMap { PartitionTable(partitionTableCache: $0.data) })
                    }
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

    /// `@disk.inf,%VHD_Generic_FriendlyName%;Microsoft Virtual Disk` (an indirect string, the
    /// form real hives keep): the text after the last `;`.
    static func displayString(_ s: String) -> String {
        guard s.hasPrefix("@"), let semi = s.lastIndex(of: ";") else { return s }
        return String(s[s.index(after: semi)...])
    }

    static func volumes(_ hive: some HiveReading, controlSet cs: String) throws -> [StorageVolume] {
        guard let v = try hive.node([cs, "Enum", "STORAGE", "Volume"]) else { return [] }
        return try hive.children(v).compactMap { StorageVolume(instanceID: $0.name) }
            .sorted { ($0.diskId, $0.offset) < ($1.diskId, $1.offset) }
    }

    static func hardwareConfig(_ hive: some HiveReading) throws -> HardwareConfig? {
        guard let hc = try hive.node(["HardwareConfig"]) else { return nil }
        let last = try hive.value(hc, "LastConfig")?.string.map(HardwareConfig.normalize)
        var machines: [HardwareConfig.Machine] = []
        for (name, node) in try hive.children(hc) {
            let uuid = HardwareConfig.normalize(name)
            // Subkeys are the UUIDs; anything else is not a hardware configuration.
            guard uuid.count == 36, uuid.filter({ $0 == "-" }).count == 4 else { continue }
            let str: (String) throws -> String? = { try hive.value(node, $0)?.string.map(\.trimmingSpaces) }
            machines.append(HardwareConfig.Machine(
                uuid: uuid, systemManufacturer: try str("SystemManufacturer"), systemProductName: try str("SystemProductName"),
                biosVendor: try str("BIOSVendor"), biosVersion: try str("BIOSVersion"), biosReleaseDate: try str("BIOSReleaseDate"),
                computerIds: try hive.child(node, "ComputerIds").map { try hive.values($0).count } ?? 0))
        }
        return HardwareConfig(lastConfig: last, machines: machines.sorted { $0.uuid < $1.uuid })
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
