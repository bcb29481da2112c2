import DomainXML
import Foundation
import Libvirt
import SerialRegistry
import VMSpec

/// What `vmserial launch` did.
public struct LaunchResult: Sendable {
    public var assignment: Assignment
    public var domainType: String
    public var xml: String
    /// defined, redefined, dry-run
    public var action: String
    public var started: Bool
    /// The domain was running already; the new definition applies at its next boot.
    public var wasRunning: Bool
}

public struct LaunchOptions: Sendable {
    public var start = true
    public var dryRun = false
    public init(start: Bool = true, dryRun: Bool = false) {
        self.start = start
        self.dryRun = dryRun
    }
}

/// Spec → registry → domain XML → libvirt, all or nothing.
public struct Launcher: ContextHolder {
    public var context: Context
    /// Progress lines (the context's `progress`, under the name callers use).
    public var log: (String) -> Void {
        get { progress }
        set { progress = newValue }
    }

    public init(connection: Connection, registry: any Registry) {
        context = Context(connection: connection, registry: registry)
    }

    public func launch(_ spec: ResolvedSpec, options: LaunchOptions = LaunchOptions()) throws -> LaunchResult {
        let request = try DomainBuilder.request(for: spec, hostUUID: HostPaths.hostMachineUUID)
        let accel = try AccelResolver(connection: connection, log: log).domainType(for: spec.spec.accel, mayProbe: !options.dryRun)

        if options.dryRun {
            let a = try registry.preview(request)
            let xml = DomainBuilder.build(spec: spec, assignment: a, domainType: accel).xml()
            return LaunchResult(assignment: a, domainType: accel, xml: xml, action: "dry-run", started: false, wasRunning: false)
        }

        StaleState.sweep(connection: connection, registry: registry, log: log)
        var xml = ""
        var action = "defined"
        var started = false
        var wasRunning = false
        // Whatever this launch did to libvirt is undone unless the registry commits: when apply
        // throws, when the commit itself fails (the database went away mid-launch), on Ctrl-C.
        let undo = LibvirtUndo(connection: connection, name: spec.name)
        let interrupt = Interrupts.shared.onInterrupt { undo.run() }
        defer { Interrupts.shared.remove(interrupt) }
        var journal: RunDirectory?
        defer { journal?.remove() }
        let assignment: Assignment
        do {
            assignment = try registry.assign(request) { a in
                // Runs inside the registry transaction: if anything here throws, no row is kept.
                let def = DomainBuilder.build(spec: spec, assignment: a, domainType: accel)
                xml = def.xml()
                var previousXML: String?
                if let old = try? connection.lookupDomain(name: spec.name) {
                    let oldUUID = try old.uuidString.lowercased()
                    guard oldUUID == a.uuid else {
                        throw VMSerialError.badInput("libvirt already has a domain named \(spec.name) with UUID \(oldUUID), which is not the UUID vmserial gave this VM (\(a.uuid)); undefine it (`virsh undefine \(spec.name)`) or rename the VM in the spec")
                    }
                    previousXML = try old.xmlDesc(inactive: true)
                    wasRunning = try old.isActive
                    action = "redefined"
                }
                let dom: Libvirt.Domain
                // For the run after a kill: a domain this launch defined is undone there unless the registry recorded it.
                journal?.remove()
                journal = Journal.begin(Journal(kind: .launch, domain: spec.name, uuid: a.uuid, previousXML: previousXML))
                undo.arm(previousXML: previousXML)
                do {
                    dom = try connection.defineDomain(xml: xml)
                    KillPoint.launchDefined.reached()
                } catch let e as LibvirtError {
                    undo.disarm()
                    throw VMSerialError.failed("libvirt refused the definition of \(spec.name): \(e.message)")
                }
                guard options.start, !wasRunning else { return }
                do {
                    try dom.start()
                    started = true
                    undo.started()
                    KillPoint.launchStarted.reached()
                } catch {
                    // Leave libvirt as it was: the old definition back, or none.
                    undo.run()
                    let message = (error as? LibvirtError)?.message ?? "\(error)"
                    throw VMSerialError.failed("\(spec.name) was defined but did not start: \(message); nothing was kept. Check accel (now \(accel == "kvm" ? "kvm" : "tcg")) and the boot files")
                }
            }
        } catch {
            if let what = undo.run() { log("the launch did not complete in the registry, so libvirt was put back: \(what)") }
            throw error
        }
        KillPoint.launchCommitted.reached()
        return LaunchResult(assignment: assignment, domainType: accel, xml: xml, action: action, started: started, wasRunning: wasRunning)
    }

