import DomainXML
import Foundation
import Libvirt
import SerialPolicy
import SerialRegistry
import Verifier

public struct VerifyOptions: Sendable {
    /// Further boot cycles after the first: guest-initiated reboots and destroy/start restarts, alternating.
    public var reboots = 0
    /// Undefine the domain, launch it again from the registry, verify once more.
    public var relaunch = false
    /// Shut a running guest down for the probe and start it again afterwards.
    public var forceRestart = false
    /// Seconds one boot may take before the guest counts as silent.
    public var timeout: Double = 180
    /// After the cycles, migrate every disk into this folder (new files) and verify again.
    public var migrateTo: String?
    /// With `migrateTo`: copy while a probe guest runs (block copy and pivot), then reboot that same guest.
    public var live = false

    public init(reboots: Int = 0, relaunch: Bool = false, forceRestart: Bool = false, timeout: Double = 180,
                migrateTo: String? = nil, live: Bool = false) {
        self.reboots = reboots
        self.relaunch = relaunch
        self.forceRestart = forceRestart
        self.timeout = timeout
        self.migrateTo = migrateTo
        self.live = live
    }
}

/// `vmserial verify --mode probe`: boots the domain's own virtual hardware with the probe
/// kernel and compares what the guest reports with what the registry assigned.
public struct ProbeVerifier {
    public let connection: Connection
    public let registry: any Registry
    public var progress: (String) -> Void = { _ in }

    public init(connection: Connection, registry: any Registry) {
        self.connection = connection
        self.registry = registry
    }

    /// The cycle kinds for the options: boot, then guest-reboot / restart alternating, then relaunch.
    public static func plan(_ o: VerifyOptions) -> [String] {
        var kinds = ["boot"]
        for i in 0..<max(0, o.reboots) { kinds.append(i % 2 == 0 ? "guest-reboot" : "restart") }
        if o.relaunch { kinds.append("relaunch") }
        if o.migrateTo != nil { kinds.append(o.live ? "migrate-live" : "migrate-offline") }
        return kinds
    }

    public static func expected(from a: Assignment) -> ExpectedIdentity {
        ExpectedIdentity(uuid: a.uuid, smbiosSerial: a.smbiosSerial, disks: a.disks.map {
            ExpectedDisk(name: $0.name, bus: $0.bus.rawValue, target: $0.target, serial: $0.serial, limit: $0.bus.serialLimit)
        })
    }

    public func verify(domain name: String, options: VerifyOptions) throws -> VerifyReport {
        StaleState.sweep(connection: connection, registry: registry, log: progress)
        let (assignment, dom) = try target(name)
        let images = try HostPaths.probeImages()
        let expected = Self.expected(from: assignment)
        let restartAfter = try stopForVerify(dom, name: name, options: options, purpose: "the probe")
        defer {
            if restartAfter {
                progress("starting \(name) again")
                try? connection.lookupDomain(name: name).start()
            }
        }

        let run = try RunDirectory(label: name, for: connection, domainXML: try? dom.xmlDesc(inactive: true))
        defer { run.remove() }
        var report = VerifyReport(domain: name)
        var first: ProbeReport?
        let kinds = Self.plan(options)
        let groups = Self.groups(kinds)
        var overlays: [String: String] = [:]
        for group in groups {
            let kind = kinds[group[0]]
            if kind == "migrate-offline" {
                try migrateAll(name, to: options.migrateTo!, live: nil)
            }
            if kind == "relaunch" {
                progress("relaunch: undefining \(name) and launching it again from the registry")
                _ = try Launcher(connection: connection, registry: registry).relaunchFromScratch(vm: name)
            }
            let real = try DomainDefinition(xml: connection.lookupDomain(name: name).xmlDesc(inactive: true))
            overlays = try ProbeDomain.makeOverlays(for: real, run: run, existing: overlays)
            KillPoint.verifyOverlays.reached()
            let live = kind == "migrate-live"
            let probe = ProbeDomain.derive(from: real, images: images, run: run,
                                           after: live ? "stay" : (group.count > 1 ? "reboot" : "poweroff"), overlays: overlays,
                                           scratchCache: !live)
            let started = Date()
            var reports: [ProbeReport]
            do {
                if live {
                    // The guest comes up and reports on the old files; its disks are copied and pivoted
                    // to the new ones while it runs; then the same QEMU process resets and reports again.
                    reports = try boot(probe, expecting: 2, kinds: ["live-source", kind], run: run, timeout: options.timeout) { dom in
                        progress("guest up: copying its disks live into \(options.migrateTo!)")
                        try migrateAll(name, to: options.migrateTo!, live: dom)
                        progress("pivoted to the new files: resetting the running guest")
                        try dom.reset()
                    }
                    reports = Array(reports.suffix(1))
                } else {
                    reports = try boot(probe, expecting: group.count, kinds: group.map { kinds[$0] }, run: run, timeout: options.timeout)
                }
            } catch let e as VMSerialError {
                report.error = e.description
                return report
            }
            let each = Date().timeIntervalSince(started) / Double(group.count)
            for (j, r) in reports.enumerated() {
                let index = group[j]
                var checks = Comparator.checks(expected: expected, domain: real, report: r)
                if let first { checks += Comparator.unchanged(first: first, now: r) } else { first = r }
                report.cycles.append(.init(cycle: index + 1, kind: kinds[index], checks: checks, seconds: each))
                report.reports.append(r)
            }
        }
        return report
    }

