import DomainXML
import Foundation
import Libvirt
import Scenario
import SerialPolicy
import SerialRegistry
import Verifier
import VMSpec

/// `vmserial scenario run`: runs a scenario on a throw-away copy of its VM.
///
/// The copy is a domain of its own (`<vm>-scn-<id>`, a new UUID) on qcow2 overlays over the
/// spec's images, launched by vmserial into a scratch registry (or `registry`), so the user's
/// domain, images and registry are never touched. Each step observes it (an `Observer`),
/// perturbs its definition behind the registry's back, moves a disk the vmserial way, or
/// launches it again from the registry. Afterwards, on error and on Ctrl-C, the copy is
/// undefined and its folder removed, unless `keep`.
public struct ScenarioRunner {
    public let connection: Connection
    public var progress: (String) -> Void = { _ in }

    public init(connection: Connection) {
        self.connection = connection
    }

    public struct Options: Sendable {
        /// A registry location; nil: a scratch SQLite registry in the copy's folder.
        public var registry: String?
        /// Keep the copy (domain, overlays, registry) for a look afterwards.
        public var keep: Bool
        public init(registry: String? = nil, keep: Bool = false) {
            self.registry = registry
            self.keep = keep
        }
    }

    public func run(_ loaded: LoadedScenario, options: Options = Options()) throws -> ScenarioReport {
        let s = loaded.scenario
        let id = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let copy = "\(loaded.spec.name)-scn-\(id)"
        let work = try RunDirectory(label: "scenario-\(copy)", for: connection)
        let cleanup = CopyCleanup(connection: connection, name: copy, work: work)
        let token = Interrupts.shared.onInterrupt { cleanup.run() }
        var report = ScenarioReport(scenario: s.name, description: s.description, vm: loaded.spec.name, copy: copy, observe: s.observe.rawValue)
        var keepIt = options.keep
        defer {
            Interrupts.shared.remove(token)
            if keepIt {
                work.keep()
            } else {
                if let what = cleanup.run() { progress(what) }
            }
        }

        let registry: any Registry
        do {
            registry = try RegistryFactory.open(options.registry ?? work.path("registry.sqlite"))
        } catch {
            keepIt = false
            throw error
        }
        // 1. The copy: overlays over the spec's images, launched from a renamed spec; or, for an
        //    existing domain, its own definition on overlays, adopted into the registry.
        progress("making \(copy), a copy of \(loaded.spec.name) on overlays in \(work.root)")
        let assigned: Assignment
        var adoptedXML: String?
        do {
            if case let .domain(name) = s.vm {
                cleanup.defined = true
                let made = try ScenarioDomainCopy.make(domain: name, copy: copy, work: work, connection: connection,
                                                       registry: registry, log: progress)
                assigned = made.assignment
                adoptedXML = made.adoptedXML
            } else {
                let copySpec = try Self.copySpec(loaded.spec, name: copy, work: work)
                var launcher = Launcher(connection: connection, registry: registry)
                launcher.log = progress
                cleanup.defined = true   // from here on the copy may exist in libvirt (launch undoes its own failures)
                assigned = try launcher.launch(copySpec, options: LaunchOptions(start: false)).assignment
            }
        } catch {
            keepIt = false
            throw error
        }
        var targets = Dictionary(uniqueKeysWithValues: assigned.disks.map { ($0.name, $0.target) })
        let diskOrder = loaded.spec.disks.map(\.name)
        func orderedTargets() -> [(name: String, target: String)] { diskOrder.compactMap { n in targets[n].map { (n, $0) } } }
        if options.keep { report.kept = "domain \(copy), folder \(work.root)" + (options.registry == nil ? " (registry.sqlite inside)" : "") }

        let observer = Observers.make(s.observe, connection: connection, registry: registry, timeout: s.timeout, settle: s.settle,
                                      progress: progress)
        // Before the copy goes (defers run last first): the observer may hold its images open.
        defer { observer.release() }
        var observations: [String: Facts] = [:]
        var rebootNext = false
        for (i, step) in s.steps.enumerated() {
            var result = ScenarioReport.StepResult(index: i, kind: step.kind)
            let started = Date()
            do {
                switch step {
                case let .observe(o):
                    result.name = o.name
                    progress("step \(i + 1): observing \(o.name) (\(s.observe.rawValue))")
                    let seen = try observer.observe(domain: copy, reboot: rebootNext, targets: orderedTargets())
                    rebootNext = false
                    observations[o.name] = seen.facts
                    result.detail = seen.detail
                    result.facts = Dictionary(uniqueKeysWithValues: seen.facts.values.map { ($0.key.description, $0.value) })
                    result.factOrder = seen.facts.names.map(\.description)
                    if let e = o.expect {
                        let judged = Judge.evaluate(e, before: observations[e.against] ?? Facts(), now: seen.facts)
                        result.expectations = judged
                        result.ok = judged.allSatisfy(\.ok)
                    }
                case let .perturb(p):
                    if case .copyTo = p { observer.release() }
                    result.detail = try perturb(p, copy: copy, work: work, targets: &targets)
                case let .migrate(m):
                    observer.release()
                    result.detail = try migrate(m, copy: copy, work: work, registry: registry)
                case .reboot:
                    rebootNext = true
                    result.detail = "the next observation boots the guest, lets it reboot itself, and observes after that"
                case .relaunch, .restore:
                    if let adoptedXML {
                        // An adopted copy has no spec: it gets its definition as adopted back.
                        _ = try connection.defineDomain(xml: adoptedXML)
                        result.detail = "\(copy) defined again as it was adopted: the definition with the registry's identity"
                    } else {
                        result.detail = try relaunch(copy, registry: registry)
                    }
                    targets = Dictionary(uniqueKeysWithValues: try registry.assignment(vm: copy)!.disks.map { ($0.name, $0.target) })
                }
            } catch let e as PerturbationError {
                keepIt = false
                throw VMSerialError.badInput("steps[\(i)].\(step.kind.rawValue): \(e.message); nothing of the scenario was kept")
            } catch VMSerialError.badInput(let m) where step.kind == .perturb || step.kind == .migrate {
                keepIt = false
                throw VMSerialError.badInput("steps[\(i)].\(step.kind.rawValue): \(m); nothing of the scenario was kept")
            } catch {
                result.ok = false
                result.detail = "\(error)"
                result.seconds = Date().timeIntervalSince(started)
                report.steps.append(result)
                report.error = "step \(i + 1) (\(step.kind.rawValue)) failed: \(error)"
                return report
            }
            result.seconds = Date().timeIntervalSince(started)
            report.steps.append(result)
        }
        return report
    }

