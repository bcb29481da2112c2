import DomainXML
import Foundation
import Guestfs
import Libvirt
import ProcessRunner
import SerialRegistry
import Verifier

/// `vmserial verify --mode guest`: the guest's own OS reports what it sees.
///
/// 1. One libguestfs appliance over the domain's disks finds the OS (inspection) and installs a
///    one-shot reporter (GuestReporter) with a plan: what to do after each boot's report.
/// 2. The domain boots from its own definition (kernel or firmware, disks, identity); only its
///    serial ports are replaced by two files, the console and the report port. Each boot the
///    reporter writes its report to the guest's disk and to the report port, then reboots or
///    powers off as the plan says. Restarts, re-launch and migrations happen between boots as in
///    probe mode.
/// 3. The appliance reads the reports back from the disk, then removes the reporter, its plan
///    and the reports, and checks that nothing of it is left.
///
/// Disk access (`DiskAccess`): by default each image is served by qemu-nbd for the whole
/// verify, the appliance and the guest are both its clients, and the one appliance of step 1
/// waits through the boots and does step 3 (one appliance start per verify). A plan that moves
/// the disks (`--migrate-to`), or a host that confines QEMU (AppArmor, SELinux: the socket
/// might be denied), boots the guest on its files instead; the images are then closed between
/// the steps and step 3 starts a second appliance.
/// Every report is compared with the registry exactly like a probe report, plus the guest's
/// /dev/disk/by-id names, and the copy on the disk must equal the one from the serial port.
public struct GuestVerifier: ContextHolder {
    public var context: Context

    public init(connection: Connection, registry: any Registry) {
        context = Context(connection: connection, registry: registry)
    }

    /// How guest mode reaches the disks: served by qemu-nbd (one appliance start) or the files (two).
    public enum DiskAccess: Equatable, Sendable {
        case served
        case files(why: String)
    }

    /// Served unless the plan moves disks, the host confines QEMU, or VMSERIAL_GUEST_DISKS=files.
    public static func diskAccess(kinds: [CycleKind], securityModels: [String], setting: String?) throws -> DiskAccess {
        switch setting ?? "" {
        case "", "auto", "served":
            break
        case "files":
            return .files(why: "VMSERIAL_GUEST_DISKS=files")
        default:
            throw VMSerialError.badInput("VMSERIAL_GUEST_DISKS=\(setting!) is not known: use served (the default: qemu-nbd, one appliance start) or files (two appliance starts)")
        }
        if kinds.contains(where: \.migrates) {
            return .files(why: "--migrate-to moves the image files, which a disk server holds open")
        }
        if let m = securityModels.first(where: { ["apparmor", "selinux"].contains($0) }) {
            return .files(why: "libvirt confines QEMU with \(m), which may deny it the disk servers' sockets")
        }
        return .served
    }

    /// The security models of the host (`<secmodel><model>` of the capabilities), e.g. ["none"], ["apparmor", "dac"].
    static func securityModels(_ connection: Connection) -> [String] {
        guard let xml = try? connection.capabilitiesXML(), let tree = try? XElement.parse(xml) else { return [] }
        return tree.first("host")?.all("secmodel").compactMap { $0.first("model")?.text } ?? []
    }

