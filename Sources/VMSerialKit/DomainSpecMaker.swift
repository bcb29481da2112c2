import DomainXML
import Foundation
import SerialPolicy
import SerialRegistry
import VMSpec

/// `vmserial spec --domain`: a VM spec that launches a domain equivalent to a defined one: the
/// same name, UUID, size, machine, boot, SMBIOS identity and disks (buses, targets, volumes,
/// serials). What a spec cannot say (network, graphics, USB, …) is listed as a warning.
public enum DomainSpecMaker {
    /// - Parameters:
    ///   - assignment: the registry's entry for the domain, when vmserial knows it: disk names,
    ///     volumes and the SMBIOS mode come from there. Generated serials are left out of the spec
    ///     (the volume brings them back from the registry, as a launched VM's spec does).
    ///   - checkFiles: the spec is validated as launch would; false skips the files' existence.
    public static func spec(from d: DomainDefinition, assignment a: Assignment?, checkFiles: Bool = true) throws -> (spec: VMSpec, warnings: [String]) {
        var warnings: [String] = []
        let machine: VMSpec.Machine
        switch d.os.machine ?? "pc" {
        case let m where m.contains("q35"): machine = .q35
        case let m where m == "pc" || m.hasPrefix("pc-i440fx") || m.hasPrefix("pc-"): machine = .pc
        case let m:
            warnings.append("machine \(m) is neither pc nor q35: the spec says pc")
            machine = .pc
        }
        let boot: VMSpec.Boot
        if let kernel = d.os.kernel {
            boot = .kernel(kernel: kernel, initrd: d.os.initrd, cmdline: d.os.cmdline)
        } else if d.os.firmware == "efi" || d.os.other.contains(where: { $0.name == "loader" }) {
            boot = .firmware(.uefi)
        } else {
            boot = .firmware(.bios)
        }
        if d.memoryKiB % 1024 != 0 { warnings.append("memory \(d.memoryKiB) KiB is rounded down to whole MiB") }

        let smbios: VMSpec.SMBIOS
        if let a {
            smbios = switch a.smbiosMode {
            case "unique": .init(mode: .unique)
            case "host": .init(mode: .host)
            case "custom": .init(mode: .custom, serial: a.smbiosSerial)
            default: .init(mode: .none)
            }
        } else if d.os.smbiosMode == "sysinfo", let s = d.sysinfo?[system: "serial"] {
            smbios = s == d.uuid?.lowercased() ? .init(mode: .unique) : .init(mode: .custom, serial: s)
        } else {
            smbios = .init(mode: .none)
        }

        var disks: [VMSpec.Disk] = []
        var withoutSerial = false
        for disk in d.devices.disks {
            guard disk.device == "disk" else {
                warnings.append("\(disk.targetDev) (\(disk.device)) is not a disk a spec can hold: left out")
                continue
            }
            let assigned = a?.disks.first { $0.target == disk.targetDev }
            guard let source = disk.source, ["file", "block"].contains(disk.type) else {
                warnings.append("disk \(disk.targetDev) (type \(disk.type)) has no local file or device: left out")
                continue
            }
            let bus: Bus
            if let assigned { bus = assigned.bus } else if d.isNVMe(disk) { bus = .nvme } else if let b = disk.targetBus.flatMap(Bus.init(rawValue:)) { bus = b } else {
                warnings.append("disk \(disk.targetDev) is on bus \(disk.targetBus ?? "?"), which a spec cannot hold: left out")
                continue
            }
            let name = assigned?.name ?? disk.targetDev
            let volume = assigned.map(\.volume.value).flatMap { $0 == "\(d.name)/\(name)" ? nil : $0 }
            let serial = assigned.map { $0.generated ? nil : $0.serial } ?? disk.serial
            if (assigned.map { $0.serial == nil } ?? (disk.serial == nil)) { withoutSerial = true }
            let format = disk.driverType.flatMap(VMSpec.Disk.Format.init(rawValue:))
            if format == nil { warnings.append("disk \(name): format \(disk.driverType ?? "(none)") is not qcow2 or raw; launch reads it from the file") }
            if disk.type == "block" { warnings.append("disk \(name): \(source) is a block device; a launched domain opens it as a file") }
            disks.append(VMSpec.Disk(name: name, volume: volume, source: source, format: format, bus: bus,
                                     target: disk.targetDev, serial: serial, shareable: disk.shareable))
        }
        // Devices launch makes itself (a serial console, the scsi/sata controllers) are not lost.
        let launchMakes: Set = ["serial", "console"]
        let dropped = Set(d.devices.other.map(\.name)).subtracting(launchMakes).sorted()
        if !dropped.isEmpty {
            warnings.append("a spec does not carry these devices of \(d.name): \(dropped.joined(separator: ", ")); a domain launched from it has disks, a serial console and nothing else")
        }
        let spec = VMSpec(name: d.name, uuid: d.uuid?.lowercased(), memoryMiB: Int(d.memoryKiB / 1024), vcpus: d.vcpus,
                          accel: d.type == "kvm" ? .kvm : .tcg, machine: machine, boot: boot, smbios: smbios,
                          generateDiskSerials: !withoutSerial, disks: disks)
        _ = try SpecValidator.resolve(spec, specPath: nil, baseDirectory: "/", checkFiles: checkFiles)
        return (spec, warnings)
    }

    public static func json(_ spec: VMSpec) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? e.encode(spec)) ?? Data(), as: UTF8.self) + "\n"
    }
}
