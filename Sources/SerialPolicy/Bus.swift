/// The guest-visible bus a disk sits on, and what that bus allows in a serial.
public enum Bus: String, Codable, CaseIterable, Sendable {
    case virtio
    case scsi
    case sata
    case nvme

    /// The longest serial the device model keeps, in bytes.
    ///
    /// Past these QEMU truncates silently (virtio-blk: VIRTIO_BLK_ID_BYTES = 20;
    /// ATA IDENTIFY words 10-19 = 20; NVMe Identify Controller SN = 20) or, for
    /// scsi-hd before QEMU 9.1, truncates at 36. vmserial refuses instead.
    public var serialLimit: Int {
        switch self {
        case .virtio, .sata, .nvme: 20
        case .scsi: 36
        }
    }

    /// The libvirt `<target bus=…>` this bus is rendered as. libvirt 9 has no NVMe disk bus:
    /// an NVMe disk is a virtio disk whose QEMU frontend is overridden to `nvme`.
    public var libvirtBus: String {
        switch self {
        case .virtio, .nvme: "virtio"
        case .scsi: "scsi"
        case .sata: "sata"
        }
    }

    /// Prefix of libvirt's `<target dev=…>` names on this bus (NVMe shares virtio's vd*).
    public var targetPrefix: String {
        switch self {
        case .virtio, .nvme: "vd"
        case .scsi, .sata: "sd"
        }
    }
}
