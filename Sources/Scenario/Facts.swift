import DomainXML
import SerialPolicy
import Verifier

/// The per-disk facts of probe and guest observations.
public enum DiskFact: String, Sendable, CaseIterable {
    /// "yes" when the guest has a block device where the definition puts the disk.
    case present
    /// The serial the guest reads (bus padding removed).
    case serial
    /// The bus as the guest's kernel names it (virtio, scsi, ata, nvme).
    case bus
    /// The guest's /dev/disk/by-id names for the whole disk, sorted (guest mode).
    case byid
}

/// A fact's name, as scenario files and reports spell it (`disk.data.serial`, `smbios.uuid`).
public enum FactName: Hashable, Sendable, Comparable, CustomStringConvertible {
    case smbiosSerial
    case smbiosUUID
    case disk(String, DiskFact)
    /// Every fstab/crypttab by-id entry with whether it resolves to a disk the VM presents now.
    case fstab
    /// Windows: HardwareConfig LastConfig, the machine UUID Windows last booted on.
    case windowsMachine
    /// Windows: the disk instances Windows enumerated that the VM's disks could have produced.
    case windowsDisks
    /// Windows: MountedDevices, the drive letters and volumes Windows tied to disk signatures/GUIDs.
    case windowsMounted

    public var description: String {
        switch self {
        case .smbiosSerial: "smbios.serial"
        case .smbiosUUID: "smbios.uuid"
        case let .disk(d, f): "disk.\(d).\(f.rawValue)"
        case .fstab: "fstab"
        case .windowsMachine: "windows.machine"
        case .windowsDisks: "windows.disks"
        case .windowsMounted: "windows.mounted"
        }
    }

    public static func < (a: FactName, b: FactName) -> Bool { a.order < b.order }

    /// SMBIOS first, then disks in name order (their facts in declaration order), then the rest.
    var order: (Int, String, Int) {
        switch self {
        case .smbiosSerial: (0, "", 0)
        case .smbiosUUID: (0, "", 1)
        case let .disk(d, f): (1, d, DiskFact.allCases.firstIndex(of: f)!)
        case .fstab: (2, "", 0)
        case .windowsMachine: (3, "", 0)
        case .windowsDisks: (3, "", 1)
        case .windowsMounted: (3, "", 2)
        }
    }
}

/// What `expect` lists: one fact, every fact of a disk, both SMBIOS facts, or all.
public enum FactPattern: Hashable, Sendable, CustomStringConvertible {
    case all
    case smbios
    case disk(String)
    case windows
    case fact(FactName)

    /// Parses `all`, `smbios`, `windows`, `disk.<name>`, or a fact name; nil when it is none of them.
    public init?(_ text: String, disks: [String]) {
        switch text {
        case "all": self = .all
        case "smbios": self = .smbios
        case "windows": self = .windows
        case "smbios.serial": self = .fact(.smbiosSerial)
        case "smbios.uuid": self = .fact(.smbiosUUID)
        case "fstab": self = .fact(.fstab)
        case "windows.machine": self = .fact(.windowsMachine)
        case "windows.disks": self = .fact(.windowsDisks)
        case "windows.mounted": self = .fact(.windowsMounted)
        default:
            guard text.hasPrefix("disk.") else { return nil }
            let rest = text.dropFirst(5)
            // Disk names may hold dots: match the longest known name.
            if disks.contains(String(rest)) { self = .disk(String(rest)); return }
            guard let dot = rest.lastIndex(of: "."), let f = DiskFact(rawValue: String(rest[rest.index(after: dot)...])) else { return nil }
            let d = String(rest[..<dot])
            guard disks.contains(d) else { return nil }
            self = .fact(.disk(d, f))
        }
    }

    public var description: String {
        switch self {
        case .all: "all"
        case .smbios: "smbios"
        case .windows: "windows"
        case let .disk(d): "disk.\(d)"
        case let .fact(f): f.description
        }
    }

    /// The facts among `visible` this pattern stands for.
    public func expand(_ visible: [FactName]) -> [FactName] {
        visible.filter { f in
            switch (self, f) {
            case (.all, _): true
            case (.smbios, .smbiosSerial), (.smbios, .smbiosUUID): true
            case (.windows, .windowsMachine), (.windows, .windowsDisks), (.windows, .windowsMounted): true
            case let (.disk(d), .disk(e, _)): d == e
            case let (.fact(a), b): a == b
            default: false
            }
        }
    }
}

/// Every fact one observation yielded: its value as text ("(none)" where the guest shows nothing).
public struct Facts: Sendable, Equatable {
    public var values: [FactName: String]
    public init(_ values: [FactName: String] = [:]) { self.values = values }
    public subscript(_ f: FactName) -> String? { values[f] }
    public var names: [FactName] { values.keys.sorted() }

    public static let none = "(none)"

    /// The facts of a probe or guest report. Each disk is found by where the domain definition
    /// puts it now (its address), so a disk keeps its name across a change of bus, target or
    /// serial; `targets` maps the spec's disk names to their current `<target dev>`.
    public static func from(report: ProbeReport, domain: Domain, targets: [(name: String, target: String)], byID: Bool) -> Facts {
        var v: [FactName: String] = [:]
        v[.smbiosSerial] = report.smbiosSerial.isEmpty ? none : report.smbiosSerial
        v[.smbiosUUID] = report.smbiosUUID.isEmpty ? none : report.smbiosUUID.lowercased()
        var byLocation: [DeviceLocation: GuestDevice] = [:]
        for d in report.devices { if let l = d.location.location { byLocation[l] = d } }
        for (name, target) in targets {
            let guest = domain.devices.disks.first { $0.targetDev == target }
                .flatMap { try? DomainLocations.location(of: $0, in: domain) }
                .flatMap { byLocation[$0] }
            v[.disk(name, .present)] = guest == nil ? "no" : "yes"
            v[.disk(name, .serial)] = guest.map { $0.serial.isEmpty ? none : $0.serial } ?? none
            v[.disk(name, .bus)] = guest?.bus ?? none
            if byID {
                let names = guest.map { g in
                    report.byID.filter { $0.target == g.name && !isPartitionLink($0.name) }.map(\.name).sorted()
                } ?? []
                v[.disk(name, .byid)] = names.isEmpty ? none : names.joined(separator: ",")
            }
        }
        return Facts(v)
    }

    /// udev names a partition's link after its disk's plus `-partN`.
    static func isPartitionLink(_ name: String) -> Bool {
        guard let r = name.range(of: "-part", options: .backwards) else { return false }
        let n = name[r.upperBound...]
        return !n.isEmpty && n.allSatisfy(\.isNumber)
    }
}
