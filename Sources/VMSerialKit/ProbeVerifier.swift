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

    public init(reboots: Int = 0, relaunch: Bool = false, forceRestart: Bool = false, timeout: Double = 180) {
        self.reboots = reboots
        self.relaunch = relaunch
        self.forceRestart = forceRestart
        self.timeout = timeout
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
        return kinds
    }

    public static func expected(from a: Assignment) -> ExpectedIdentity {
        ExpectedIdentity(uuid: a.uuid, smbiosSerial: a.smbiosSerial, disks: a.disks.map {
            ExpectedDisk(name: $0.name, bus: $0.bus.rawValue, target: $0.target, serial: $0.serial, limit: $0.bus.serialLimit)
        })
    }

    public func verify(domain name: String, options: VerifyOptions) throws -> VerifyReport {
        guard let assignment = try registry.assignment(vm: name) else {
            throw VMSerialError.badInput("vmserial has no record of \(name) in its registry; launch it with `vmserial launch SPEC` (or pass the --registry it was launched with)")
        }
        let dom: Libvirt.Domain
        do {
            dom = try connection.lookupDomain(name: name)
        } catch let e as LibvirtError where e.kind == .noDomain {
            throw VMSerialError.badInput("libvirt at \(connection.uri) has no domain \(name); launch it with `vmserial launch SPEC` or pass --connect")
        }
        let images = try HostPaths.probeImages()
        let expected = Self.expected(from: assignment)

        var restartAfter = false
        if try dom.isActive {
            guard options.forceRestart else {
                throw VMSerialError.badInput("\(name) is running; the probe needs the domain shut off. Shut it down, or pass --force-restart to have vmserial shut it down, probe it and start it again")
            }
            progress("\(name) is running: shutting it down for the probe (--force-restart)")
            try? dom.shutdown()
            if (try? awaitInactive(dom, seconds: 60)) != true {
                progress("\(name) did not shut down within 60 s: destroying it")
                try dom.destroy()
            }
            restartAfter = true
        }
        defer {
            if restartAfter {
                progress("starting \(name) again")
                try? connection.lookupDomain(name: name).start()
            }
        }

        let run = try RunDirectory(label: name)
        defer { run.remove() }
        var report = VerifyReport(domain: name)
        var first: ProbeReport?
        let kinds = Self.plan(options)
        // Group into QEMU processes: each boot/restart/relaunch starts one; guest reboots stay in it.
        var groups: [[Int]] = []
        for (i, k) in kinds.enumerated() {
            if k == "guest-reboot", !groups.isEmpty { groups[groups.count - 1].append(i) } else { groups.append([i]) }
        }
        var overlays: [String: String] = [:]
        for group in groups {
            if kinds[group[0]] == "relaunch" {
                progress("relaunch: undefining \(name) and launching it again from the registry")
                try connection.lookupDomain(name: name).undefine()
                _ = try Launcher(connection: connection, registry: registry).relaunch(vm: name, options: LaunchOptions(start: false))
            }
            let real = try DomainDefinition(xml: connection.lookupDomain(name: name).xmlDesc(inactive: true))
            for s in ProbeDomain.sources(of: real) where overlays[s.source] == nil {
                overlays.merge(try ProbeDomain.makeOverlays(for: real, run: run)) { a, _ in a }
            }
            let probe = ProbeDomain.derive(from: real, images: images, run: run, after: group.count > 1 ? "reboot" : "poweroff",
                                           overlays: overlays)
            let started = Date()
            let reports: [ProbeReport]
            do {
                reports = try boot(probe, expecting: group.count, kinds: group.map { kinds[$0] }, run: run, timeout: options.timeout)
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
            }
        }
        return report
    }

    /// Starts the probe as a transient domain and collects `count` reports from its second serial port.
    func boot(_ probe: DomainDefinition, expecting count: Int, kinds: [String], run: RunDirectory, timeout: Double) throws -> [ProbeReport] {
        let reportFile = run.path("report.txt"), consoleFile = run.path("console.log")
        for f in [reportFile, consoleFile] { FileManager.default.createFile(atPath: f, contents: nil) }
        progress("booting the probe (\(kinds.joined(separator: ", ")))")
        let dom: Libvirt.Domain
        do {
            dom = try connection.createTransientDomain(xml: probe.xml(), autodestroy: true)
        } catch let e as LibvirtError {
            throw VMSerialError.failed("the probe domain for \(probe.name) did not start: \(e.message)")
        }
        let token = Interrupts.shared.onInterrupt { try? dom.destroy() }
        defer {
            if (try? dom.isActive) == true { try? dom.destroy() }
            Interrupts.shared.remove(token)
        }
        let deadline = Date().addingTimeInterval(timeout * Double(count))
        var text = ""
        var announced = 0
        while true {
            text = (try? String(contentsOfFile: reportFile, encoding: .isoLatin1)) ?? ""
            let done = ProbeReport.countComplete(text)
            if done > announced, done < count {
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
            throw VMSerialError.failed("the probe's report for \(probe.name) is unusable: \(error)\(consoleTail(consoleFile))")
        }
        guard reports.count >= count else {
            let why = Date() > deadline ? "within \(Int(timeout * Double(count))) s (--timeout)" : "before it powered off"
            throw VMSerialError.failed("the probe guest of \(probe.name) sent \(reports.count) of \(count) reports \(why)\(consoleTail(consoleFile))")
        }
        return Array(reports.prefix(count))
    }

    func consoleTail(_ path: String) -> String {
        guard let t = try? String(contentsOfFile: path, encoding: .isoLatin1), !t.isEmpty else { return "; the guest console is empty" }
        let lines = t.split(whereSeparator: \.isNewline).suffix(8)
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