    /// The spec renamed to the copy's name, on overlays, with a new UUID and volumes of its own
    /// (so nothing it does lands on the user's volumes, even in a shared registry).
    static func copySpec(_ r: ResolvedSpec, name: String, work: RunDirectory) throws -> ResolvedSpec {
        var spec = r.spec
        spec.name = name
        spec.uuid = nil
        var overlays: [String: String] = [:]
        var disks: [ResolvedDisk] = []
        for (i, d) in r.disks.enumerated() {
            let overlay: String
            if let o = overlays[d.source] {
                overlay = o
            } else {
                overlay = work.path("\(d.name).qcow2")
                _ = try Tool.run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", d.format.rawValue, "-b", d.source, overlay])
                overlays[d.source] = overlay
            }
            let volume = "\(name)/\(r.spec.disks[i].volume ?? d.name)"
            spec.disks[i].volume = volume
            spec.disks[i].source = overlay
            spec.disks[i].format = .qcow2
            disks.append(ResolvedDisk(name: d.name, volume: VolumeIdentity(volume), source: overlay, format: .qcow2, bus: d.bus,
                                      target: d.target, serial: d.serial, shareable: d.shareable))
        }
        return ResolvedSpec(spec: spec, specPath: nil, boot: r.boot, disks: disks)
    }

