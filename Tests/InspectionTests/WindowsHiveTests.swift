import Testing
@testable import Inspection
import TestSupport

@Suite("Windows SYSTEM hive: control set, SMBiosData, disk instances, MountedDevices")
struct WindowsHiveTests {
    static let diskClass = RegistryValue.string("ClassGUID", WindowsSystemHive.diskDriveClassGUID.uppercased())

    static func smbios(serial: String, uuid: String) -> RegistryValue {
        let info = SystemInformation(manufacturer: "QEMU", productName: "Standard PC (i440FX + PIIX, 1996)", serialNumber: serial, uuid: uuid)
        return .binary("SMBiosData", SMBIOSTable(structures: [info.structure(), .endOfTable(handle: 0xFEFF)]).rawSMBIOSData())
    }

    static func instance(_ id: String, _ values: [RegistryValue], subkeys: [RegistryKey] = []) -> RegistryKey {
        RegistryKey(id, values: values, subkeys: subkeys)
    }

    /// A SYSTEM hive whose Select\Current is 2: ControlSet001 holds an older, different table.
    static func hive() -> RegistryKey {
        let enumKey = RegistryKey("Enum", subkeys: [
            RegistryKey("SCSI", subkeys: [
                RegistryKey("Disk&Ven_Red_Hat&Prod_VirtIO", subkeys: [
                    instance("VS1KA4ZCHWYHWD0H51VZ&0", [
                        .multiString("HardwareID", ["SCSI\\DiskRed_Hat_VirtIO_____0001", "SCSI\\DiskRed_Hat_VirtIO_____", "GenDisk"]),
                        diskClass, .string("FriendlyName", "Red Hat VirtIO SCSI Disk Device"),
                    ]),
                ]),
                RegistryKey("Disk&Ven_&Prod_QEMU_HARDDISK", subkeys: [
                    instance("4&2a0cfc1b&0&000000", [diskClass, .string("FriendlyName", "QEMU HARDDISK")]),
                    instance("4&2a0cfc1b&0&010000", [diskClass], subkeys: [
                        RegistryKey("Device Parameters", values: [.string("SerialNumber", "OLDSATA0000000000001      ")]),
                    ]),
                ]),
                // A CD-ROM is not a disk.
                RegistryKey("CdRom&Ven_QEMU&Prod_QEMU_DVD-ROM", subkeys: [
                    instance("QM00003&0", [.string("ClassGUID", "{4d36e965-e325-11ce-bfc1-08002be10318}")]),
                ]),
            ]),
            RegistryKey("USBSTOR", subkeys: [
                RegistryKey("Disk&Ven_QEMU&Prod_QEMU_HARDDISK&Rev_2.5+", subkeys: [
                    instance("USB-SERIAL-9&0", [.string("Class", "DiskDrive")]),
                ]),
            ]),
            RegistryKey("STORAGE", subkeys: [
                RegistryKey("Volume", subkeys: [
                    instance("{1a2b3c4d-0000-0000-0000-100000000000}#0000000000100000",
                             [.string("ClassGUID", "{71a27cdd-812a-11d0-bec7-08002be2092f}")]),
                ]),
            ]),
            RegistryKey("IDE", subkeys: [
                RegistryKey("DiskQEMU_HARDDISK___________________________2.5+____", subkeys: [
                    // No class values: the device ID says disk; the SerialNumber value wins over the instance ID.
                    instance("5&1f0c5a1&0&0.0.0", [.string("SerialNumber", "IDESERIAL")]),
                ]),
            ]),
            RegistryKey("PCI", subkeys: [
                RegistryKey("VEN_1AF4&DEV_1001", subkeys: [instance("3&267a616a&0&20", [diskClass])]),
            ]),
        ])
        let newer = RegistryKey("ControlSet002", subkeys: [
            .path(["Services", "mssmbios", "Data"], values: [smbios(serial: "CURRENT-SERIAL", uuid: "11111111-2222-3333-4444-555555555555")]),
            enumKey,
        ])
        let older = RegistryKey("ControlSet001", subkeys: [
            .path(["Services", "mssmbios", "Data"], values: [smbios(serial: "STALE-SERIAL", uuid: "99999999-2222-3333-4444-555555555555")]),
        ])
        let mounted = RegistryKey("MountedDevices", values: [
            .binary("\\DosDevices\\C:", MountedDevice.mbrValue(signature: 0x1A2B_3C4D, offset: 1_048_576)),
            .binary("\\??\\Volume{0b5e8c4f-0000-0000-0000-100000000000}", MountedDevice.gptValue(partitionGUID: "0b5e8c4f-1234-4abc-8def-0123456789ab")!),
            .binary("\\DosDevices\\D:", RegistryValue.string("", "\\??\\IDE#CdRomQEMU_DVD-ROM#5&1f0c5a1&0&1.0.0#{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}").data),
            .binary("\\DosDevices\\E:", [1, 2, 3]),
            .string("NotBinary", "ignored"),
        ])
        return RegistryKey("ROOT", subkeys: [
            RegistryKey("Select", values: [.dword("Current", 2), .dword("Default", 2), .dword("LastKnownGood", 1)]),
            older, newer, mounted,
        ])
    }

