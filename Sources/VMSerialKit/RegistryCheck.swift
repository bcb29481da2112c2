import DomainXML
import Foundation
import Libvirt
import SerialPolicy
import SerialRegistry

/// One way the registry and libvirt (or the registry and itself) disagree.
public enum Disagreement: Equatable, Sendable, CustomStringConvertible {
    /// The registry contradicts itself (duplicates, a volume bound to two paths): a line of `Registry.check`.
    case registry(String)
    /// libvirt's domain has another UUID than the registry gave the VM.
    case uuid(vm: String, libvirt: String, registry: String)
    /// The registry has a disk at `target` that the domain's definition lacks.
    case missingDisk(vm: String, target: String, disk: String, volume: String)
    /// The disk's serial in the definition is not the registered one.
    case serial(vm: String, target: String, volume: String, libvirt: String?, registry: String?)
    /// The disk's file in the definition (or the running guest) is not the registered path.
    case source(vm: String, target: String, volume: String, libvirt: String, registry: String)
    /// The running guest uses another file than the domain's persistent definition names (a live
    /// copy pivoted, the definition not yet written).
    case liveSource(vm: String, target: String, volume: String, running: String, defined: String)
    /// A domain carries vmserial's metadata, but the registry has no record of the VM (looked for
    /// only with `RegistryCheck.only`: a host may hold the domains of several registries).
    case unregistered(vm: String)

    /// The VM the disagreement is about (nil for the registry's own findings).
    public var vm: String? {
        switch self {
        case .registry: nil
        case let .uuid(vm, _, _), let .missingDisk(vm, _, _, _), let .serial(vm, _, _, _, _), let .source(vm, _, _, _, _),
             let .liveSource(vm, _, _, _, _), let .unregistered(vm):
            vm
        }
    }

    /// A stable name for JSON.
    public var kind: String {
        switch self {
        case .registry: "registry"
        case .uuid: "uuid"
        case .missingDisk: "missing-disk"
        case .serial: "serial"
        case .source: "source"
        case .liveSource: "live-source"
        case .unregistered: "unregistered"
        }
    }

    public var description: String {
        switch self {
        case let .registry(line):
            line
        case let .uuid(vm, libvirt, registry):
            "domain \(vm): libvirt has UUID \(libvirt), the registry \(registry)"
        case let .missingDisk(vm, target, disk, volume):
            "domain \(vm): no disk \(target) in libvirt, the registry has disk \(disk) (volume \(volume)) there"
        case let .serial(vm, target, volume, libvirt, registry):
            "domain \(vm) disk \(target) (volume \(volume)): libvirt has serial \(libvirt ?? "(none)"), the registry \(registry ?? "(none)")"
        case let .source(vm, target, volume, libvirt, registry):
            "domain \(vm) disk \(target) (volume \(volume)): libvirt uses \(libvirt), the registry has \(registry)"
        case let .liveSource(vm, target, volume, running, defined):
            "domain \(vm) disk \(target) (volume \(volume)): the running guest uses \(running), its definition names \(defined)"
        case let .unregistered(vm):
            "domain \(vm) carries vmserial's metadata, but the registry has no record of it"
        }
    }
}

/// What `registry check --repair` did about one disagreement.
public struct RepairOutcome: Equatable, Sendable {
    public enum Result: String, Sendable {
        /// Settled: registry and libvirt agree on it now.
        case repaired
        /// Left as it was; `command` settles it.
        case unresolved
    }

    public var disagreement: Disagreement
    public var result: Result
    /// What was done, or why it could not be.
    public var detail: String
    /// For an unresolved one: the command that settles it.
    public var command: String?

    public init(disagreement: Disagreement, result: Result, detail: String, command: String?) {
        self.disagreement = disagreement
        self.result = result
        self.detail = detail
        self.command = command
    }
}

/// The comparison behind `vmserial registry check`, and its repair. The registry is where
/// assignments live: a repair brings libvirt to it, or re-points a volume's recorded path to
/// the file the domain really uses when that file holds the volume's data. It never invents a
/// serial and never drops one: what it cannot settle that way it reports, with the command that does.
public struct RegistryCheck {
    public let registry: any Registry
    public let connection: Connection?
    /// Only this VM (its registry entry and its domain); the registry's own findings still count.
    public var only: String?
    public var log: (String) -> Void = { _ in }