    /// Changes the copy's definition as another tool would; returns what it did.
    func perturb(_ p: Perturbation, copy: String, work: RunDirectory, targets: inout [String: String]) throws -> String {
        let dom = try connection.lookupDomain(name: copy)
        let oldXML = try dom.xmlDesc(inactive: true)
        var def = try DomainDefinition(xml: oldXML)
        var said: String
        switch p {
        case let .copyTo(disk, dir, backing):
            guard let t = targets[disk], let source = def.devices.disks.first(where: { $0.targetDev == t })?.source else {
                throw PerturbationError("disk \(disk) has no file to copy")
            }
            let folder = try folder(dir, work: work)
            let file = (folder as NSString).appendingPathComponent("\(copy)-\(disk)-copy.qcow2")
            guard !FileManager.default.fileExists(atPath: file) else { throw PerturbationError("\(file) exists already") }
            let format = def.devices.disks.first { $0.targetDev == t }?.driverType ?? "raw"
            var args = ["convert", "-q", "-f", format, "-O", "qcow2"]
            if let backing {
                guard FileManager.default.fileExists(atPath: backing) else {
                    throw PerturbationError("backing file \(backing) does not exist")
                }
                args += ["-B", backing, "-o", "backing_fmt=\(try Self.imageFormat(backing))"]
            }
            progress("copying disk \(disk) with qemu-img into \(file), as a tool that knows nothing of serials would")
            _ = try Tool.run("qemu-img", args + [source, file])
            try Perturber.pointed(&def, disk: disk, targets: targets, at: file, format: "qcow2")
            said = "disk \(disk) copied to \(file)\(backing.map { " over \($0)" } ?? "") and pointed at it, without its serial"
        default:
            try Perturber.apply(p, to: &def, targets: &targets)
            said = Self.describe(p)
        }
        progress("step: \(said) (behind the registry's back)")
        do {
            if case .smbiosUUID = p {
                // libvirt keeps a domain's UUID for its name: the changed one is a new definition.
                try dom.undefine()
            }
            _ = try connection.defineDomain(xml: def.xml())
        } catch let e as LibvirtError {
            _ = try? connection.defineDomain(xml: oldXML)
            throw PerturbationError("libvirt refused the changed definition (\(said)): \(e.message)")
        }
        return said
    }

    static func describe(_ p: Perturbation) -> String {
        switch p {
        case let .serial(d, s): s.map { "disk \(d) given serial \($0)" } ?? "disk \(d)'s serial removed"
        case let .bus(d, b): "disk \(d) moved to the \(b.rawValue) bus (new target and address, serial kept)"
        case let .target(d, t): "disk \(d) renamed to target \(t)"
        case let .swapSerials(a, b): "the serials of \(a) and \(b) exchanged"
        case let .duplicateSerial(a, b): "disk \(b) given \(a)'s serial"
        case let .smbiosSerial(s): s.map { "SMBIOS serial set to \($0)" } ?? "SMBIOS serial removed"
        case let .smbiosUUID(u): "domain and SMBIOS UUID replaced by \(u ?? "a new one")"
        case let .copyTo(d, dir, _): "disk \(d) copied into \(dir)"
        }
    }

    /// vmserial's own move: `vmserial migrate` into the folder; the serial stays with the volume.
    func migrate(_ m: Migration, copy: String, work: RunDirectory, registry: any Registry) throws -> String {
        let folder = try folder(m.to, work: work)
        let file = (folder as NSString).appendingPathComponent("\(copy)-\(m.disk).qcow2")
        var migrator = Migrator(connection: connection, registry: registry)
        migrator.log = progress
        let r = try migrator.migrate(domain: copy, MigrateOptions(disk: m.disk, to: file, format: "qcow2", backing: m.backing))
        return "disk \(m.disk) moved by vmserial to \(r.to)\(m.backing.map { " over \($0)" } ?? "") (serial \(r.serial ?? "none") kept)"
    }

    /// Undefines the copy and launches it again from the registry; the old definition comes back if that fails.
    func relaunch(_ copy: String, registry: any Registry) throws -> String {
        let dom = try connection.lookupDomain(name: copy)
        let old = try dom.xmlDesc(inactive: true)
        try dom.undefine()
        var launcher = Launcher(connection: connection, registry: registry)
        launcher.log = progress
        do {
            _ = try launcher.relaunch(vm: copy, options: LaunchOptions(start: false))
        } catch {
            _ = try? connection.defineDomain(xml: old)
            throw error
        }
        return "\(copy) launched again from the registry: the definition vmserial assigned"
    }

