import DomainXML
import SerialPolicy
import SerialRegistry
import VMSpec

public typealias DomainDefinition = DomainXML.Domain

extension DomainDefinition {
    /// The bus a disk of this definition presents to the guest, as vmserial's serial rules know
    /// it (an NVMe disk is a virtio disk with a `<qemu:override>`); nil for buses vmserial does
    /// not model (ide, usb, …).
    public func serialBus(of disk: Disk) -> Bus? {
        isNVMe(disk) ? .nvme : Bus(rawValue: disk.targetBus ?? "virtio")
    }
}

/// Turns a validated spec and its assigned identities into a libvirt domain definition.
public enum DomainBuilder {
    /// - Parameter domainType: "kvm" or "qemu" (TCG), from `AccelResolver`.
    public static func build(spec r: ResolvedSpec, assignment a: Assignment, domainType: String) -> DomainDefinition {
        let s = r.spec
        var os = DomainDefinition.OS(arch: "x86_64", machine: s.machine.rawValue)
        switch r.boot {
        case let .kernel(kernel, initrd, cmdline):
            os.kernel = kernel
            os.initrd = initrd
            os.cmdline = cmdline
        case let .firmware(f):
            if f == .uefi { os.firmware = "efi" }
            os.bootDevices = ["hd"]
        }
        // The guest sees <sysinfo> only with <smbios mode='sysinfo'/>; libvirt requires its uuid to equal <uuid>.
        os.smbiosMode = "sysinfo"
        var system: [(name: String, value: String)] = []
        if let serial = a.smbiosSerial { system.append((name: "serial", value: serial)) }
        system.append((name: "uuid", value: a.uuid))

        var d = DomainDefinition(type: domainType, name: s.name, uuid: a.uuid, memoryKiB: UInt64(s.memoryMiB) * 1024,
                                 vcpus: s.vcpus, os: os, sysinfo: .init(system: system), features: ["acpi", "apic"],
                                 cpu: domainType == "kvm" ? XElement("cpu", [("mode", "host-passthrough")]) : nil,
                                 onPoweroff: "destroy", onReboot: "restart", onCrash: "destroy")

        for disk in r.disks {
            let serial = a.disk(named: disk.name)?.serial
            var dd = Disk(driverType: disk.format.rawValue, source: disk.source, targetDev: disk.target,
                          targetBus: disk.bus.libvirtBus, serial: serial, shareable: disk.shareable)
            if disk.bus == .nvme {
                dd.alias = QemuDeviceOverride.nvmeAlias(target: disk.target)
                d.qemuOverrides.append(.nvme(target: disk.target))
            }
            d.devices.disks.append(dd)
        }
        if r.disks.contains(where: { $0.bus == .scsi }) {
            d.devices.controllers.append(Controller(type: "scsi", index: 0, model: "virtio-scsi"))
        }
        if r.disks.contains(where: { $0.bus == .sata }) && s.machine == .pc {
            // i440fx has no AHCI of its own (q35 has one built in at 00:1f.2).
            d.devices.controllers.append(Controller(type: "sata", index: 0))
        }
        d.devices.other = [
            XElement("serial", [("type", "pty")], children: [XElement("target", [("port", "0")])]),
            XElement("console", [("type", "pty")], children: [XElement("target", [("type", "serial"), ("port", "0")])]),
        ]
        d.serialMetadata = SerialMetadata(
            smbiosMode: a.smbiosMode, smbiosSerial: a.smbiosSerial, uuid: a.uuid,
            disks: a.disks.map {
                .init(name: $0.name, volume: $0.volume.value, bus: $0.bus.rawValue, target: $0.target, serial: $0.serial, generated: $0.generated)
            })
        return d
    }

    /// The registry request for a spec.
    public static func request(for r: ResolvedSpec, hostUUID: () throws -> String) throws -> AssignmentRequest {
        let s = r.spec
        let smbiosSerial: String? = switch s.smbios.mode {
        case .custom: s.smbios.serial
        case .host: try hostUUID()
        case .unique, .none: nil
        }
        return AssignmentRequest(
            vm: s.name, uuid: s.uuid, smbiosMode: s.smbios.mode.rawValue, smbiosSerial: smbiosSerial,
            generateDiskSerials: s.generateDiskSerials,
            disks: r.disks.map { .init(name: $0.name, volume: $0.volume, bus: $0.bus, target: $0.target, source: $0.source, serial: $0.serial) },
            specJSON: resolvedJSON(r))
    }

    /// The spec with every path made absolute, so it can be launched again from anywhere.
    static func resolvedJSON(_ r: ResolvedSpec) -> String? {
        var s = r.spec
        if case let .kernel(k, i, c) = r.boot { s.boot = .kernel(kernel: k, initrd: i, cmdline: c) }
        for (i, d) in r.disks.enumerated() {
            s.disks[i].source = d.source
            s.disks[i].format = d.format
        }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(s)).map { String(decoding: $0, as: UTF8.self) }
    }
}

import Foundation