    /// The VM's registry entry and its libvirt domain, or a bad-input error that says how to get them.
    func target(_ name: String) throws -> (Assignment, Libvirt.Domain) {
        guard let assignment = try registry.assignment(vm: name) else {
            throw VMSerialError.badInput("vmserial has no record of \(name) in its registry; launch it with `vmserial launch SPEC` (or pass the --registry it was launched with)")
        }
        do {
            return (assignment, try connection.lookupDomain(name: name))
        } catch let e as LibvirtError where e.kind == .noDomain {
            throw VMSerialError.badInput("libvirt at \(connection.uri) has no domain \(name); launch it with `vmserial launch SPEC` or pass --connect")
        }
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

    /// Groups cycle indices into QEMU processes: each boot/restart/relaunch/migration starts
    /// one; guest reboots stay in the process before them.
    static func groups(_ kinds: [String]) -> [[Int]] {
        var groups: [[Int]] = []
        for (i, k) in kinds.enumerated() {
            if k == "guest-reboot", !groups.isEmpty { groups[groups.count - 1].append(i) } else { groups.append([i]) }
        }
        return groups
    }

    /// Starts the probe as a transient domain and collects `count` reports from its second serial port.
    func boot(_ probe: DomainDefinition, expecting count: Int, kinds: [String], run: RunDirectory, timeout: Double,
              what: String = "the probe", afterFirstReport: ((Libvirt.Domain) throws -> Void)? = nil) throws -> [ProbeReport] {
        let reportFile = run.path("report.txt"), consoleFile = run.path("console.log")
        for f in [reportFile, consoleFile] { _ = FileManager.default.createFile(atPath: f, contents: nil) }
        progress("booting \(what) (\(kinds.joined(separator: ", ")))")
        // Registered before the guest exists: Ctrl-C right after libvirt starts it must still stop it.
        // By name is safe: the real domain is always shut off while its probe runs.
        let connection = self.connection
        let token = Interrupts.shared.onInterrupt {
            if let d = try? connection.lookupDomain(name: probe.name), (try? d.isActive) == true { try? d.destroy() }
        }
        let dom: Libvirt.Domain
        do {
            dom = try connection.createTransientDomain(xml: probe.xml(), autodestroy: true)
        } catch let e as LibvirtError {
            Interrupts.shared.remove(token)
            throw VMSerialError.failed("\(what) for \(probe.name) did not start: \(e.message)")
        }
        defer {
            if (try? dom.isActive) == true { try? dom.destroy() }
            Interrupts.shared.remove(token)
        }
        KillPoint.verifyProbeStarted.reached()
        let deadline = Date().addingTimeInterval(timeout * Double(count))
        var text = ""
        var announced = 0
        while true {
            text = (try? String(contentsOfFile: reportFile, encoding: .isoLatin1)) ?? ""
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
                progress("cycle \(done) reported; guest rebooting itself (\(kinds[done]))")
                announced = done
            }
            if done >= count { break }
            if (try? dom.isActive) != true {
                // Let QEMU's last writes land before concluding.
                Thread.sleep(forTimeInterval: 0.2)
                text = (try? String(contentsOfFile: reportFile, encoding: .isoLatin1)) ?? ""
                break
            }
            if Date() > deadline { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let reports: [ProbeReport]
        do {
            reports = try ProbeReport.parseAll(text)
        } catch {
            throw VMSerialError.failed("the report of \(what) for \(probe.name) is unusable: \(error)\(consoleTail(consoleFile))")
        }
        guard reports.count >= count else {
            let why = Date() > deadline ? "within \(Int(timeout * Double(count))) s (--timeout)" : "before it powered off"
            throw VMSerialError.failed("\(what) of \(probe.name) sent \(reports.count) of \(count) reports \(why)\(consoleTail(consoleFile))")
        }
        KillPoint.verifyReported.reached()
        return Array(reports.prefix(count))
    }

    /// Moves every disk of the VM into `dir` (files named <vm>-<disk>.<format>). With `live`, the
    /// copies are taken from that running domain (the probe) by block copy and pivot.
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

    func consoleTail(_ path: String) -> String {
        guard let t = try? String(contentsOfFile: path, encoding: .isoLatin1), !t.isEmpty else { return "; the guest console is empty" }
        // Firmware draws with ANSI escapes; keep only the text.
        let plain = t.replacingOccurrences(of: "\u{1B}\\[[0-9;?]*[A-Za-z]", with: "", options: .regularExpression)
            .filter { $0 == "\n" || ($0.isASCII && $0.asciiValue! >= 0x20 && $0.asciiValue! < 0x7f) || !$0.isASCII }
        let lines = plain.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.suffix(8)
        return "; last console lines:\n    " + lines.joined(separator: "\n    ")
    }

    func awaitInactive(_ dom: Libvirt.Domain, seconds: Double) throws -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try !dom.isActive { return true }
            Thread.sleep(forTimeInterval: 0.25)
        }
        return false
    }
}
