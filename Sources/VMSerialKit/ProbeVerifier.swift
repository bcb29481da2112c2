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
    /// Probe mode: leave the run folder (each transient domain's XML, the overlays, the console
    /// and report files) in place and say where.
    public var keep = false

    public init(reboots: Int = 0, relaunch: Bool = false, forceRestart: Bool = false, timeout: Double = 180,
                migrateTo: String? = nil, live: Bool = false, keep: Bool = false) {
        self.keep = keep
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
public struct ProbeVerifier: ContextHolder {
    public var context: Context

    public init(connection: Connection, registry: any Registry) {
        context = Context(connection: connection, registry: registry)
    }

    /// The cycles the options ask for.
    public static func plan(_ o: VerifyOptions) -> CyclePlan {
        CyclePlan(reboots: o.reboots, relaunch: o.relaunch, migrate: o.migrateTo != nil, live: o.live)
    }

    public func verify(domain name: String, options: VerifyOptions) throws -> VerifyReport {
        StaleState.sweep(connection: connection, registry: registry, log: progress)
        let vm = try context.resolve(name)
        let images = try HostPaths.probeImages()
        timer.lap(.registryRead)
        let engine = CycleEngine(context: context)
        let restartAfter = try engine.stopForVerify(vm.domain, name: name, options: options, purpose: "the probe")
        defer {
            if restartAfter {
                progress("starting \(name) again")
                try? connection.lookupDomain(name: name).start()
            }
        }

        let run = try RunDirectory(label: name, for: connection, domainXML: try? vm.domain.xmlDesc(inactive: true))
        timer.lap(.runFolder)
        defer {
            if options.keep {
                run.keep()
                progress("kept the run folder \(run.root) (domain-N.xml: each transient domain; overlays; console.log; report.txt)")
            } else {
                run.remove()
            }
        }
        var report = VerifyReport(domain: name)
        var mode = ProbeBoot(images: images, run: run, timer: timer)
        _ = try engine.run(vm, plan: Self.plan(options), options: options, run: run, mode: &mode, into: &report)
        return report
    }
}

/// Probe mode's way of booting: the probe kernel on the domain's hardware, every disk behind a
/// throw-away overlay (made once per image for the whole run).
struct ProbeBoot: BootMode {
    let images: HostPaths.ProbeImages
    let run: RunDirectory
    let timer: StageTimer
    var overlays: [String: String] = [:]

    var what: String { "the probe" }
    var awaitsPoweroff: Bool { false }

    mutating func transient(for real: DomainDefinition, actions: [BootAction], live: Bool) throws -> DomainDefinition {
        overlays = try ProbeDomain.makeOverlays(for: real, run: run, existing: overlays)
        timer.lap(.overlays)
        KillPoint.verifyOverlays.reached()
        // The probe kernel takes one action for all its boots: it reboots until the host has every report.
        let after: BootAction = actions.first == .stay ? .stay : (actions.count > 1 ? .reboot : .poweroff)
        return ProbeDomain.derive(from: real, images: images, run: run, after: after, overlays: overlays, scratchCache: !live)
    }
}
