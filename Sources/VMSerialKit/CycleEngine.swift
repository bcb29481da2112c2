import DomainXML
import Foundation
import Libvirt
import SerialRegistry
import Verifier

/// A VM vmserial manages: its registry record and its libvirt domain.
public struct ResolvedVM {
    public let name: String
    public let assignment: Assignment
    public let domain: Libvirt.Domain

    /// The one lookup every command uses: the registry record, then the libvirt domain; either
    /// missing is bad input that says how to get it.
    public static func resolve(_ name: String, connection: Connection, registry: any Registry) throws -> ResolvedVM {
        guard let assignment = try registry.assignment(vm: name) else {
            throw VMSerialError.noRecord(vm: name, registry: registry.path)
        }
        do {
            return ResolvedVM(name: name, assignment: assignment, domain: try connection.lookupDomain(name: name))
        } catch let e as LibvirtError where e.kind == .noDomain {
            throw VMSerialError.noDomain(name, uri: connection.uri)
        }
    }

    /// What the registry says the VM must present.
    public var expected: ExpectedIdentity {
        ExpectedIdentity(uuid: assignment.uuid, smbiosSerial: assignment.smbiosSerial, disks: assignment.disks.map {
            ExpectedDisk(name: $0.name, bus: $0.bus, target: $0.target, serial: $0.serial)
        })
    }
}

/// One way of booting a VM's hardware and having its guest report: the probe kernel (probe mode),
/// or the guest's own OS with vmserial's reporter in it (guest mode). The scenario runner's
/// observers use both through the verifiers.
protocol BootMode {
    /// "the probe", "the guest": for progress lines and errors.
    var what: String { get }
    /// Whether the guest, once its last report is in, is left to power itself off (its init
    /// unmounts its filesystems, so the next look at its disks finds them clean) rather than
    /// destroyed at once (the probe: nothing of it is kept).
    var awaitsPoweroff: Bool { get }
    /// The transient domain that boots `real`'s hardware for one QEMU process, whose boots end
    /// with `actions` (one per report it is to send).
    mutating func transient(for real: DomainDefinition, actions: [BootAction], live: Bool) throws -> DomainDefinition
}

/// The cycle loop shared by the verify modes: for each QEMU process of the plan, do what its
/// first cycle asks (migrate offline, relaunch), derive the transient domain from the definition
/// as it is now, boot it, collect one report per cycle and compare each with the registry.
struct CycleEngine: ContextHolder {
    var context: Context

    /// One report a guest sent, in boot order; `cycle` is its index in `report.cycles`, nil for a
    /// boot that is not a cycle of its own (the live migration's source boot).
    struct Boot {
        var report: ProbeReport
        var cycle: Int?
    }

