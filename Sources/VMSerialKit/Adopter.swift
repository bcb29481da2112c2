import DomainXML
import Foundation
import Libvirt
import SerialRegistry

/// What `vmserial adopt` did (or, with --dry-run, would do).
public struct AdoptResult: Sendable {
    public var assignment: Assignment
    /// One sentence per change to the definition; empty when the domain was left as it was.
    public var changes: [String]
    /// Disks that are not volumes (cdrom, floppy), left alone.
    public var skipped: [String]
    /// Unified diff of the inactive definition (without secrets), before → after.
    public var diff: String
    /// The definition was redefined in libvirt (false for a dry run or when nothing changed).
    public var redefined: Bool
    /// The domain is running: the new definition applies at its next boot.
    public var running: Bool
    public var dryRun: Bool
}

/// Brings a domain vmserial did not launch under its registry: libvirt domain → registry →
/// the same domain with what the registry gave it, all or nothing, as `Launcher` does.
public struct Adopter: ContextHolder {
    public var context: Context
    /// Progress lines (the context's `progress`, under the name callers use).
    public var log: (String) -> Void {
        get { progress }
        set { progress = newValue }
    }

    public init(connection: Connection, registry: any Registry) {
        context = Context(connection: connection, registry: registry)
    }

    public func adopt(domain name: String, options: AdoptOptions = AdoptOptions()) throws -> AdoptResult {
        let dom = try lookup(name)
        guard try dom.isPersistent else {
            throw VMSerialError.badInput("\(name) is a transient domain: adopt would make it persistent. Define it first (`virsh dumpxml \(name) > \(name).xml && virsh define \(name).xml`)")
        }
        // The secure form keeps what the plain one leaves out (graphics passwords): the definition
        // written back must lose nothing. The plain one is what the diff shows.
        let secureXML = try dom.xmlDesc(inactive: true, secure: true)
        let plainXML = try dom.xmlDesc(inactive: true)
        let running = try dom.isActive
        let root = try XElement.parse(secureXML)
        let plan = try AdoptPlanner.plan(root, options: options, known: try registry.assignment(vm: name))

        func diff(_ a: Assignment) throws -> String {
            let before = try XElement.parse(plainXML)
            let (after, _) = AdoptPlanner.edit(before, assignment: a)
            return UnifiedDiff.diff(before.rendered(), after.rendered(), oldName: "\(name) (libvirt now)", newName: "\(name) (adopted)")
        }

        if options.dryRun {
            let a = try mapped { try registry.preview(plan.request) }
            let (_, changes) = AdoptPlanner.edit(root, assignment: a)
            return AdoptResult(assignment: a, changes: changes, skipped: plan.skipped, diff: try diff(a),
                               redefined: false, running: running, dryRun: true)
        }

        var changes: [String] = []
        var redefined = false
        let undo = LibvirtUndo(connection: connection, name: name)
        let interrupt = Interrupts.shared.onInterrupt { undo.run() }
        defer { Interrupts.shared.remove(interrupt) }
        let assignment: Assignment
        do {
            assignment = try mapped {
                try registry.assign(plan.request) { a in
                    // Inside the registry transaction: if anything here throws, no row is kept.
                    // A definition changed since it was read would be overwritten: refuse instead.
                    guard try dom.xmlDesc(inactive: true, secure: true) == secureXML else {
                        throw VMSerialError.failed("the definition of \(name) changed while it was being adopted; nothing was written. Run adopt again")
                    }
                    let (after, c) = AdoptPlanner.edit(root, assignment: a)
                    changes = c
                    guard !c.isEmpty else { return }
                    undo.arm(previousXML: secureXML)
                    do {
                        _ = try connection.defineDomain(xml: after.rendered())
                    } catch let e as LibvirtError {
                        undo.disarm()
                        throw VMSerialError.failed("libvirt refused the adopted definition of \(name): \(e.message); nothing was written")
                    }
                    redefined = true
                }
            }
        } catch {
            if let what = undo.run() { log("the adoption did not complete in the registry, so libvirt was put back: \(what)") }
            throw error
        }
        return AdoptResult(assignment: assignment, changes: changes, skipped: plan.skipped, diff: redefined ? try diff(assignment) : "",
                           redefined: redefined, running: running, dryRun: false)
    }