    @Test("Select\\Current picks the control set whose SMBIOS table is read")
    func controlSet() throws {
        let r = try WindowsSystemHive.read(InMemoryHive(Self.hive()))
        #expect(r.controlSet == "ControlSet002")
        #expect(r.smbios?.serialNumber == "CURRENT-SERIAL")
        #expect(r.smbios?.uuid == "11111111-2222-3333-4444-555555555555")
        #expect(r.smbios?.version == "2.8")
        #expect(r.smbios?.manufacturer == "QEMU")
        #expect(r.notes.isEmpty)
    }

    @Test("disk instances: class filters, and where each serial comes from")
    func diskInstances() throws {
        let r = try WindowsSystemHive.read(InMemoryHive(Self.hive()))
        let byPath = Dictionary(uniqueKeysWithValues: r.diskInstances.map { ($0.path, $0) })
        #expect(r.diskInstances.count == 5, "\(r.diskInstances.map(\.path))")

        let virtio = try #require(byPath["SCSI\\Disk&Ven_Red_Hat&Prod_VirtIO\\VS1KA4ZCHWYHWD0H51VZ&0"])
        #expect(virtio.serial == "VS1KA4ZCHWYHWD0H51VZ")
        #expect(virtio.serialSource == "instance ID")
        #expect(virtio.busHint == "virtio")
        #expect(virtio.friendlyName == "Red Hat VirtIO SCSI Disk Device")
        #expect(virtio.hardwareIDs == ["SCSI\\DiskRed_Hat_VirtIO_____0001", "SCSI\\DiskRed_Hat_VirtIO_____", "GenDisk"])

        let located = try #require(byPath["SCSI\\Disk&Ven_&Prod_QEMU_HARDDISK\\4&2a0cfc1b&0&000000"])
        #expect(located.serial == nil, "a location-based instance ID records no serial")
        #expect(located.busHint == "sata")

        let params = try #require(byPath["SCSI\\Disk&Ven_&Prod_QEMU_HARDDISK\\4&2a0cfc1b&0&010000"])
        #expect(params.serial == "OLDSATA0000000000001", "ATA padding removed")
        #expect(params.serialSource == "Device Parameters\\SerialNumber value")

        #expect(byPath["USBSTOR\\Disk&Ven_QEMU&Prod_QEMU_HARDDISK&Rev_2.5+\\USB-SERIAL-9&0"]?.serial == "USB-SERIAL-9")

        let ide = try #require(byPath["IDE\\DiskQEMU_HARDDISK___________________________2.5+____\\5&1f0c5a1&0&0.0.0"])
        #expect(ide.serial == "IDESERIAL")
        #expect(ide.serialSource == "SerialNumber value")

        // Not disks: the CD-ROM (another class), the volume (STORAGE, volume class), PCI (not a disk enumerator).
        #expect(!r.diskInstances.contains { $0.deviceID.hasPrefix("CdRom") || $0.enumerator == "STORAGE" || $0.enumerator == "PCI" })
    }

    @Test("MountedDevices: MBR signature and offset, GPT GUID, device paths; other values listed as unrecognised")
    func mountedDevices() throws {
        let r = try WindowsSystemHive.read(InMemoryHive(Self.hive()))
        let m = Dictionary(uniqueKeysWithValues: r.mountedDevices.map { ($0.name, $0) })
        #expect(m.count == 4, "REG_SZ values are not MountedDevices entries")
        let c = try #require(m["\\DosDevices\\C:"])
        #expect(c.kind == "mbr")
        #expect(c.diskSignature == "1a2b3c4d")
        #expect(c.partitionOffset == 1_048_576)
        #expect(c.summary == "MBR disk 1a2b3c4d, partition at byte 1048576")
        let gpt = try #require(m["\\??\\Volume{0b5e8c4f-0000-0000-0000-100000000000}"])
        #expect(gpt.kind == "gpt")
        #expect(gpt.partitionGUID == "0b5e8c4f-1234-4abc-8def-0123456789ab")
        #expect(m["\\DosDevices\\D:"]?.kind == "device")
        #expect(m["\\DosDevices\\D:"]?.device?.hasPrefix("\\??\\IDE#CdRomQEMU_DVD-ROM#") == true)
        #expect(m["\\DosDevices\\E:"]?.kind == "other")
    }

    @Test("the GPT value's GUID bytes are mixed-endian, as libguestfs reads them")
    func gptBytes() throws {
        let v = try #require(MountedDevice.gptValue(partitionGUID: "00112233-4455-6677-8899-aabbccddeeff"))
        #expect(Array(v[8...]) == [0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff])
    }