    /// Runs every cycle of `plan` into `report`. Returns nil when a boot failed (timeout, no or an
    /// unusable report): `report.error` then says why and the later cycles did not run.
    /// `early`: the first QEMU process, created paused while the caller did other work; its boot
    /// resumes it when it is still what that boot would create (see `EarlyStart`).
    func run(_ vm: ResolvedVM, plan: CyclePlan, options: VerifyOptions, run: RunDirectory, mode: inout some BootMode,
             into report: inout VerifyReport, early: EarlyStart? = nil) throws -> [Boot]? {
        let name = vm.name
        let expected = vm.expected
        var first: ProbeReport?
        var boots: [Boot] = []
        defer { early?.discard() }
        for (g, group) in plan.groups.enumerated() {
            let kind = plan.kinds[group[0]]
            switch kind {
            case .migrateOffline:
                try migrateAll(name, to: options.migrateTo!, live: nil)
            case .relaunch:
                progress("relaunch: undefining \(name) and launching it again from the registry")
                _ = try Launcher(connection: connection, registry: registry).relaunchFromScratch(vm: name)
            case .boot, .guestReboot, .restart, .migrateLive:
                break
            }
            let real = try DomainDefinition(xml: connection.lookupDomain(name: name).xmlDesc(inactive: true))
            timer.lap(.transientXML)
            let live = kind == .migrateLive
            let transient = try mode.transient(for: real, actions: plan.actions(for: group), live: live)
            let started = Date()
            var reports: [ProbeReport]
            do {
                if live {
                    // The guest comes up and reports on the old files; its disks are copied and pivoted
                    // to the new ones while it runs; then the same QEMU process resets and reports again.
                    reports = try boot(transient, expecting: 2, labels: ["live-source", kind.rawValue], run: run,
                                       timeout: options.timeout, what: mode.what) { dom in
                        progress("guest up: copying its disks live into \(options.migrateTo!)")
                        try migrateAll(name, to: options.migrateTo!, live: dom)
                        progress("pivoted to the new files: resetting the running guest")
                        try dom.reset()
                    }
                } else {
                    reports = try boot(transient, expecting: group.count, labels: group.map { plan.kinds[$0].rawValue }, run: run,
                                       timeout: options.timeout, what: mode.what, awaitPoweroff: mode.awaitsPoweroff,
                                       early: g == 0 ? early : nil)
                }
            } catch let e as VMSerialError {
                report.error = e.description
                return nil
            }
            if live {
                boots.append(Boot(report: reports[0], cycle: nil))
                reports = Array(reports.suffix(1))
            }
            let each = Date().timeIntervalSince(started) / Double(group.count)
            for (j, r) in reports.enumerated() {
                let index = group[j]
                var checks = Comparator.checks(expected: expected, domain: real, report: r)
                if let first { checks += Comparator.unchanged(first: first, now: r) } else { first = r }
                report.cycles.append(.init(cycle: index + 1, kind: plan.kinds[index], checks: checks, seconds: each))
                report.reports.append(r)
                boots.append(Boot(report: r, cycle: report.cycles.count - 1))
            }
        }
        return boots
    }

    /// A running domain is refused unless --force-restart; then it is shut down (destroyed after
    /// 60 s) and the caller starts it again at the end. Returns whether it must be restarted.
    func stopForVerify(_ dom: Libvirt.Domain, name: String, options: VerifyOptions, purpose: String) throws -> Bool {
        guard try dom.isActive else { return false }
        guard options.forceRestart else {
            throw VMSerialError.badInput("\(name) is running; \(purpose) needs the domain shut off. Shut it down, or pass --force-restart to have vmserial shut it down, verify it and start it again")
        }
        progress("\(name) is running: shutting it down for \(purpose) (--force-restart)")
        try? dom.shutdown()
        if (try? awaitInactive(dom, seconds: 60)) != true {
            progress("\(name) did not shut down within 60 s: destroying it")
            try dom.destroy()
        }
        return true
    }