    /// A step's folder: relative ones inside the copy's own folder (created), absolute ones must exist.
    func folder(_ dir: String, work: RunDirectory) throws -> String {
        if dir.hasPrefix("/") {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw PerturbationError("\(dir) is not an existing folder; create it, or give a relative folder (made inside the copy's own folder)")
            }
            return dir
        }
        let path = work.path(dir)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { return path }
        guard !dir.contains(".."), mkdir(path, 0o700) == 0 else {
            throw PerturbationError("cannot make the folder \(dir) inside the copy's folder (a name without '..' or '/', made fresh)")
        }
        // QEMU (maybe another user) opens the files in it, as in the run folder itself.
        try work.qemu.restrict(path, mode: 0o750)
        return path
    }

    static func imageFormat(_ path: String) throws -> String {
        let out = try Tool.run("qemu-img", ["info", "-U", "--output=json", path])
        guard let obj = try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], let f = obj["format"] as? String else {
            throw PerturbationError("qemu-img cannot tell the format of \(path)")
        }
        return f
    }
}

/// Removes the copy: its domain (stopped first) and its folder. Runs once, from the runner or Ctrl-C.
final class CopyCleanup: @unchecked Sendable {
    private let connection: Connection
    private let name: String
    private let work: RunDirectory
    private let lock = NSLock()
    private var done = false
    private var _defined = false

    init(connection: Connection, name: String, work: RunDirectory) {
        self.connection = connection
        self.name = name
        self.work = work
    }

    var defined: Bool {
        get { lock.lock(); defer { lock.unlock() }; return _defined }
        set { lock.lock(); _defined = newValue; lock.unlock() }
    }

    @discardableResult
    func run() -> String? {
        lock.lock()
        defer { lock.unlock() }
        guard !done else { return nil }
        done = true
        if _defined, let d = try? connection.lookupDomain(name: name) {
            if (try? d.isActive) == true { try? d.destroy() }
            try? d.undefine()
        }
        work.remove()
        return "removed the copy \(name) and its folder"
    }
}

/// The scenarios that come with vmserial (`scenarios/` of the checkout, or an installed copy).
public enum BundledScenarios {
    /// `VMSERIAL_SCENARIOS`, else `scenarios/` next to or above the executable, else
    /// /usr/local/share/vmserial/scenarios. Never the current folder: a scenario boots what it names.
    public static func folder() -> String? {
        if let d = ProcessInfo.processInfo.environment["VMSERIAL_SCENARIOS"], !d.isEmpty { return d }
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? "/").resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates: [String] = []
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent("scenarios").path)
            dir.deleteLastPathComponent()
        }
        candidates.append("/usr/local/share/vmserial/scenarios")
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/README.md") }
    }

    /// Every bundled scenario: its name, file and description (files that are not scenarios, such as VM specs, are skipped).
    public static func list() -> [(name: String, path: String, description: String, observe: String)] {
        guard let dir = folder(), let files = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return files.filter { $0.hasSuffix(".json") }.sorted().compactMap { f in
            let path = (dir as NSString).appendingPathComponent(f)
            guard let data = FileManager.default.contents(atPath: path),
                  let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let name = o["scenario"] as? String else { return nil }
            return (name, path, o["description"] as? String ?? "", o["observe"] as? String ?? "probe")
        }
    }

    /// `scenario list`: one line each.
    public static func table(_ all: [(name: String, path: String, description: String, observe: String)]) -> String {
        var t = TextTable(header: ["SCENARIO", "OBSERVE", "WHAT IT REPRODUCES"])
        for s in all { t.add([s.name, s.observe, s.description]) }
        return t.rendered()
    }

    /// A path as given, or a bundled scenario's name.
    public static func resolve(_ nameOrPath: String) throws -> String {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".json") || FileManager.default.fileExists(atPath: nameOrPath) { return nameOrPath }
        guard let found = list().first(where: { $0.name == nameOrPath }) else {
            throw ScenarioError.unreadable(path: nameOrPath, reason: "no such file, and no bundled scenario of that name (`vmserial scenario list` shows them)")
        }
        return found.path
    }
}