    @Test("without Select the first control set is read, and the note says so")
    func noSelect() throws {
        var hive = Self.hive()
        hive.subkeys.removeAll { $0.name == "Select" }
        let r = try WindowsSystemHive.read(InMemoryHive(hive))
        #expect(r.controlSet == "ControlSet001")
        #expect(r.smbios?.serialNumber == "STALE-SERIAL")
        #expect(r.notes == ["no Select\\Current value: read ControlSet001"])
    }

    @Test("a control set without SMBiosData, a missing control set, and a damaged blob are reported")
    func missingPieces() throws {
        let empty = try WindowsSystemHive.read(InMemoryHive(RegistryKey("ROOT", subkeys: [
            RegistryKey("Select", values: [.dword("Current", 1)]), RegistryKey("ControlSet001"),
        ])))
        #expect(empty.smbios == nil && empty.smbiosError == nil)
        #expect(empty.notes.isEmpty, "no SMBiosData is the rule on real hives, not a problem of the hive")
        let said = IdentityComparison.windows(empty, current: CurrentIdentity(uuid: "u", smbiosSerial: nil, disks: []))
        #expect(said.first { $0.what == "smbios table" }.map { $0.info && $0.seen == "(not kept offline)" } == true)

        let dangling = try WindowsSystemHive.read(InMemoryHive(RegistryKey("ROOT", subkeys: [
            RegistryKey("Select", values: [.dword("Current", 7)]),
        ])))
        #expect(dangling.controlSet == "ControlSet007")
        #expect(dangling.notes == ["Select\\Current names ControlSet007, which the hive does not have"])

        let damaged = try WindowsSystemHive.read(InMemoryHive(RegistryKey("ROOT", subkeys: [
            RegistryKey("Select", values: [.dword("Current", 1)]),
            RegistryKey("ControlSet001", subkeys: [.path(["Services", "mssmbios", "Data"], values: [.binary("SMBiosData", [0, 2, 8])])]),
        ])))
        #expect(damaged.smbios == nil)
        #expect(damaged.smbiosError?.contains("truncated") == true)
    }

    @Test("location-based instance IDs", arguments: [
        ("4&2a0cfc1b&0&000000", true), ("5&1f0c5a1&0&0.0.0", true), ("3&267a616a&0&20", true),
        ("VS1KA4ZCHWYHWD0H51VZ&0", false), ("12345678&0", false), ("000000", false), ("ABC&DEF01234&0", false),
    ])
    func locationBased(id: String, expected: Bool) {
        #expect(DiskInstance.isLocationBased(id) == expected)
    }

    @Test("the serial an instance ID carries", arguments: [
        ("VS1KA4ZCHWYHWD0H51VZ&0", "VS1KA4ZCHWYHWD0H51VZ" as String?), ("usb-serial-9&12", "USB-SERIAL-9"), ("MANUAL-0001", "MANUAL-0001"),
        ("ATASERIAL___________&0", "ATASERIAL"), ("000000", nil), ("4&2a0cfc1b&0&000000", nil), ("A&B&C", nil), ("A&B", nil), ("&0", nil),
    ])
    func instanceSerial(id: String, serial: String?) {
        #expect(DiskInstance.serial(fromInstanceID: id) == serial)
    }

    @Test("registry values encode and decode")
    func values() {
        #expect(RegistryValue.string("a", "Hé").string == "Hé")
        #expect(RegistryValue.string("a", "Hé").data == [0x48, 0, 0xE9, 0, 0, 0])
        #expect(RegistryValue.multiString("m", ["x", "yz"]).strings == ["x", "yz"])
        #expect(RegistryValue.multiString("m", ["x"]).data == [0x78, 0, 0, 0, 0, 0])
        #expect(RegistryValue.dword("d", 0x0102_0304).dword == 0x0102_0304)
        #expect(RegistryValue.dword("d", 1).string == nil)
        #expect(RegistryValue.binary("b", [1]).dword == nil)
        #expect(RegistryValue.string("s", "one").strings == ["one"])
    }

    @Test("merging key trees adds keys and replaces values of the same name, ignoring case")
    func merge() {
        var a = RegistryKey("ROOT", subkeys: [RegistryKey("Select", values: [.dword("Current", 1)])])
        a.merge(RegistryKey("ROOT", subkeys: [
            RegistryKey("select", values: [.dword("CURRENT", 2), .dword("Default", 1)]), RegistryKey("ControlSet002"),
        ]))
        #expect(a.subkeys.map(\.name) == ["Select", "ControlSet002"])
        #expect(a.subkey("SELECT")?.values.map(\.name) == ["CURRENT", "Default"])
        #expect(a.subkey("Select")?.value("current")?.dword == 2)
        #expect(RegistryKey.path(["A", "B", "C"], values: [.dword("v", 1)]).subkey("a") == nil)
        #expect(RegistryKey.path(["A", "B", "C"], values: [.dword("v", 1)]).subkey("b")?.subkey("c")?.value("v")?.dword == 1)
    }
}