    public init(registry: any Registry, connection: Connection?) {
        self.registry = registry
        self.connection = connection
    }

    /// Every disagreement: the registry's own findings, then (with a connection) each VM's against its domain.
    public func disagreements() throws -> [Disagreement] {
        var found = try registry.check().map(Disagreement.registry)
        guard let connection else { return found }
        let assignments = try registry.assignments().filter { only == nil || $0.vm == only }
        for a in assignments {
            found += try Self.compare(a, with: connection)
        }
        // A host may hold the domains of several registries: one the registry does not know is
        // named only when asked about (`only`), e.g. a launch killed before its commit.
        guard let only, !assignments.contains(where: { $0.vm == only }) else { return found }
        for name in try connection.listDomainNames() where name == only {
            guard let dom = try? connection.lookupDomain(name: name), (try? dom.isPersistent) == true,
                  let xml = try? dom.xmlDesc(inactive: true), let def = try? DomainXML.Domain(xml: xml),
                  SerialMetadata(metadata: def.metadata) != nil else { continue }
            found.append(.unregistered(vm: name))
        }
        return found
    }

    /// One VM's registry entry against its domain (none when libvirt has no such domain).
    public static func compare(_ a: Assignment, with connection: Connection) throws -> [Disagreement] {
        guard (try? connection.domainExists(name: a.vm)) == true else { return [] }
        let dom = try connection.lookupDomain(name: a.vm)
        let def = try DomainXML.Domain(xml: dom.xmlDesc(inactive: true))
        // The running guest's view counts, unless it is a vmserial run (a probe or guest boot over
        // overlays or disk servers in a run folder): those files are not the domain's.
        let liveXML = (try? dom.isActive) == true ? try? dom.xmlDesc(inactive: false) : nil
        let running = liveXML.flatMap { $0.contains(HostPaths.runDirectory + "/") || $0.contains("/vmserial-nbd.") ? nil : try? DomainXML.Domain(xml: $0) }
        var found: [Disagreement] = []
        if let uuid = def.uuid, uuid.lowercased() != a.uuid {
            found.append(.uuid(vm: a.vm, libvirt: uuid.lowercased(), registry: a.uuid))
        }
        for d in a.disks {
            guard let disk = def.devices.disks.first(where: { $0.targetDev == d.target }) else {
                found.append(.missingDisk(vm: a.vm, target: d.target, disk: d.name, volume: d.volume.value))
                continue
            }
            let have = disk.serial?.trimmingCharacters(in: .whitespaces)
            if have != d.serial {
                found.append(.serial(vm: a.vm, target: d.target, volume: d.volume.value, libvirt: have, registry: d.serial))
            }
            let live = running?.devices.disks.first { $0.targetDev == d.target }?.source
            if let live, let defined = disk.source, standard(live) != standard(defined) {
                found.append(.liveSource(vm: a.vm, target: d.target, volume: d.volume.value, running: live, defined: defined))
            }
            if let used = live ?? disk.source, standard(used) != standard(d.source) {
                found.append(.source(vm: a.vm, target: d.target, volume: d.volume.value, libvirt: used, registry: d.source))
            }
        }
        return found
    }

    static func standard(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.path }

    /// Settles what it can, one disagreement at a time, and says what it did about each.
    public func repair() throws -> [RepairOutcome] {
        let found = try disagreements()
        var outcomes: [RepairOutcome] = []
        for d in found {
            outcomes.append(try repair(d))
        }
        return outcomes
    }

    func unresolved(_ d: Disagreement, _ detail: String, _ command: String) -> RepairOutcome {
        RepairOutcome(disagreement: d, result: .unresolved, detail: detail, command: command)
    }

    func repaired(_ d: Disagreement, _ detail: String) -> RepairOutcome {
        log(detail)
        return RepairOutcome(disagreement: d, result: .repaired, detail: detail, command: nil)
    }