    /// Starts `transient` and collects `count` reports from its second serial port.
    func boot(_ transient: DomainDefinition, expecting count: Int, labels: [String], run: RunDirectory, timeout: Double,
              what: String, awaitPoweroff: Bool = false, early: EarlyStart? = nil,
              afterFirstReport: ((Libvirt.Domain) throws -> Void)? = nil) throws -> [ProbeReport] {
        let reportFile = run.path("report.txt"), consoleFile = run.path("console.log")
        let xml = transient.xml()
        // A domain created early from this XML emptied them and has them open (paused, it has
        // written nothing).
        if early?.xml != xml { EarlyStart.emptyFiles(run) }
        progress("booting \(what) (\(labels.joined(separator: ", ")))")
        // Registered before the guest exists: Ctrl-C right after libvirt starts it must still stop it.
        // By name is safe: the real domain is always shut off while its transient copy runs.
        let connection = self.connection
        let token = Interrupts.shared.onInterrupt {
            if let d = try? connection.lookupDomain(name: transient.name), (try? d.isActive) == true { try? d.destroy() }
        }
        // Every write to the report file wakes the loop below, and so does the guest stopping.
        let wake = try FileWake(watching: reportFile)
        // Kept with the run folder (`verify --keep`): what libvirt was given, boot by boot.
        var n = 1
        while FileManager.default.fileExists(atPath: run.path("domain-\(n).xml")) { n += 1 }
        run.write("domain-\(n).xml", Data(xml.utf8), mode: 0o644)
        timer.lap(.transientXML)
        let dom: Libvirt.Domain
        do {
            if let paused = early?.take(matching: xml) {
                dom = paused
                do { try paused.resume() } catch { try? paused.destroy(); throw error }
            } else {
                dom = try connection.createTransientDomain(xml: xml, autodestroy: true)
            }
        } catch let e as LibvirtError {
            Interrupts.shared.remove(token)
            throw VMSerialError.failed("\(what) for \(transient.name) did not start: \(e.message)")
        }
        timer.lap(.libvirtCreate)
        defer {
            if (try? dom.isActive) == true { try? dom.destroy() }
            Interrupts.shared.remove(token)
            timer.lap(.destroy)
        }
        KillPoint.verifyProbeStarted.reached()
        let deadline = Date().addingTimeInterval(timeout * Double(count))
        wake.wakeWhenInactive(dom, timeout: .seconds(timeout * Double(count) + 5))
        var text = ""
        var announced = 0
        var firstByte = false
        while true {
            text = (try? String(contentsOfFile: reportFile, encoding: .isoLatin1)) ?? ""
            if !firstByte, !text.isEmpty {
                firstByte = true
                timer.lap(.guestBoot)
            }
            let done = ProbeReport.countComplete(text)
            if done > announced, done < count {
                if let hook = afterFirstReport, announced == 0 {
                    announced = done
                    do {
                        try hook(dom)
                    } catch let e as VMSerialError {
                        throw e
                    } catch {
                        throw VMSerialError.failed("\(error)")
                    }
                    continue
                }
                progress("cycle \(done) reported; guest rebooting itself (\(labels[done]))")
                announced = done
            }
            if done >= count {
                timer.lap(.report)
                if awaitPoweroff, (try? dom.isActive) == true {
                    // Its init shuts it down cleanly; one that hangs in shutdown is destroyed below.
                    let grace = min(Self.poweroffGrace, max(1, deadline.timeIntervalSinceNow))
                    if (try? dom.waitUntilInactive(timeout: .milliseconds(Int(grace * 1000)))) != true {
                        progress("\(what) did not power itself off within \(Int(grace)) s of its last report: destroying it")
                    }
                    timer.lap(.poweroff)
                }
                break
            }
            if (try? dom.isActive) != true {
                // QEMU has exited; virtlogd may still be writing what it sent last.
                Thread.sleep(forTimeInterval: 0.2)
                text = (try? String(contentsOfFile: reportFile, encoding: .isoLatin1)) ?? ""
                break
            }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { break }
            wake.wait(seconds: left)
        }
        let reports: [ProbeReport]
        do {
            reports = try ProbeReport.parseAll(text)
        } catch {
            throw VMSerialError.failed("the report of \(what) for \(transient.name) is unusable: \(error)\(Self.consoleTail(consoleFile))")
        }
        guard reports.count >= count else {
            let why = Date() > deadline ? "within \(Int(timeout * Double(count))) s (--timeout)" : "before it powered off"
            throw VMSerialError.failed("\(what) of \(transient.name) sent \(reports.count) of \(count) reports \(why)\(Self.consoleTail(consoleFile))")
        }
        KillPoint.verifyReported.reached()
        return Array(reports.prefix(count))
    }

    /// How long a guest has to power itself off after its last report before it is destroyed.
    static let poweroffGrace: Double = 120

    /// Moves every disk of the VM into `dir` (files named <vm>-<disk>.<format>). With `live`, the
    /// copies are taken from that running domain (the transient copy) by block copy and pivot.
    func migrateAll(_ name: String, to dir: String, live: Libvirt.Domain?) throws {
        guard let a = try registry.assignment(vm: name) else { throw RegistryError.notFound(vm: name) }
        var m = Migrator(connection: connection, registry: registry)
        m.log = progress
        for disk in a.disks {
            let def = try DomainDefinition(xml: connection.lookupDomain(name: name).xmlDesc(inactive: true))
            let format = def.devices.disks.first { $0.targetDev == disk.target }?.driverType ?? "raw"
            let target = (dir as NSString).appendingPathComponent("\(name)-\(disk.name).\(format == "qcow2" ? "qcow2" : "img")")
            let p = try m.plan(domain: name, MigrateOptions(disk: disk.name, to: target, format: format, live: live != nil),
                               expectRunning: live != nil)
            progress("migrating disk \(disk.name) (serial \(disk.serial ?? "none")) to \(target)")
            _ = try m.guardingTarget(p) {
                if let live {
                    try m.liveCopy(live, disk: disk.target, target: target, format: format, backing: nil)
                } else {
                    try m.offlineCopy(source: p.source, sourceFormat: p.sourceFormat, target: target, format: format, backing: nil,
                                      total: p.size)
                }
            }
            try m.commit(p)
        }
    }

