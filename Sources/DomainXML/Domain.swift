/// libvirt `<domain>` as a small typed model, after Nova's LibvirtConfigGuest* classes:
/// each part parses and renders itself, and what vmserial does not model is kept as
/// raw elements (`other`) so parse → render loses nothing libvirt said.
public struct Domain: Equatable, Sendable {
    /// "kvm" or "qemu" (TCG).
    public var type: String
    public var name: String
    public var uuid: String?
    public var memoryKiB: UInt64
    public var vcpus: Int
    /// `<vcpu>` attributes (placement, cpuset, current), kept so a round trip does not drop them.
    public var vcpuOther: [XElement.Attribute]
    public var metadata: [XElement]
    public var os: OS
    public var sysinfo: Sysinfo?
    public var features: [String]
    /// Features that carry attributes or children (`<vmport state='off'/>`, `<hyperv>…`), by name:
    /// rendered in place of the bare name while it is in `features`.
    public var featureElements: [String: XElement]
    public var cpu: XElement?
    public var onPoweroff: String?
    public var onReboot: String?
    public var onCrash: String?
    public var devices: Devices
    /// Extra QEMU arguments (`<qemu:commandline>`), kept as libvirt gives them.
    public var qemuArgs: [String]
    /// `<qemu:override>` device entries (NVMe disks).
    public var qemuOverrides: [QemuDeviceOverride]
    /// Root attributes other than type (e.g. id, xmlns:qemu) and unknown children.
    public var otherAttributes: [XElement.Attribute]
    public var other: [XElement]

    public static let qemuNamespace = "http://libvirt.org/schemas/domain/qemu/1.0"

    public init(type: String, name: String, uuid: String? = nil, memoryKiB: UInt64, vcpus: Int,
                os: OS, sysinfo: Sysinfo? = nil, features: [String] = ["acpi"], cpu: XElement? = nil,
                onPoweroff: String? = nil, onReboot: String? = nil, onCrash: String? = nil,
                devices: Devices = Devices(), metadata: [XElement] = [], qemuArgs: [String] = [],
                qemuOverrides: [QemuDeviceOverride] = []) {
        self.type = type
        self.name = name
        self.uuid = uuid
        self.memoryKiB = memoryKiB
        self.vcpus = vcpus
        self.vcpuOther = []
        self.os = os
        self.sysinfo = sysinfo
        self.features = features
        self.featureElements = [:]
        self.cpu = cpu
        self.onPoweroff = onPoweroff
        self.onReboot = onReboot
        self.onCrash = onCrash
        self.devices = devices
        self.metadata = metadata
        self.qemuArgs = qemuArgs
        self.qemuOverrides = qemuOverrides
        self.otherAttributes = []
        self.other = []
    }

    public struct OS: Equatable, Sendable {
        public var arch: String?
        public var machine: String?
        public var kernel: String?
        public var initrd: String?
        public var cmdline: String?
        /// `firmware='efi'` on `<os>` (libvirt picks OVMF itself).
        public var firmware: String?
        public var bootDevices: [String]
        /// `<smbios mode=…/>`: "sysinfo" to present `<sysinfo>` to the guest.
        public var smbiosMode: String?
        public var other: [XElement]

        public init(arch: String? = "x86_64", machine: String? = nil, kernel: String? = nil, initrd: String? = nil,
                    cmdline: String? = nil, firmware: String? = nil, bootDevices: [String] = [], smbiosMode: String? = nil) {
            self.arch = arch
            self.machine = machine
            self.kernel = kernel
            self.initrd = initrd
            self.cmdline = cmdline
            self.firmware = firmware
            self.bootDevices = bootDevices
            self.smbiosMode = smbiosMode
            self.other = []
        }
    }

    /// `<sysinfo type='smbios'>`; `system` holds the type 1 entries (serial, uuid, …) in order.
    public struct Sysinfo: Equatable, Sendable {
        public var system: [(name: String, value: String)]
        public var other: [XElement]

        public init(system: [(name: String, value: String)]) {
            self.system = system
            self.other = []
        }

        public subscript(system name: String) -> String? {
            system.first { $0.name == name }?.value
        }

        public static func == (a: Sysinfo, b: Sysinfo) -> Bool {
            a.system.map(\.name) == b.system.map(\.name) && a.system.map(\.value) == b.system.map(\.value) && a.other == b.other
        }
    }

