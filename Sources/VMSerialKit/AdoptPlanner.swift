import DomainXML
import SerialPolicy
import SerialRegistry

/// What `adopt --smbios` does with the domain's SMBIOS identity.
public enum AdoptSMBIOS: String, Sendable, CaseIterable {
    /// Register what the guest sees now (the `<sysinfo>` serial under `<smbios mode='sysinfo'/>`,
    /// or no serial) and change nothing.
    case keep
    /// Give the domain vmserial's: serial = its UUID, presented through `<sysinfo>` (as launch does).
    case unique
}

public struct AdoptOptions: Sendable {
    /// Give every disk without a `<serial>` a generated one.
    public var generateMissing: Bool
    public var smbios: AdoptSMBIOS
    /// Volume identity by target (`--volume vdb=shared-data`); otherwise `<domain>/<target>`.
    public var volumes: [String: String]
    public var dryRun: Bool

    public init(generateMissing: Bool = false, smbios: AdoptSMBIOS = .keep, volumes: [String: String] = [:], dryRun: Bool = false) {
        self.generateMissing = generateMissing
        self.smbios = smbios
        self.volumes = volumes
        self.dryRun = dryRun
    }

    /// Parses `--volume TARGET=ID` values; a bad or repeated one is bad input.
    public static func volumes(_ values: [String]) throws -> [String: String] {
        var map: [String: String] = [:]
        for v in values {
            let parts = v.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw VMSerialError.badInput("--volume \(v): write TARGET=ID, e.g. --volume vdb=team-share")
            }
            guard map[parts[0]] == nil else {
                throw VMSerialError.badInput("--volume names target \(parts[0]) twice; give each target one volume")
            }
            map[parts[0]] = parts[1]
        }
        return map
    }
}

/// What adopt reads from a domain definition and what it would write back: pure, no libvirt,
/// no registry, so each rule is tested on its own.
public enum AdoptPlanner {
    /// The `<disk type=…>` kinds adopt takes: an image file or a block device on this host,
    /// whose path the registry binds the volume to. Network disks (nbd, iscsi, rbd, gluster…),
    /// storage-pool volumes (`type='volume'`), host NVMe (`type='nvme'`), vhost-user and
    /// directories are refused: their identity is not a host path vmserial can follow.
    public static let supportedDiskTypes = ["file", "block"]

    public struct Plan: Sendable {
        /// What the registry is asked for: the domain's UUID pinned, its serials as they are.
        public var request: AssignmentRequest
        /// `<disk>` devices that are not volumes (cdrom, floppy), left as they are: one line each.
        public var skipped: [String]
    }