    /// `keeping`: hand the appliance and its disk servers over at the end of a verify that went
    /// well, and take them back at the start of the next (the scenario runner observes one copy
    /// several times: one appliance start per scenario instead of one per observation).
    public func verify(domain name: String, options: VerifyOptions, keeping: KeptAppliance? = nil) throws -> VerifyReport {
        StaleState.sweep(connection: connection, registry: registry, log: progress)
        let engine = CycleEngine(context: context)
        let vm = try context.resolve(name)
        let dom = vm.domain
        var real = try DomainDefinition(xml: dom.xmlDesc(inactive: true))
        timer.lap(.registryRead)
        let drives = try GuestSession.drives(of: real)
        let forceTCG = try AccelResolver(connection: connection, log: progress).domainType(for: .auto) != "kvm"

        let restartAfter = try engine.stopForVerify(dom, name: name, options: options, purpose: "guest mode")
        defer {
            if restartAfter {
                progress("starting \(name) again")
                try? connection.lookupDomain(name: name).start()
            }
        }

        let plan = ProbeVerifier.plan(options)
        let actions = plan.bootActions
        let access = try Self.diskAccess(kinds: plan.kinds, securityModels: Self.securityModels(connection),
                                         setting: ProcessInfo.processInfo.environment["VMSERIAL_GUEST_DISKS"])
        // From the moment the reporter may be on the disk, whatever happens, take it out again:
        // on Ctrl-C (stop the appliance or the guest first: both hold the images) and on errors.
        let state = CleanupState()
        let removeToken = Interrupts.shared.onInterrupt { [progress, connection] in
            state.session?.handle.killAppliance()
            if let pid = state.session?.handle.appliancePID { waitForExit(pid) }
            if let d = try? connection.lookupDomain(name: name), (try? d.isActive) == true { try? d.destroy() }
            state.servers?.stop()
            guard state.mayHaveInstalled else { return }
            progress("removing the reporter from \(name)'s disk (one more appliance start)")
            _ = removeReporter(name, forceTCG: forceTCG, os: state.os)
        }
        defer {
            Interrupts.shared.remove(removeToken)
            if state.mayHaveInstalled, !state.removed, !Interrupts.shared.interrupted {
                progress("removing the reporter from \(name)'s disk")
                if let problem = removeReporter(name, forceTCG: forceTCG, os: state.os) {
                    // The run folder and its journal stay: the next vmserial run tries again (`StaleState`).
                    progress("warning: \(problem)")
                } else {
                    state.run?.remove()
                }
            }
        }

        // Torn down before the reporter's removal above (defers run last first): the appliance and
        // the disk servers hold the images.
        var reused = access == .served ? keeping?.take() : nil
        if let r = reused, !drives.allSatisfy({ r.servers.socket(for: $0.path) != nil }) {
            progress("the disks of \(name) are not the ones the kept appliance serves: starting a new one")
            r.close()
            reused = nil
        }
        let run = try reused?.run ?? RunDirectory(label: name, for: connection, domainXML: real.xml())
        var handOver = false        // set once everything went well and `keeping` takes the appliance
        // While the reporter may still be on the disk, the removal above takes the folder (and its journal) away.
        defer { if !handOver, !state.mayHaveInstalled || state.removed { run.remove() } }
        state.run = run
        let journal = GuestJournal(run: run, domain: name, drives: drives, forceTCG: forceTCG, progress: progress)
        if let r = reused { journal.served(by: r.servers) }
        var kept = reused?.session  // served disks: the one appliance, waiting through the boots
        var servers = reused?.servers
        state.session = kept
        state.servers = servers
        defer {
            if !handOver {
                kept?.close()
                servers?.stop()
            }
            state.session = nil
            state.servers = nil
        }

        // Served disks: the first boot's QEMU is created paused while the appliance starts and
        // installs the reporter, and resumed once the reporter is written back (EarlyStart).
        var early: EarlyStart?
        defer { early?.discard() }
        // Only a head start: whatever stops it here (a disk the servers do not serve) the boot
        // says itself.
        func startEarly(_ servers: DiskServers?) {
            guard let servers, plan.kinds.first == .boot, let first = plan.groups.first,
                  let transient = try? GuestBoot(run: run, servers: servers).transient(for: real, actions: plan.actions(for: first), live: false)
            else { return }
            early = EarlyStart(xml: transient.xml(), connection: connection, run: run)
        }

        // Phase 1: install the reporter.
        let hook: ReporterInstaller.Hook
        do {
            let session: GuestSession
            switch access {
            case .served where kept != nil:
                progress("reusing the appliance and disk servers kept from the previous run over \(name)'s disks")
                session = kept!
                startEarly(servers)
                try session.refresh()
            case .served:
                progress("serving the \(drives.count) disk image\(drives.count == 1 ? "" : "s") of \(name) through qemu-nbd: one appliance for the whole verify")
                let s = try DiskServers(drives: drives, run: run)
                servers = s
                state.servers = s
                journal.served(by: s)
                startEarly(s)
                timer.lap(.runFolder)
                session = try GuestSession(domain: name, servers: s, forceTCG: forceTCG, run: run, progress: progress)
                kept = session
            case .files(let why):
                progress("the guest boots on its image files (\(why)): the appliance starts again after the boots")
                session = try GuestSession(domain: name, drives: drives, writable: true, forceTCG: forceTCG, run: run, progress: progress)
            }
            timer.lap(.applianceStart)
            state.session = session
            journal.appliance(session)
            KillPoint.verifyGuestAppliance.reached()
            session.quickLook = true
            session.guestDisks = GuestSession.byIDNames(of: real)
            // Drives in the order they were added: a new session's (a kept one knows its OS already).
            if reused == nil {
                session.blankDrives = Set(drives.indices.filter { ImageContent.readsAsZeros(path: drives[$0].path, format: drives[$0].format) })
            }
            defer {
                if kept == nil {
                    state.session = nil
                    session.close()
                }
            }
            let info = try session.inspect()
            timer.lap(.inspection)
            state.os = info
            state.osFoundBy = session.osFoundBy
            progress("found \(ReporterInstaller.describe(info)) on \(info.root) (\(session.osFoundBy ?? "inspection")); installing the reporter")
            state.mayHaveInstalled = info.type == "linux"
            journal.reporter(state.mayHaveInstalled, os: info)
            hook = try ReporterInstaller.install(session, actions: actions)
            // Over image files the appliance goes now (the guest boots on them): written back, or an error.
            if kept == nil { try session.shutdown() }
            timer.lap(.reporterInstall)
            KillPoint.verifyGuestInstalled.reached()
        }

        // Phase 2: the boots.
        var report = VerifyReport(domain: name, mode: "guest")
        report.appliance = .init(diskAccess: kept == nil ? "files" : "served", starts: reused == nil ? 1 : 0, osFoundBy: state.osFoundBy)
        var mode = GuestBoot(run: run, servers: servers)
        guard let boots = try engine.run(vm, plan: plan, options: options, run: run, mode: &mode, into: &report, early: early) else { return report }

        // Phase 3: read the reports back from the disk, then remove everything vmserial put there.
        let session: GuestSession
        if let kept {
            progress("reading the reports back through the same appliance")
            try kept.refresh()
            session = kept
        } else {
            real = try DomainDefinition(xml: connection.lookupDomain(name: name).xmlDesc(inactive: true))
            session = try GuestSession(domain: name, drives: try GuestSession.drives(of: real), writable: true,
                                       forceTCG: forceTCG, run: run, progress: progress)
            state.session = session
            journal.appliance(session)
            report.appliance?.starts += 1
            if let os = state.os { session.adopt(os) }
            timer.lap(.applianceStart)
        }
        defer { if !handOver { session.close() } }
        // One read-write mount: read the reports, then take everything vmserial put there away.
        let (files, left) = try ReporterInstaller.readAndRemove(session)
        timer.lap(.readBack)
        state.removed = true
        if left.isEmpty { journal.reporter(false) }
        // Every boot left a report on the disk (boot numbers count the live migration's source
        // boot too); each cycle's is checked against the serial port's.
        for (i, boot) in boots.enumerated() {
            guard let cycle = boot.cycle else { continue }
            report.cycles[cycle].checks.append(Self.diskCopyCheck(boot: i + 1, serial: boot.report, file: files[i + 1]))
        }
        if files.count != actions.count {
            let last = report.cycles.count - 1
            report.cycles[last].checks.append(Check(what: "reports on the guest's disk", expected: "\(actions.count)", seen: "\(files.count)",
                                                    ok: false, detail: "the guest booted \(actions.count) times under vmserial but its disk holds \(files.count) reports"))
        }
        if !left.isEmpty {
            let last = report.cycles.count - 1
            report.cycles[last].checks.append(Check(what: "reporter removed (\(hook.rawValue))", expected: "(nothing left)",
                                                    seen: left.joined(separator: ","), ok: false,
                                                    detail: "vmserial could not remove its files from the guest"))
        }
        progress("reporter (\(hook.rawValue)) and its reports removed from \(name)")
        // Kept mounted as it is: the next run's refresh unmounts and drops the caches before anything boots.
        if let keeping, let kept, let servers, left.isEmpty {
            // The removal ended with an unmount; kept, the appliance is not shut down (which would
            // write back), so it syncs here: a write-back that fails is an error, not a kept appliance.
            try kept.guestfs { try kept.handle.sync() }
            keeping.keep(.init(run: run, servers: servers, session: kept))
            handOver = true
        } else {
            try session.shutdown()
        }
        return report
    }