    public struct Devices: Equatable, Sendable {
        public var emulator: String?
        public var disks: [Disk]
        public var controllers: [Controller]
        /// Everything else (serial, console, video, memballoon, …), kept in order.
        public var other: [XElement]

        public init(emulator: String? = nil, disks: [Disk] = [], controllers: [Controller] = [], other: [XElement] = []) {
            self.emulator = emulator
            self.disks = disks
            self.controllers = controllers
            self.other = other
        }
    }
}

/// A device address: `pci` (domain, bus, slot, function) or `drive` (controller, bus, target, unit).
public struct Address: Equatable, Sendable {
    public var type: String
    public var fields: [XElement.Attribute]

    public init(type: String, _ fields: [(String, String)]) {
        self.type = type
        self.fields = fields.map { XElement.Attribute($0.0, $0.1) }
    }

    public subscript(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    /// A numeric field, accepting libvirt's "0x05" and "5".
    public func number(_ name: String) -> Int? {
        guard let v = self[name] else { return nil }
        if v.hasPrefix("0x") { return Int(v.dropFirst(2), radix: 16) }
        return Int(v)
    }

    public static func pci(bus: Int, slot: Int, function: Int = 0, domain: Int = 0) -> Address {
        Address(type: "pci", [("domain", hex(domain, 4)), ("bus", hex(bus, 2)), ("slot", hex(slot, 2)), ("function", "0x\(function)")])
    }

    public static func drive(controller: Int, bus: Int = 0, target: Int = 0, unit: Int) -> Address {
        Address(type: "drive", [("controller", "\(controller)"), ("bus", "\(bus)"), ("target", "\(target)"), ("unit", "\(unit)")])
    }

    static func hex(_ n: Int, _ width: Int) -> String {
        let s = String(n, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, width - s.count)) + s
    }

    func element() -> XElement {
        var e = XElement("address", [("type", type)])
        e.attributes += fields
        return e
    }

    init(_ e: XElement) {
        type = e[attribute: "type"] ?? ""
        fields = e.attributes.filter { $0.name != "type" }
    }
}

public struct Disk: Equatable, Sendable {
    /// "file" or "block".
    public var type: String
    public var device: String
    public var driverType: String?
    public var driverOther: [XElement.Attribute]
    public var source: String?
    public var sourceOther: [XElement.Attribute]
    /// What the source element holds (`<host>` of a network disk, …), kept as it is.
    public var sourceChildren: [XElement]
    public var targetDev: String
    public var targetBus: String?
    public var serial: String?
    public var shareable: Bool
    public var readonly: Bool
    public var address: Address?
    public var alias: String?
    public var other: [XElement]

    public init(type: String = "file", device: String = "disk", driverType: String?, source: String?,
                targetDev: String, targetBus: String?, serial: String?, shareable: Bool = false,
                readonly: Bool = false, address: Address? = nil) {
        self.type = type
        self.device = device
        self.driverType = driverType
        self.driverOther = []
        self.source = source
        self.sourceOther = []
        self.sourceChildren = []
        self.targetDev = targetDev
        self.targetBus = targetBus
        self.serial = serial
        self.shareable = shareable
        self.readonly = readonly
        self.address = address
        self.alias = nil
        self.other = []
    }
}

extension Disk {
    /// The same device (bus, target, address, serial, shareable, read-only) on an NBD server's
    /// Unix socket: `<disk type='network'>` with `<source protocol='nbd'><host transport='unix'
    /// socket='…'/>`. The server reads the image format, so QEMU sees raw guest-visible data.
    public func onNBDSocket(_ socket: String) -> Disk {
        var n = self
        n.type = "network"
        n.source = nil
        n.driverType = "raw"
        n.sourceOther = [XElement.Attribute("protocol", "nbd")]
        n.sourceChildren = [XElement("host", [("transport", "unix"), ("socket", socket)])]
        return n
    }
}

public struct Controller: Equatable, Sendable {
    public var type: String
    public var index: Int
    public var model: String?
    public var address: Address?
    public var other: [XElement]
    public var otherAttributes: [XElement.Attribute]

    public init(type: String, index: Int, model: String? = nil, address: Address? = nil) {
        self.type = type
        self.index = index
        self.model = model
        self.address = address
        self.other = []
        self.otherAttributes = []
    }
}
