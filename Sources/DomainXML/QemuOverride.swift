/// `<qemu:override>` (libvirt ≥ 8.2): properties of a libvirt-made QEMU device, changed by alias.
///
/// vmserial uses it for NVMe, which libvirt 9 has no disk bus for: the disk is an ordinary
/// libvirt `<disk>` (so libvirt labels its file, gives it a PCI address and can block-copy
/// it) whose frontend QEMU creates as `nvme` instead of `virtio-blk-pci`.
public struct QemuDeviceOverride: Equatable, Sendable {
    public var alias: String
    public var properties: [Property]

    public struct Property: Equatable, Sendable {
        public var name: String
        public var type: String
        public var value: String
        public init(name: String, type: String = "string", value: String) {
            self.name = name
            self.type = type
            self.value = value
        }
    }

    public init(alias: String, properties: [Property]) {
        self.alias = alias
        self.properties = properties
    }

    /// The alias vmserial gives an NVMe disk (libvirt keeps user aliases that start with "ua-").
    public static func nvmeAlias(target: String) -> String { "ua-vmserial-nvme-\(target)" }

    public static func nvme(target: String) -> QemuDeviceOverride {
        QemuDeviceOverride(alias: nvmeAlias(target: target), properties: [.init(name: "driver", value: "nvme")])
    }

    func element() -> XElement {
        XElement("qemu:device", [("alias", alias)], children: [
            XElement("qemu:frontend", children: properties.map {
                XElement("qemu:property", [("name", $0.name), ("type", $0.type), ("value", $0.value)])
            }),
        ])
    }

    init?(_ e: XElement) {
        guard e.name == "qemu:device", let alias = e[attribute: "alias"] else { return nil }
        self.alias = alias
        properties = (e.first("qemu:frontend")?.all("qemu:property") ?? []).map {
            Property(name: $0[attribute: "name"] ?? "", type: $0[attribute: "type"] ?? "string", value: $0[attribute: "value"] ?? "")
        }
    }
}

extension Domain {
    /// True when QEMU creates `disk` as an NVMe controller (its alias has a driver=nvme override).
    public func isNVMe(_ disk: Disk) -> Bool {
        guard let alias = disk.alias else { return false }
        return qemuOverrides.contains { $0.alias == alias && $0.properties.contains { $0.name == "driver" && $0.value == "nvme" } }
    }
}