    /// The last lines of a guest console, as text, for an error message.
    static func consoleTail(_ path: String) -> String {
        guard let t = try? String(contentsOfFile: path, encoding: .isoLatin1), !t.isEmpty else { return "; the guest console is empty" }
        // Firmware draws with ANSI escapes; keep only the text.
        let plain = t.replacingOccurrences(of: "\u{1B}\\[[0-9;?]*[A-Za-z]", with: "", options: .regularExpression)
            .filter { $0 == "\n" || ($0.isASCII && $0.asciiValue! >= 0x20 && $0.asciiValue! < 0x7f) || !$0.isASCII }
        let lines = plain.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.suffix(8)
        return "; last console lines:\n    " + lines.joined(separator: "\n    ")
    }

    /// Whether the domain stopped within `seconds` (woken by libvirt's lifecycle events).
    func awaitInactive(_ dom: Libvirt.Domain, seconds: Double) throws -> Bool {
        try dom.waitUntilInactive(timeout: .milliseconds(Int(seconds * 1000)))
    }
}

/// A boot's QEMU process, created paused ahead of time on a thread of its own, so that libvirt's
/// create (half a second under TCG: QEMU's start and libvirt's setup of it) runs while the caller
/// does other work, such as guest mode's appliance installing the reporter. The guest's CPUs,
/// firmware included, run only when the boot resumes it, so the disk it then reads is the disk as
/// it is at that moment: with served disks (qemu-nbd) QEMU keeps no copy of its own of what it
/// read, and while it is paused it reads nothing.
///
/// The boot takes it only when the XML it would create is the same (`take(matching:)`); anything
/// else (a changed definition, a failed create) is destroyed and the boot creates its own, with
/// the error that create gives. Created with autodestroy: a killed vmserial leaves nothing behind.
final class EarlyStart: @unchecked Sendable {
    let xml: String
    private let lock = NSLock()
    private let created = DispatchSemaphore(value: 0)
    private var domain: Libvirt.Domain?
    private var taken = false

    /// Empties the run folder's report and console files and starts creating the domain.
    init(xml: String, connection: Connection, run: RunDirectory) {
        self.xml = xml
        Self.emptyFiles(run)
        let thread = Thread { [self] in
            let d = try? connection.createTransientDomain(xml: xml, autodestroy: true, paused: true)
            lock.withLock { domain = d }
            created.signal()
        }
        thread.name = "vmserial-early-start"
        thread.start()
    }

    /// The report and console files a boot's domain writes, empty, before it is created.
    static func emptyFiles(_ run: RunDirectory) {
        for f in ["report.txt", "console.log"] { run.write(f, Data()) }
    }

    /// Waits for the create; the paused domain when it was created from `xml`, otherwise nil
    /// (and whatever was created is gone). Only the first call can get the domain.
    func take(matching xml: String) -> Libvirt.Domain? {
        let d = settle()
        guard let d else { return nil }
        guard xml == self.xml else {
            try? d.destroy()
            return nil
        }
        return d
    }

    /// Destroys the domain unless a boot took it (idempotent).
    func discard() {
        try? settle()?.destroy()
    }

    /// Waits for the create once; hands the domain out at most once.
    private func settle() -> Libvirt.Domain? {
        lock.lock()
        let first = !taken
        taken = true
        lock.unlock()
        guard first else { return nil }
        created.wait()
        return lock.withLock { domain }
    }
}