    /// Undefines the domain and launches it again, shut off, from the spec the registry kept
    /// (`verify --relaunch`): proves a definition made from the registry alone gives the same
    /// identity. If the launch fails, or on Ctrl-C / SIGTERM, the old definition is put back:
    /// the domain is never lost.
    public func relaunchFromScratch(vm: String) throws -> LaunchResult {
        try requireSpec(vm: vm)
        let old = try connection.lookupDomain(name: vm)
        let previousXML = try old.xmlDesc(inactive: true)
        let connection = self.connection
        // Registered before the undefine, so it runs after the launch's own undo (newest first).
        let restore = Interrupts.shared.onInterrupt {
            if (try? connection.domainExists(name: vm)) != true { _ = try? connection.defineDomain(xml: previousXML) }
        }
        defer { Interrupts.shared.remove(restore) }
        try old.undefine()
        do {
            return try relaunch(vm: vm, options: LaunchOptions(start: false))
        } catch {
            // The launch undid its own changes; what is left is no domain at all.
            if (try? connection.domainExists(name: vm)) != true {
                do {
                    _ = try connection.defineDomain(xml: previousXML)
                } catch {
                    log("warning: could not define \(vm) again from its previous definition: \(error)")
                }
            }
            throw error
        }
    }

    /// Launches a VM again from the spec the registry kept at its last launch.
    public func relaunch(vm: String, options: LaunchOptions = LaunchOptions()) throws -> LaunchResult {
        try requireSpec(vm: vm)
        guard let json = try registry.specJSON(vm: vm) else { throw RegistryError.notFound(vm: vm) }
        let spec = try SpecLoader.decode(Data(json.utf8), path: "registry:\(vm)")
        let resolved = try SpecValidator.resolve(spec, specPath: nil, baseDirectory: "/")
        return try launch(resolved, options: options)
    }
}

extension Launcher {
    /// A VM `vmserial adopt` took in has an assignment but no spec: it cannot be launched again
    /// from the registry (a spec would drop the devices vmserial does not model). Checked before
    /// anything is undefined.
    func requireSpec(vm: String) throws {
        guard try registry.specJSON(vm: vm) == nil, try registry.assignment(vm: vm) != nil else { return }
        throw VMSerialError.badInput("\(vm) was adopted (`vmserial adopt`), not launched from a spec, so there is no spec to launch it again from; leave out --relaunch, or write a spec with `vmserial spec --domain \(vm) --output \(vm).json` and launch that")
    }
}

/// Puts libvirt back the way a launch found it: the previous definition of the domain, or none,
/// and a guest it started destroyed. Runs at most once, from the launch or from Ctrl-C.
final class LibvirtUndo: @unchecked Sendable {
    private let connection: Connection
    private let name: String
    private let lock = NSLock()
    private var armed = false
    private var previousXML: String?
    private var startedHere = false

    init(connection: Connection, name: String) {
        self.connection = connection
        self.name = name
    }

    /// Called before the definition: from here on, libvirt may hold this launch's definition.
    func arm(previousXML: String?) {
        lock.lock(); defer { lock.unlock() }
        armed = true
        self.previousXML = previousXML
    }

    /// libvirt refused the definition: there is nothing to put back.
    func disarm() {
        lock.lock(); defer { lock.unlock() }
        armed = false
    }

    func started() {
        lock.lock(); defer { lock.unlock() }
        startedHere = true
    }

    /// Undoes what was done, once; says what it did (nil when there was nothing to undo).
    @discardableResult
    func run() -> String? {
        lock.lock(); defer { lock.unlock() }
        guard armed else { return nil }
        armed = false
        let dom = try? connection.lookupDomain(name: name)
        if startedHere { try? dom?.destroy() }
        if let previousXML {
            _ = try? connection.defineDomain(xml: previousXML)
            return "\(name) has its previous definition again"
        }
        try? dom?.undefine()
        return "\(name) is not defined"
    }
}