    /// Reads the domain's disks and SMBIOS identity; every reason it cannot be adopted is
    /// reported at once (bad input), nothing is fixed silently.
    /// - Parameter known: the registry's entry for the domain, when it has one (a launched or
    ///   adopted VM): a disk at a target it knows keeps its name and volume.
    public static func plan(_ root: XElement, options: AdoptOptions, known: Assignment? = nil) throws -> Plan {
        let domain: DomainDefinition
        do {
            domain = try DomainDefinition(element: root)
        } catch {
            throw VMSerialError.badInput("cannot read the domain definition: \(error)")
        }
        let name = domain.name
        var problems: [String] = []
        guard NameRules.isValidVMName(name) else {
            throw VMSerialError.badInput("cannot adopt \(name): vmserial names VMs with letters, digits, '_', '.', '-' only (the name becomes part of volume identities and file names); rename the domain (`virsh domrename`) first")
        }
        guard let uuid = domain.uuid?.lowercased() else {
            throw VMSerialError.badInput("cannot adopt \(name): its definition has no <uuid>")
        }

        var disks: [AssignmentRequest.DiskRequest] = []
        var skipped: [String] = []
        var targets: Set<String> = []
        for d in domain.devices.disks {
            let target = d.targetDev
            switch d.device {
            case "cdrom", "floppy":
                skipped.append("\(target) (\(d.device)): not a volume, left as it is")
                continue
            case "disk":
                break
            default:
                problems.append("disk \(target) is device='\(d.device)': it passes a host device through, whose serial is the host's; adopt takes device='disk' only. Detach it (`virsh detach-disk \(name) \(target) --config`) or leave the domain unadopted")
                continue
            }
            targets.insert(target)
            guard supportedDiskTypes.contains(d.type) else {
                let detail = d.type == "network" ? " (protocol \(d.sourceOther.first { $0.name == "protocol" }?.value ?? "?"))" : ""
                problems.append("disk \(target) is type='\(d.type)'\(detail): adopt supports file and block disks only (the registry binds a volume to a path on this host); convert it to a local image or detach it")
                continue
            }
            let bus: Bus
            if domain.isNVMe(d) {
                bus = .nvme
            } else if let b = d.targetBus.flatMap(Bus.init(rawValue:)), b != .nvme {
                bus = b
            } else {
                problems.append("disk \(target) is on bus \(d.targetBus ?? "(none)"): vmserial knows the serial rules of virtio, scsi, sata and nvme only; move the disk to one of those buses (`virsh edit \(name)`) before adopting")
                continue
            }
            guard let source = d.source, !source.isEmpty else {
                problems.append("disk \(target) has no source (an empty drive); give it an image or detach it")
                continue
            }
            if let serial = d.serial {
                for p in SerialRules.problems(serial: serial, bus: bus) {
                    problems.append(serialProblem(domain: name, target: target, bus: bus, serial: serial, problem: p))
                }
            }
            let previous = known?.disks.first { $0.target == target }
            let diskName = previous?.name ?? target
            let volume = options.volumes[target].map(VolumeIdentity.init) ?? previous?.volume ?? VolumeIdentity.of(vm: name, disk: target, volume: nil)
            if !volume.isValid {
                problems.append("--volume \(target)=\(volume.value): a volume identity may not be empty or hold white space or control characters")
            }
            disks.append(.init(name: diskName, volume: volume, bus: bus, target: target, source: source, serial: d.serial))
        }
        for t in options.volumes.keys.sorted() where !targets.contains(t) {
            problems.append("--volume \(t)=…: \(name) has no disk with target \(t) (its disks: \(targets.sorted().joined(separator: ", ")))")
        }

        var smbiosMode = "unique"
        var smbiosSerial: String?
        if options.smbios == .keep {
            switch domain.os.smbiosMode {
            case "sysinfo":
                if domain.sysinfo?[system: "serial"] == uuid {
                    // Launch's unique (or a domain made the same way): registered as such, so
                    // `keep` on a launched or `--smbios unique` domain changes nothing.
                    smbiosMode = "unique"
                } else if let s = domain.sysinfo?[system: "serial"], !s.isEmpty {
                    smbiosMode = "custom"
                    smbiosSerial = s
                } else {
                    smbiosMode = "none"
                }
            case nil, "emulate":
                // Without <smbios mode='sysinfo'/> the guest does not see <sysinfo>: QEMU gives no serial.
                smbiosMode = "none"
            default:
                problems.append("\(name) presents the host's own SMBIOS table (<smbios mode='\(domain.os.smbiosMode ?? "")'/>): --smbios keep cannot register a serial that belongs to the host; use --smbios unique to give the VM its own")
            }
        }
        if !problems.isEmpty {
            throw VMSerialError.badInput("cannot adopt \(name); nothing was written. " + (problems.count == 1 ? problems[0] : "\(problems.count) problems:\n  - " + problems.joined(separator: "\n  - ")))
        }
        let request = AssignmentRequest(vm: name, uuid: uuid, smbiosMode: smbiosMode, smbiosSerial: smbiosSerial,
                                        generateDiskSerials: options.generateMissing, disks: disks, specJSON: nil)
        return Plan(request: request, skipped: skipped)
    }

    /// A serial the bus cannot carry, with the limit and what the user can do: adopt never
    /// truncates or rewrites a serial the guest may already know.
    static func serialProblem(domain: String, target: String, bus: Bus, serial: String, problem: SerialProblem) -> String {
        switch problem {
        case let .tooLong(length, limit, _):
            let other = bus == .scsi ? "" : " or move the disk to scsi, which keeps 36"
            return "disk \(target) (\(bus.rawValue)) has serial '\(serial)' of \(length) characters, but \(bus.rawValue) keeps at most \(limit) (QEMU cuts the rest silently, so the guest already sees a shorter one); adopt never rewrites a serial: shorten it yourself (`virsh edit \(domain)`)\(other)"
        case .badCharacters:
            return "disk \(target) (\(bus.rawValue)) has serial '\(serial)': \(problem); adopt never rewrites a serial: change it yourself (`virsh edit \(domain)`) to letters, digits and _ . + - only"
        case .empty:
            return "disk \(target) (\(bus.rawValue)) has an empty <serial>; remove the element (`virsh edit \(domain)`) or give it a serial"
        }
    }