    /// `vmserial spec --domain`: a spec that launches a domain equivalent to `name` (its
    /// identity and disks from the registry when vmserial knows it), as JSON, and what it cannot carry.
    public func spec(domain name: String) throws -> (json: String, warnings: [String]) {
        let dom = try lookup(name)
        let definition = try DomainDefinition(xml: dom.xmlDesc(inactive: true))
        let assignment = try registry.assignment(vm: name)
        let made = try DomainSpecMaker.spec(from: definition, assignment: assignment)
        return (DomainSpecMaker.json(made.spec), made.warnings)
    }

    /// The registry a dry run reads: the one at `location` if it exists, else an empty one in
    /// memory (a dry run creates no file).
    public static func dryRunRegistry(_ location: String) throws -> any Registry {
        try RegistryFactory.openExisting(location) ?? SQLiteRegistry(path: ":memory:")
    }

    func lookup(_ name: String) throws -> Libvirt.Domain {
        try Self.requireDomain(name, on: connection)
    }

    /// The domain, or a bad-input error naming the connection (checked before a registry is
    /// opened, so a mistyped name creates no registry file).
    @discardableResult
    public static func requireDomain(_ name: String, on connection: Connection) throws -> Libvirt.Domain {
        do {
            return try connection.lookupDomain(name: name)
        } catch let e as LibvirtError where e.kind == .noDomain {
            throw VMSerialError.badInput("libvirt at \(connection.uri) has no domain \(name); `virsh list --all` lists them, or pass --connect")
        }
    }

    /// The registry's refusals, said in adopt's terms (the registry's own words speak of a spec).
    func mapped<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let RegistryError.uuidMismatch(vm, registered, requested) {
            throw VMSerialError.badInput("the registry already has a VM named \(vm) with UUID \(registered), but the domain's UUID is \(requested): it is another machine. Nothing was written; rename the domain (`virsh domrename`) or adopt into another --registry")
        } catch let RegistryError.uuidTaken(uuid, vm, by) {
            throw VMSerialError.badInput("the domain \(vm)'s UUID \(uuid) already belongs to VM \(by) in the registry; nothing was written")
        } catch let RegistryError.duplicateSerial(serial, volume, heldBy) {
            let target = volume.value.split(separator: "/").last.map(String.init) ?? volume.value
            throw VMSerialError.badInput("serial \(serial) of disk \(target) (volume \(volume)) is already held by volume \(heldBy) in the registry; nothing was written. If it is the same disk shared by two VMs, adopt it as that volume (--volume \(target)=\(heldBy)); otherwise give one of them another serial yourself (the guest then sees a new disk)")
        } catch let RegistryError.serialChange(volume, registered, requested) {
            throw VMSerialError.badInput("volume \(volume) has serial \(registered) in the registry, but the domain's disk has \(requested); nothing was written. Adopt the disk as another volume (--volume TARGET=ID), or give the disk its registered serial")
        }
    }
}

/// The JSON shape of `adopt --json`.
public struct AdoptView: Encodable, Sendable {
    /// adopted (redefined), registered (the definition needed no change), dry-run
    public var action: String
    public var running: Bool
    public var changes: [String]
    public var skipped: [String]
    public var diff: String
    public var assignment: AssignmentView
    public var warnings: [String]

    public init(_ r: AdoptResult) {
        action = r.dryRun ? "dry-run" : (r.redefined ? "redefined" : "registered")
        running = r.running
        changes = r.changes
        skipped = r.skipped
        diff = r.diff
        assignment = AssignmentView(r.assignment)
        warnings = r.assignment.warnings
    }

    /// What a terminal shows after a real (not dry) run.
    public func text(uri: String) -> String {
        let name = assignment.domain
        var out: String
        switch action {
        case "redefined":
            out = "\(name): adopted and redefined on \(uri)" + (running ? " (running: the new definition applies at its next boot)" : "") + "\n"
        case "registered":
            out = "\(name): adopted on \(uri); its definition already had everything, so it was not redefined\n"
        default:
            out = "\(name): dry run, nothing written\n"
        }
        if !changes.isEmpty { out += "changes:\n" + changes.map { "  \($0)\n" }.joined() }
        if !skipped.isEmpty { out += "left as they are:\n" + skipped.map { "  \($0)\n" }.joined() }
        return out + assignment.table()
    }
}