    /// Removes the reporter with an appliance of its own; returns what went wrong, if anything.
    func removeReporter(_ name: String, forceTCG: Bool, os: OSInfo?) -> String? {
        do {
            let def = try DomainDefinition(xml: connection.lookupDomain(name: name).xmlDesc(inactive: true))
            let s = try GuestSession(domain: name, drives: try GuestSession.drives(of: def), writable: true, forceTCG: forceTCG, progress: progress)
            defer { s.close() }
            if let os { s.adopt(os) }
            let left = try ReporterInstaller.remove(s)
            try s.shutdown()
            return left.isEmpty ? nil : "vmserial's reporter is still in \(name)'s disk: \(left.joined(separator: ", ")); remove these files by hand"
        } catch {
            return "could not remove vmserial's reporter from \(name)'s disk (\(error)); it powers the guest off after each boot: run `vmserial verify --mode guest --domain \(name)` again, which replaces and then removes it"
        }
    }

    /// The report the reporter left on the disk for one boot must be the one the serial port carried.
    static func diskCopyCheck(boot: Int, serial: ProbeReport, file: String?) -> Check {
        let what = "report on the guest's disk (boot \(boot))"
        guard let file else {
            return Check(what: what, expected: GuestReporter.reportPath(boot: boot), seen: "(missing)", ok: false,
                         detail: "the guest did not leave \(GuestReporter.reportPath(boot: boot)) on its disk (was its root read-only, or the file system not synced at power-off?)")
        }
        guard let parsed = try? ProbeReport.parse(file) else {
            return Check(what: what, expected: "a complete report", seen: "(unreadable)", ok: false,
                         detail: "\(GuestReporter.reportPath(boot: boot)) is not a complete report")
        }
        let same = parsed == serial
        return Check(what: what, expected: "same as the serial port", seen: same ? "same as the serial port" : "different", ok: same,
                     detail: same ? nil : "the report on the disk differs from the one on the serial port")
    }