    func repair(_ d: Disagreement) throws -> RepairOutcome {
        guard let connection else {
            return unresolved(d, "the registry contradicts itself; it holds the assignments, so vmserial does not guess which row is right",
                              "vmserial registry export > registry.json  (then correct the rows and import them into a new registry)")
        }
        switch d {
        case .registry:
            return unresolved(d, "the registry contradicts itself; it holds the assignments, so vmserial does not guess which row is right",
                              "vmserial registry export > registry.json  (then correct the rows and import them into a new registry)")
        case let .uuid(vm, _, _), let .missingDisk(vm, _, _, _):
            return unresolved(d, "the domain's definition was replaced outside vmserial",
                              "vmserial launch SPEC --no-start  (the spec of \(vm): the definition is made again from the registry's assignment)")
        case let .unregistered(vm):
            return unresolved(d, "no assignment to bring the domain back to; the serials in its definition were never recorded (a launch that did not complete, or another registry)",
                              "virsh undefine \(vm)  (then `vmserial launch SPEC`), or pass the --registry it was launched with")
        case let .serial(vm, target, _, _, registry):
            guard let registry else {
                return unresolved(d, "the registry has no serial for this disk and vmserial never invents one",
                                  "vmserial launch SPEC --no-start  (the spec of \(vm))")
            }
            try redefine(vm, connection) { def in
                guard let i = def.devices.disks.firstIndex(where: { $0.targetDev == target }) else { return false }
                def.devices.disks[i].serial = registry
                return true
            }
            return repaired(d, "domain \(vm) disk \(target): the registered serial \(registry) is in the definition again (from its next boot)")
        case let .liveSource(vm, target, _, running, _):
            // The guest writes to `running` since the pivot: the definition must name it.
            guard FileManager.default.fileExists(atPath: running) else {
                return unresolved(d, "the running guest's file \(running) is not there", "virsh dumpxml \(vm)")
            }
            try redefine(vm, connection) { def in
                guard let i = def.devices.disks.firstIndex(where: { $0.targetDev == target }) else { return false }
                def.devices.disks[i].source = running
                def.devices.disks[i].driverType = (try? Self.imageInfo(running))?.format ?? def.devices.disks[i].driverType
                return true
            }
            return repaired(d, "domain \(vm) disk \(target): the definition names \(running) again, the file the running guest uses")
        case let .source(vm, target, volume, used, recorded):
            return try repoint(d, vm: vm, target: target, volume: volume, used: used, recorded: recorded)
        }
    }

    /// The registry follows the file the domain uses when that file holds the volume's data: an
    /// image that opens, with the same guest-visible size as the registered file (when that one is still there).
    func repoint(_ d: Disagreement, vm: String, target: String, volume: String, used: String, recorded: String) throws -> RepairOutcome {
        let settle = "vmserial launch SPEC --no-start  (with disk \(target)'s \"source\" set to the file that holds its data)"
        guard let usedInfo = try? Self.imageInfo(used) else {
            return unresolved(d, "the domain's file \(used) is missing or not a disk image; the registry keeps \(recorded)", settle)
        }
        if FileManager.default.fileExists(atPath: recorded) {
            guard let old = try? Self.imageInfo(recorded), old.virtualSize == usedInfo.virtualSize else {
                return unresolved(d, "\(used) and the registered \(recorded) do not hold a disk of the same size; vmserial does not guess which is the volume's data", settle)
            }
        }
        let id = VolumeIdentity(volume)
        try registry.recordMove(volume: id, from: recorded, to: used) {}
        return repaired(d, "volume \(volume) (disk \(target) of \(vm)): the registry records \(used), the file the domain uses (was \(recorded)); its serial is unchanged")
    }

    /// Rewrites the persistent definition (the running guest keeps its own until its next boot).
    func redefine(_ vm: String, _ connection: Connection, _ change: (inout DomainDefinition) -> Bool) throws {
        let dom = try connection.lookupDomain(name: vm)
        var def = try DomainDefinition(xml: dom.xmlDesc(inactive: true))
        guard change(&def) else { throw VMSerialError.failed("domain \(vm) changed while it was being repaired; run the check again") }
        do {
            _ = try connection.defineDomain(xml: def.xml())
        } catch let e as LibvirtError {
            throw VMSerialError.failed("libvirt refused the repaired definition of \(vm): \(e.message)")
        }
    }

    /// `qemu-img info` of a file: its format and guest-visible size.
    static func imageInfo(_ path: String) throws -> (format: String, virtualSize: UInt64) {
        let out = try Tool.run("qemu-img", ["info", "--output=json", "-U", path])
        let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        guard let format = obj?["format"] as? String, let size = Migrator.byteCount(obj?["virtual-size"]) else {
            throw VMSerialError.failed("qemu-img info of \(path) gave no format or size")
        }
        return (format, size)
    }
}