    /// The definition with the assignment applied: a `<serial>` on each disk the registry gave
    /// one it lacks, vmserial's SMBIOS serial for `unique`, and vmserial's `<metadata>` record.
    /// Everything else in the tree stays as it was, element for element. Returns the changes,
    /// one sentence each (empty: nothing to redefine).
    public static func edit(_ original: XElement, assignment a: Assignment) -> (XElement, [String]) {
        var root = original
        var changes: [String] = []

        if var devices = root.first("devices"), let di = root.children.firstIndex(where: { $0.elementName == "devices" }) {
            for i in devices.children.indices {
                guard case var .element(disk) = devices.children[i], disk.name == "disk",
                      let target = disk.first("target")?[attribute: "dev"],
                      let assigned = a.disks.first(where: { $0.target == target }), let serial = assigned.serial,
                      disk.first("serial") == nil
                else { continue }
                insert(XElement("serial", text: serial), into: &disk,
                       before: ["wwn", "vendor", "product", "encryption", "boot", "alias", "address"])
                devices.children[i] = .element(disk)
                changes.append("disk \(target) (\(assigned.bus.rawValue)): serial \(serial) added (\(assigned.generated ? "generated" : "the registry's, for volume \(assigned.volume)"))")
            }
            root.children[di] = .element(devices)
        }

        if a.smbiosMode == "unique", let serial = a.smbiosSerial {
            changes += presentSMBIOSSerial(serial, in: &root)
        }

        let record = SerialMetadata(
            smbiosMode: a.smbiosMode, smbiosSerial: a.smbiosSerial, uuid: a.uuid,
            disks: a.disks.map { .init(name: $0.name, volume: $0.volume.value, bus: $0.bus.rawValue, target: $0.target, serial: $0.serial, generated: $0.generated) })
        let existing = root.first("metadata").map { $0.elements } ?? []
        if SerialMetadata(metadata: existing) != record {
            var metadata = root.first("metadata") ?? XElement("metadata")
            metadata.children.removeAll { if case let .element(e) = $0 { SerialMetadata(metadata: [e]) != nil } else { false } }
            metadata.children.append(.element(record.element()))
            if let mi = root.children.firstIndex(where: { $0.elementName == "metadata" }) {
                root.children[mi] = .element(metadata)
            } else {
                insert(metadata, into: &root, after: ["name", "uuid", "genid", "title", "description"])
            }
            changes.append("metadata: vmserial's record (\(SerialMetadata.namespace)) \(existing.contains { SerialMetadata(metadata: [$0]) != nil } ? "updated" : "added")")
        }
        return (root, changes)
    }

    /// `<sysinfo type='smbios'><system><entry name='serial'>` = `serial`, shown to the guest by
    /// `<os><smbios mode='sysinfo'/>`. Returns what changed.
    static func presentSMBIOSSerial(_ serial: String, in root: inout XElement) -> [String] {
        var changes: [String] = []
        var sysinfo = root.first("sysinfo") ?? XElement("sysinfo", [("type", "smbios")])
        var system = sysinfo.first("system") ?? XElement("system")
        let current = system.all("entry").first { $0[attribute: "name"] == "serial" }?.text
        if current != serial {
            if let i = system.children.firstIndex(where: { if case let .element(e) = $0 { e.name == "entry" && e[attribute: "name"] == "serial" } else { false } }) {
                system.children[i] = .element(XElement("entry", [("name", "serial")], text: serial))
                changes.append("smbios: serial \(current ?? "") replaced by \(serial) (the VM's UUID, --smbios unique)")
            } else {
                // libvirt's order: manufacturer, product, version, serial, uuid, sku, family.
                insert(XElement("entry", [("name", "serial")], text: serial), into: &system, before: ["uuid", "sku", "family"], matching: { e, names in
                    e.name == "entry" && names.contains(e[attribute: "name"] ?? "")
                })
                changes.append("smbios: serial \(serial) added (the VM's UUID, --smbios unique)")
            }
            if let i = sysinfo.children.firstIndex(where: { $0.elementName == "system" }) {
                sysinfo.children[i] = .element(system)
            } else {
                sysinfo.children.insert(.element(system), at: sysinfo.children.firstIndex { $0.elementName == "bios" }.map { $0 + 1 } ?? 0)
            }
            if let i = root.children.firstIndex(where: { $0.elementName == "sysinfo" }) {
                root.children[i] = .element(sysinfo)
            } else {
                insert(sysinfo, into: &root, before: ["bootloader", "bootloader_args", "os"])
            }
        }
        if var os = root.first("os"), let oi = root.children.firstIndex(where: { $0.elementName == "os" }) {
            let mode = os.first("smbios")?[attribute: "mode"]
            if mode != "sysinfo" {
                if let si = os.children.firstIndex(where: { $0.elementName == "smbios" }) {
                    os.children[si] = .element(XElement("smbios", [("mode", "sysinfo")]))
                } else {
                    os.children.append(.element(XElement("smbios", [("mode", "sysinfo")])))
                }
                root.children[oi] = .element(os)
                changes.append("os: <smbios mode='sysinfo'/> \(mode.map { "replaces mode '\($0)'" } ?? "added"), so the guest sees <sysinfo>")
            }
        }
        return changes
    }

    static func insert(_ child: XElement, into parent: inout XElement, before names: Set<String>,
                       matching: (XElement, Set<String>) -> Bool = { e, names in names.contains(e.name) }) {
        let i = parent.children.firstIndex { if case let .element(e) = $0 { matching(e, names) } else { false } }
        parent.children.insert(.element(child), at: i ?? parent.children.endIndex)
    }

    static func insert(_ child: XElement, into parent: inout XElement, after names: Set<String>) {
        let last = parent.children.lastIndex { if case let .element(e) = $0 { names.contains(e.name) } else { false } }
        parent.children.insert(.element(child), at: last.map { $0 + 1 } ?? 0)
    }
}

extension XElement.Node {
    var elementName: String? {
        if case let .element(e) = self { e.name } else { nil }
    }
}
