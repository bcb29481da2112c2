/// The /dev/disk/by-id names a Linux guest's udev (60-persistent-storage.rules) gives QEMU's
/// disks, built from their serials. Guests name disks in /etc/fstab and /etc/crypttab by
/// these, so a serial that changes makes such an entry point at nothing.
public struct ByIDName: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var bus: Bus
    public var serial: String
    /// The partition number for a `-partN` link, nil for the whole disk.
    public var partition: Int?
    /// scsi only: the `scsi-S…` form, built from VPD page 0x80 (the whole serial), which
    /// udev adds besides the usual `scsi-0…` one.
    public var scsiPage80Form: Bool

    public init(bus: Bus, serial: String, partition: Int? = nil, scsiPage80Form: Bool = false) {
        self.bus = bus
        self.serial = serial
        self.partition = partition
        self.scsiPage80Form = bus == .scsi && scsiPage80Form
    }

    static let scsiPage80Prefix = "scsi-SQEMU_QEMU_HARDDISK_"

    /// The prefix QEMU's device model and udev put before the serial, per bus:
    /// virtio-blk `virtio-<serial>` (ID_SERIAL is the serial itself); scsi-hd behind virtio-scsi
    /// `scsi-0QEMU_QEMU_HARDDISK_<serial>` (scsi_id: 0 = VPD page 0x80, then vendor and model);
    /// ide-hd on AHCI `ata-QEMU_HARDDISK_<serial>` (model, then serial); nvme
    /// `nvme-QEMU_NVMe_Ctrl_<serial>` (model, then serial).
    public static func prefix(for bus: Bus) -> String {
        switch bus {
        case .virtio: "virtio-"
        case .scsi: "scsi-0QEMU_QEMU_HARDDISK_"
        case .sata: "ata-QEMU_HARDDISK_"
        case .nvme: "nvme-QEMU_NVMe_Ctrl_"
        }
    }

    /// How much of the serial the name carries. scsi-hd's by-id name comes from VPD page 0x83,
    /// whose device identifier QEMU (7.2) makes from the first 20 characters of the serial
    /// (`%.20s`) when no device_id is set, and libvirt sets none: so two scsi serials that share
    /// their first 20 characters get the same by-id name. Other buses carry the whole serial.
    public static let scsiNameLimit = 20

    /// The serial as the name shows it.
    public var serialInName: String {
        bus == .scsi && !scsiPage80Form ? String(serial.prefix(Self.scsiNameLimit)) : serial
    }

    /// The link name, e.g. `virtio-VS0ABC…` or `ata-QEMU_HARDDISK_VS0ABC…-part1`.
    public var name: String {
        (scsiPage80Form ? Self.scsiPage80Prefix : Self.prefix(for: bus)) + serialInName + (partition.map { "-part\($0)" } ?? "")
    }

    /// Every name udev gives the whole disk: for NVMe also the namespace form `…_<nsid>`
    /// (systemd 252 makes `nvme-QEMU_NVMe_Ctrl_<serial>_1` besides the plain one).
    public var names: [String] {
        var out = [name]
        if bus == .nvme { out.append(Self.prefix(for: bus) + serial + "_1" + (partition.map { "-part\($0)" } ?? "")) }
        return out
    }

    /// Whether a link name read from a guest (fstab, by-id) denotes this disk (any partition).
    public func denotes(_ link: String) -> Bool {
        guard let other = ByIDName(parsing: link), other.bus == bus else { return false }
        if other.scsiPage80Form { return other.serial == serial }
        let mine = ByIDName(bus: bus, serial: serial, partition: other.partition)
        return mine.names.contains(other.name)
    }

    public var description: String { name }

    /// Reads a link name (with or without a leading /dev/disk/by-id/) back into bus, serial
    /// and partition; nil for names that are not one of the forms above (wwn-…, nvme-eui.…)
    /// and for paths outside /dev/disk/by-id.
    public init?(parsing text: String) {
        var name = Substring(text)
        if name.hasPrefix("/") {
            guard name.hasPrefix("/dev/disk/by-id/") else { return nil }
            name = name.dropFirst("/dev/disk/by-id/".count)
        }
        var page80 = false
        let bus: Bus
        if name.hasPrefix(Self.scsiPage80Prefix) {
            bus = .scsi
            page80 = true
        } else if let b = Bus.allCases.first(where: { name.hasPrefix(Self.prefix(for: $0)) }) {
            bus = b
        } else {
            return nil
        }
        var rest = name.dropFirst(page80 ? Self.scsiPage80Prefix.count : Self.prefix(for: bus).count)
        var partition: Int?
        // The last "-part<digits>" suffix, if any (a serial may itself contain "-").
        let digits = rest.reversed().prefix(while: { $0.isASCII && $0.isNumber })
        let head = rest.dropLast(digits.count)
        if !digits.isEmpty, head.hasSuffix("-part"), let n = Int(String(digits.reversed())), n > 0 {
            partition = n
            rest = head.dropLast("-part".count)
        }
        guard !rest.isEmpty else { return nil }
        self.init(bus: bus, serial: String(rest), partition: partition, scsiPage80Form: page80)
    }
}
