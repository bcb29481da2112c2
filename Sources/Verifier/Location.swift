import DomainXML

/// Where a disk sits, in terms both the domain XML and the guest's sysfs can express:
/// the chain of PCI (slot, function) pairs from the root bus, then the unit on the
/// SCSI or ATA controller. Bus numbers are left out on purpose: firmware numbers
/// bridges itself, but slots along the path are fixed by the definition.
public struct DeviceLocation: Hashable, Sendable, CustomStringConvertible {
    public var pciPath: [PCISlot]
    /// virtio-scsi: (channel, target, lun) = libvirt (bus, target, unit).
    public var scsi: SCSIAddress?
    /// AHCI port, 0-based (libvirt's `unit`).
    public var ataPort: Int?

    public struct PCISlot: Hashable, Sendable {
        public var slot: Int
        public var function: Int
        public init(_ slot: Int, _ function: Int) {
            self.slot = slot
            self.function = function
        }
    }

    public struct SCSIAddress: Hashable, Sendable {
        public var channel: Int
        public var target: Int
        public var lun: Int
        public init(channel: Int, target: Int, lun: Int) {
            self.channel = channel
            self.target = target
            self.lun = lun
        }
    }

    public init(pciPath: [PCISlot], scsi: SCSIAddress? = nil, ataPort: Int? = nil) {
        self.pciPath = pciPath
        self.scsi = scsi
        self.ataPort = ataPort
    }

    public var description: String {
        var s = "pci " + pciPath.map { String(format2: $0.slot) + ".\($0.function)" }.joined(separator: "/")
        if let scsi { s += " scsi \(scsi.channel):\(scsi.target):\(scsi.lun)" }
        if let ataPort { s += " ata port \(ataPort)" }
        return s
    }
}

extension String {
    init(format2 n: Int) {
        let h = String(n, radix: 16)
        self = h.count < 2 ? "0" + h : h
    }
}

/// The guest side: parsed from `readlink -f /sys/block/X`.
public struct GuestLocation: Sendable {
    public let location: DeviceLocation?

    public init(sysfsPath: String, ataPort: Int?) {
        var pci: [DeviceLocation.PCISlot] = []
        var scsi: DeviceLocation.SCSIAddress?
        var sawATA = false
        for comp in sysfsPath.split(separator: "/") {
            // 0000:00:05.0 → slot 5, function 0
            let p = comp.split(separator: ":")
            if p.count == 3, p[0].count == 4, p[1].count == 2, let dot = p[2].firstIndex(of: "."),
               let slot = Int(p[2][..<dot], radix: 16), let fn = Int(p[2][p[2].index(after: dot)...], radix: 16) {
                pci.append(.init(slot, fn))
            } else if p.count == 4, let c = Int(p[1]), let t = Int(p[2]), let l = Int(p[3]), Int(p[0]) != nil {
                scsi = .init(channel: c, target: t, lun: l)
            } else if comp.hasPrefix("ata"), Int(comp.dropFirst(3)) != nil {
                sawATA = true
            }
        }
        if pci.isEmpty {
            location = nil
        } else if sawATA {
            // The kernel numbers ATA ports from 1; libvirt's unit is 0-based.
            location = DeviceLocation(pciPath: pci, ataPort: ataPort.map { $0 - 1 })
        } else {
            location = DeviceLocation(pciPath: pci, scsi: scsi)
        }
    }
}

/// The domain side: computed from a defined domain's addresses and controllers.
public enum DomainLocations {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case noAddress(disk: String)
        case noController(disk: String, type: String, index: Int)
        case badBridge(index: Int)

        public var description: String {
            switch self {
            case let .noAddress(d): "disk \(d) has no address in the domain definition (define it in libvirt first)"
            case let .noController(d, t, i): "disk \(d) refers to \(t) controller \(i), which the domain lacks"
            case let .badBridge(i): "PCI controller \(i) has no address"
            }
        }
    }

    /// PCI path of a device at `address` (type pci), walking up through PCI controllers.
    public static func pciPath(of address: Address, in domain: Domain) throws -> [DeviceLocation.PCISlot] {
        var path: [DeviceLocation.PCISlot] = [.init(address.number("slot") ?? 0, address.number("function") ?? 0)]
        var bus = address.number("bus") ?? 0
        var guardCount = 0
        while bus != 0 && guardCount < 32 {
            guard let bridge = domain.devices.controllers.first(where: { $0.type == "pci" && $0.index == bus }),
                  let a = bridge.address, a.type == "pci" else { throw Failure.badBridge(index: bus) }
            path.insert(.init(a.number("slot") ?? 0, a.number("function") ?? 0), at: 0)
            bus = a.number("bus") ?? 0
            guardCount += 1
        }
        return path
    }

    /// Where `disk` (a libvirt disk of `domain`) must appear in the guest.
    public static func location(of disk: Disk, in domain: Domain) throws -> DeviceLocation {
        guard let a = disk.address else { throw Failure.noAddress(disk: disk.targetDev) }
        switch a.type {
        case "pci":
            return DeviceLocation(pciPath: try pciPath(of: a, in: domain))
        case "drive":
            let type = disk.targetBus == "scsi" ? "scsi" : (disk.targetBus == "sata" ? "sata" : disk.targetBus ?? "")
            let index = a.number("controller") ?? 0
            guard let c = domain.devices.controllers.first(where: { $0.type == type && $0.index == index }),
                  let ca = c.address, ca.type == "pci" else {
                throw Failure.noController(disk: disk.targetDev, type: type, index: index)
            }
            let path = try pciPath(of: ca, in: domain)
            if type == "scsi" {
                return DeviceLocation(pciPath: path, scsi: .init(channel: a.number("bus") ?? 0, target: a.number("target") ?? 0,
                                                                 lun: a.number("unit") ?? 0))
            }
            return DeviceLocation(pciPath: path, ataPort: a.number("unit") ?? 0)
        default:
            throw Failure.noAddress(disk: disk.targetDev)
        }
    }
}
