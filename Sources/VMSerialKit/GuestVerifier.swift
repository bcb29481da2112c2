import DomainXML
import Foundation
import Guestfs
import Libvirt
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
public struct GuestVerifier {
    public let connection: Connection
    public let registry: any Registry
    public var progress: (String) -> Void = { _ in }

    public init(connection: Connection, registry: any Registry) {
        self.connection = connection
        self.registry = registry
    }

    /// What the guest does after each boot's report, for the cycle kinds of `plan`: guest
    /// reboots continue the same process; a live migration keeps the first boot running ("stay")
    /// until the pivot, then resets it.
    public static func bootActions(kinds: [String]) -> [String] {
        var actions: [String] = []
        for group in ProbeVerifier.groups(kinds) {
            if kinds[group[0]] == "migrate-live" {
                actions += ["stay", "poweroff"]
            } else {
                actions += Array(repeating: "reboot", count: group.count - 1) + ["poweroff"]
            }
        }
        return actions
    }

    /// How guest mode reaches the disks: served by qemu-nbd (one appliance start) or the files (two).
    public enum DiskAccess: Equatable, Sendable {
        case served
        case files(why: String)
    }

    /// Served unless the plan moves disks, the host confines QEMU, or VMSERIAL_GUEST_DISKS=files.
    public static func diskAccess(kinds: [String], securityModels: [String], setting: String?) throws -> DiskAccess {
        switch setting ?? "" {
        case "", "auto", "served":
            break
        case "files":
            return .files(why: "VMSERIAL_GUEST_DISKS=files")
        default:
            throw VMSerialError.badInput("VMSERIAL_GUEST_DISKS=\(setting!) is not known: use served (the default: qemu-nbd, one appliance start) or files (two appliance starts)")
        }
        if kinds.contains(where: { $0.hasPrefix("migrate") }) {
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

    public func verify(domain name: String, options: VerifyOptions) throws -> VerifyReport {
        StaleState.sweep(connection: connection, registry: registry, log: progress)
        var probe = ProbeVerifier(connection: connection, registry: registry)
        probe.progress = progress
        let (assignment, dom) = try probe.target(name)
        let expected = ProbeVerifier.expected(from: assignment)
        var real = try DomainDefinition(xml: dom.xmlDesc(inactive: true))
        let drives = try GuestSession.drives(of: real)
        let forceTCG = try AccelResolver(connection: connection, log: progress).domainType(for: .auto) != "kvm"

        let restartAfter = try probe.stopForVerify(dom, name: name, options: options, purpose: "guest mode")
        defer {
            if restartAfter {
                progress("starting \(name) again")
                try? connection.lookupDomain(name: name).start()
            }
        }

        let kinds = ProbeVerifier.plan(options)
        let actions = Self.bootActions(kinds: kinds)
        let access = try Self.diskAccess(kinds: kinds, securityModels: Self.securityModels(connection),
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
                    progress("warning: \(problem)")
                }
            }
        }

        // Torn down before the reporter's removal above (defers run last first): the appliance and
        // the disk servers hold the images.
        let run = try RunDirectory(label: name, for: connection, domainXML: real.xml())
        defer { run.remove() }
        var kept: GuestSession?     // served disks: the one appliance, waiting through the boots
        var servers: DiskServers?
        defer {
            kept?.close()
            state.session = nil
            servers?.stop()
            state.servers = nil
        }

        // Phase 1: install the reporter.
        let hook: ReporterInstaller.Hook
        do {
            let session: GuestSession
            switch access {
            case .served:
                progress("serving the \(drives.count) disk image\(drives.count == 1 ? "" : "s") of \(name) through qemu-nbd: one appliance for the whole verify")
                let s = try DiskServers(drives: drives, run: run)
                servers = s
                state.servers = s
                session = try GuestSession(domain: name, servers: s, forceTCG: forceTCG, progress: progress)
                kept = session
            case .files(let why):
                progress("the guest boots on its image files (\(why)): the appliance starts again after the boots")
                session = try GuestSession(domain: name, drives: drives, writable: true, forceTCG: forceTCG, progress: progress)
            }
            state.session = session
            session.quickLook = true
            defer {
                if kept == nil {
                    state.session = nil
                    session.close()
                }
            }
            let info = try session.inspect()
            state.os = info
            state.osFoundBy = session.osFoundBy
            progress("found \(ReporterInstaller.describe(info)) on \(info.root) (\(session.osFoundBy ?? "inspection")); installing the reporter")
            state.mayHaveInstalled = info.type == "linux"
            hook = try ReporterInstaller.install(session, actions: actions)
        }

        // Phase 2: the boots.
        var report = VerifyReport(domain: name, mode: "guest")
        report.appliance = .init(diskAccess: kept == nil ? "files" : "served", starts: 1, osFoundBy: state.osFoundBy)
        var first: ProbeReport?
        var serialCopies: [ProbeReport] = []   // every boot's report from the serial port, in boot order
        var bootCycles: [(boot: Int, cycle: Int)] = []
        for group in ProbeVerifier.groups(kinds) {
            let kind = kinds[group[0]]
            if kind == "migrate-offline" {
                try probe.migrateAll(name, to: options.migrateTo!, live: nil)
            }
            if kind == "relaunch" {
                progress("relaunch: undefining \(name) and launching it again from the registry")
                _ = try Launcher(connection: connection, registry: registry).relaunchFromScratch(vm: name)
            }
            real = try DomainDefinition(xml: connection.lookupDomain(name: name).xmlDesc(inactive: true))
            let guest = try Self.derive(from: real, run: run, servers: servers)
            let live = kind == "migrate-live"
            var reports: [ProbeReport]
            let started = Date()
            do {
                if live {
                    reports = try probe.boot(guest, expecting: 2, kinds: ["live-source", kind], run: run, timeout: options.timeout,
                                             what: "the guest") { dom in
                        progress("guest up: copying its disks live into \(options.migrateTo!)")
                        try probe.migrateAll(name, to: options.migrateTo!, live: dom)
                        progress("pivoted to the new files: resetting the running guest")
                        try dom.reset()
                    }
                } else {
                    reports = try probe.boot(guest, expecting: group.count, kinds: group.map { kinds[$0] }, run: run,
                                             timeout: options.timeout, what: "the guest")
                }
            } catch let e as VMSerialError {
                report.error = e.description
                return report
            }
            // A boot that is not a cycle of its own (the live source) still wrote a report file.
            for r in reports { serialCopies.append(r) }
            if live { reports = Array(reports.suffix(1)) }
            let each = Date().timeIntervalSince(started) / Double(group.count)
            for (j, r) in reports.enumerated() {
                let index = group[j]
                var checks = Comparator.checks(expected: expected, domain: real, report: r)
                if let first { checks += Comparator.unchanged(first: first, now: r) } else { first = r }
                report.cycles.append(.init(cycle: index + 1, kind: kinds[index], checks: checks, seconds: each))
                report.reports.append(r)
                bootCycles.append((serialCopies.count - reports.count + j + 1, report.cycles.count - 1))
            }
        }

        // Phase 3: read the reports back from the disk, then remove everything vmserial put there.
        let session: GuestSession
        if let kept {
            progress("reading the reports back through the same appliance")
            try kept.refresh()
            session = kept
        } else {
            real = try DomainDefinition(xml: connection.lookupDomain(name: name).xmlDesc(inactive: true))
            session = try GuestSession(domain: name, drives: try GuestSession.drives(of: real), writable: true,
                                       forceTCG: forceTCG, progress: progress)
            state.session = session
            report.appliance?.starts += 1
            if let os = state.os { session.adopt(os) }
        }
        defer { session.close() }
        let files = try ReporterInstaller.readReports(session)
        for (boot, cycle) in bootCycles {
            report.cycles[cycle].checks.append(Self.diskCopyCheck(boot: boot, serial: serialCopies[boot - 1], file: files[boot]))
        }
        if files.count != actions.count {
            let last = report.cycles.count - 1
            report.cycles[last].checks.append(Check(what: "reports on the guest's disk", expected: "\(actions.count)", seen: "\(files.count)",
                                                    ok: false, detail: "the guest booted \(actions.count) times under vmserial but its disk holds \(files.count) reports"))
        }
        let left = try ReporterInstaller.remove(session)
        state.removed = true
        if !left.isEmpty {
            let last = report.cycles.count - 1
            report.cycles[last].checks.append(Check(what: "reporter removed (\(hook.rawValue))", expected: "(nothing left)",
                                                    seen: left.joined(separator: ","), ok: false,
                                                    detail: "vmserial could not remove its files from the guest"))
        }
        progress("reporter (\(hook.rawValue)) and its reports removed from \(name)")
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

/// What the clean-up of a guest-mode run needs to know, shared with the Ctrl-C handler, which
/// reads it on another thread: every field is behind a lock of its own (`Guarded`).
final class CleanupState: @unchecked Sendable {
    @Guarded var session: GuestSession? = nil
    @Guarded var servers: DiskServers? = nil
    @Guarded var os: OSInfo? = nil
    @Guarded var osFoundBy: String? = nil
    @Guarded var mayHaveInstalled = false
    @Guarded var removed = false
}

/// Waits (at most 5 s) until a process has exited (gone or a zombie): its image locks are then released.
func waitForExit(_ pid: Int32) {
    let end = Date().addingTimeInterval(5)
    while Date() < end {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return }
        if let close = stat.lastIndex(of: ")"), stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z") { return }
        Thread.sleep(forTimeInterval: 0.05)
    }
}
