import DomainXML
import Foundation
import SerialPolicy

/// A perturbation that cannot apply to this definition (bad input: exit 2).
public struct PerturbationError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Applies a perturbation to a domain definition the way another tool would edit it: only the
/// element it names changes; vmserial's metadata and registry are left as they are (behind their back).
public enum Perturber {
    /// `targets`: the spec's disk names → their current `<target dev>`; updated when a target moves.
    /// `copyTo` is applied by the runner (it copies a file first), then `pointed(at:)` edits the definition.
    public static func apply(_ p: Perturbation, to d: inout Domain, targets: inout [String: String]) throws {
        func index(_ name: String) throws -> Int {
            guard let t = targets[name], let i = d.devices.disks.firstIndex(where: { $0.targetDev == t }) else {
                throw PerturbationError("disk \(name) is not in the definition of \(d.name) any more")
            }
            return i
        }
        switch p {
        case let .serial(name, serial):
            d.devices.disks[try index(name)].serial = serial
        case let .swapSerials(a, b):
            let i = try index(a), j = try index(b)
            (d.devices.disks[i].serial, d.devices.disks[j].serial) = (d.devices.disks[j].serial, d.devices.disks[i].serial)
        case let .duplicateSerial(a, b):
            let i = try index(a), j = try index(b)
            guard let s = d.devices.disks[i].serial else {
                throw PerturbationError("disk \(a) has no serial to give to \(b)")
            }
            d.devices.disks[j].serial = s
        case let .smbiosSerial(serial):
            var system = d.sysinfo?.system ?? []
            system.removeAll { $0.name == "serial" }
            if let serial { system.insert((name: "serial", value: serial), at: 0) }
            if d.sysinfo == nil { d.sysinfo = .init(system: system) } else { d.sysinfo!.system = system }
            if d.os.smbiosMode == nil { d.os.smbiosMode = "sysinfo" }
        case let .smbiosUUID(uuid):
            // libvirt requires <sysinfo>'s system uuid to equal <uuid>: a move that changes one changes both.
            let new = (uuid ?? UUID().uuidString).lowercased()
            d.uuid = new
            if d.sysinfo != nil {
                if let k = d.sysinfo!.system.firstIndex(where: { $0.name == "uuid" }) { d.sysinfo!.system[k].value = new }
                else { d.sysinfo!.system.append((name: "uuid", value: new)) }
            }
        case let .target(name, target):
            let i = try index(name)
            guard !d.devices.disks.contains(where: { $0.targetDev == target }) else {
                throw PerturbationError("target \(target) is taken by another disk of \(d.name)")
            }
            retarget(&d, i, to: target)
            targets[name] = target
        case let .bus(name, bus):
            let i = try index(name)
            let wasNVMe = d.isNVMe(d.devices.disks[i])
            if d.devices.disks[i].targetBus == bus.libvirtBus, wasNVMe == (bus == .nvme) {
                throw PerturbationError("disk \(name) is on \(bus.rawValue) already")
            }
            let taken = Set(d.devices.disks.map(\.targetDev))
            let target = (0..<26).lazy.map { bus.targetPrefix + String(UnicodeScalar(UInt8(97 + $0))) }.first { !taken.contains($0) }!
            if wasNVMe { d.qemuOverrides.removeAll { $0.alias == d.devices.disks[i].alias }; d.devices.disks[i].alias = nil }
            d.devices.disks[i].targetBus = bus.libvirtBus
            d.devices.disks[i].targetDev = target
            // The old address belongs to the old bus: libvirt gives the disk one on the new bus.
            d.devices.disks[i].address = nil
            if bus == .nvme {
                d.devices.disks[i].alias = QemuDeviceOverride.nvmeAlias(target: target)
                d.qemuOverrides.append(.nvme(target: target))
            }
            if bus == .scsi, !d.devices.controllers.contains(where: { $0.type == "scsi" && $0.model == "virtio-scsi" }) {
                // Left to itself libvirt adds an LSI controller, which the guest may have no driver for; a conversion adds virtio-scsi.
                let next = (d.devices.controllers.filter { $0.type == "scsi" }.map(\.index).max() ?? -1) + 1
                d.devices.controllers.append(Controller(type: "scsi", index: next, model: "virtio-scsi"))
            }
            if bus == .sata, d.os.machine?.contains("q35") != true, !d.devices.controllers.contains(where: { $0.type == "sata" }) {
                // i440fx has no AHCI of its own.
                d.devices.controllers.append(Controller(type: "sata", index: 0))
            }
            targets[name] = target
        case .copyTo:
            throw PerturbationError("copyTo is applied by copying the disk's data first")
        }
    }

    /// The disk pointed at a new file, without its serial: what a copy by a tool that knows nothing of serials leaves.
    public static func pointed(_ d: inout Domain, disk name: String, targets: [String: String], at file: String, format: String) throws {
        guard let t = targets[name], let i = d.devices.disks.firstIndex(where: { $0.targetDev == t }) else {
            throw PerturbationError("disk \(name) is not in the definition of \(d.name) any more")
        }
        d.devices.disks[i].source = file
        d.devices.disks[i].driverType = format
        d.devices.disks[i].serial = nil
    }

    static func retarget(_ d: inout Domain, _ i: Int, to target: String) {
        if d.isNVMe(d.devices.disks[i]) {
            let old = d.devices.disks[i].alias
            d.qemuOverrides.removeAll { $0.alias == old }
            d.devices.disks[i].alias = QemuDeviceOverride.nvmeAlias(target: target)
            d.qemuOverrides.append(.nvme(target: target))
        }
        d.devices.disks[i].targetDev = target
    }
}