    /// The domain as it is, with two file-backed serial ports: ttyS0 the console, ttyS1 the
    /// report port. Powering off ends the transient run; the persistent definition is untouched.
    /// With `servers`, each image disk becomes the same device (bus, target, address, serial)
    /// on that image's qemu-nbd socket.
    public static func derive(from real: DomainDefinition, run: RunDirectory, servers: DiskServers? = nil) throws -> DomainDefinition {
        var d = real
        if let servers {
            for i in d.devices.disks.indices {
                guard let src = d.devices.disks[i].source else { continue }
                guard let socket = servers.socket(for: src) else {
                    throw VMSerialError.failed("disk \(d.devices.disks[i].targetDev) of \(real.name) now uses \(src), which is not among the images served for this verify; run verify again")
                }
                d.devices.disks[i] = d.devices.disks[i].onNBDSocket(socket)
            }
        }
        d.onPoweroff = "destroy"
        d.onReboot = "restart"
        d.onCrash = "destroy"
        d.devices.other.removeAll { $0.name == "serial" || $0.name == "console" }
        d.devices.other += ProbeDomain.consoleDevices(console: run.path("console.log"), report: run.path("report.txt"))
        return d
    }
}

/// Guest mode's way of booting: the guest's own OS from its definition as it is now (see
/// `GuestVerifier.derive`); what it does after each report was written into its plan beforehand.
struct GuestBoot: BootMode {
    let run: RunDirectory
    let servers: DiskServers?

    var what: String { "the guest" }
    var awaitsPoweroff: Bool { true }

    func transient(for real: DomainDefinition, actions: [BootAction], live: Bool) throws -> DomainDefinition {
        try GuestVerifier.derive(from: real, run: run, servers: servers)
    }
}

/// Guest mode's appliance and disk servers, kept between verify runs of one caller. Only these
/// and their run folder stay: the reporter is never left on the disk between runs. The caller
/// closes it when it is done (Ctrl-C closes it too).
public final class KeptAppliance: @unchecked Sendable {
    struct Parts {
        let run: RunDirectory
        let servers: DiskServers
        let session: GuestSession

        func close() {
            session.close()
            servers.stop()
            run.remove()
        }
    }

    private let lock = NSLock()
    private var parts: Parts?
    private var token: Int?

    public init() {}

    /// Takes the kept parts out (nil when there are none).
    func take() -> Parts? {
        lock.lock()
        defer { lock.unlock() }
        if let token { Interrupts.shared.remove(token) }
        token = nil
        defer { parts = nil }
        return parts
    }

    func keep(_ p: Parts) {
        lock.lock()
        defer { lock.unlock() }
        parts = p
        token = Interrupts.shared.onInterrupt { [weak self] in self?.close() }
    }

    /// Stops the appliance and the disk servers and removes their run folder.
    public func close() {
        take()?.close()
    }

    deinit { close() }
}

/// What the clean-up of a guest-mode run needs to know, shared with the Ctrl-C handler, which
/// reads it on another thread: every field is behind a lock of its own (`Guarded`).
final class CleanupState: @unchecked Sendable {
    @Guarded var session: GuestSession? = nil
    @Guarded var servers: DiskServers? = nil
    @Guarded var os: OSInfo? = nil
    @Guarded var osFoundBy: String? = nil
    @Guarded var mayHaveInstalled = false
    @Guarded var removed = false
    /// The run folder, removed after a late removal of the reporter succeeded (it holds the journal).
    @Guarded var run: RunDirectory? = nil
}
