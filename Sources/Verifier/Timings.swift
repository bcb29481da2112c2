import Foundation

/// A stage of a verify run, in the order a run passes through them. `verify --timings` reports
/// the monotonic time spent in each (summed over cycles), so a benchmark can say where the time
/// over a bare boot goes.
public enum Stage: String, Codable, Sendable, CaseIterable {
    /// The stale-state sweep, opening the registry record and looking the domain up.
    case registryRead = "registry read"
    /// Opening the libvirt connection.
    case connect = "libvirt connect"
    /// The run folder (and, in guest mode, the disk servers).
    case runFolder = "run folder"
    /// Guest mode: starting the libguestfs appliance.
    case applianceStart = "appliance start"
    /// Guest mode: finding the guest OS on its disks.
    case inspection = "inspection"
    /// Guest mode: writing the reporter onto the guest's disk.
    case reporterInstall = "reporter install"
    /// Probe mode: the throw-away overlays over the disks.
    case overlays = "overlays"
    /// Deriving the transient domain and writing its XML.
    case transientXML = "transient XML"
    /// libvirt's create call, until QEMU runs. Guest mode on served disks creates the first
    /// boot's QEMU paused while the appliance works; there this stage is the wait for that
    /// create, if it is not done yet, and the resume.
    case libvirtCreate = "libvirt create"
    /// From QEMU running to the first byte of the first report.
    case guestBoot = "guest boot to first report line"
    /// From the first byte of a report to the end of the last one (guest reboots included).
    case report = "report to last line"
    /// Guest mode: the guest powering itself off after its last report (its init unmounts).
    case poweroff = "guest's own power-off"
    /// Stopping the transient domain once every report is in.
    case destroy = "destroy"
    /// Guest mode: reading the reports back from the disk and removing the reporter (one mount).
    case readBack = "read-back and removal"
    /// Comparison with the registry, run folder removal, the appliance's exit.
    case cleanup = "clean-up"
}

/// One stage's share of a run.
public struct StageTime: Codable, Sendable, Equatable {
    public var stage: Stage
    public var seconds: Double
    /// How many times the stage ran (cycles, disks).
    public var count: Int

    public init(stage: Stage, seconds: Double, count: Int) {
        self.stage = stage
        self.seconds = seconds
        self.count = count
    }
}

/// Splits a run's monotonic time into stages: each `lap(_:)` gives the time since the previous
/// lap (or since the timer started) to that stage. Laps at every stage boundary account for the
/// whole run; `times` lists the stages in `Stage` order, with the time nothing claimed as `nil`.
public final class StageTimer: @unchecked Sendable {
    private let lock = NSLock()
    private let clock = ContinuousClock()
    private var last: ContinuousClock.Instant
    private var totals: [Stage: (Duration, Int)] = [:]

    public init() { last = clock.now }

    /// Starts counting again from now (the time before is nobody's).
    public func restart() {
        lock.lock()
        defer { lock.unlock() }
        last = clock.now
        totals = [:]
    }

    /// Gives the time since the last lap to `stage`.
    public func lap(_ stage: Stage) {
        lock.lock()
        defer { lock.unlock() }
        let now = clock.now
        let (sum, n) = totals[stage] ?? (.zero, 0)
        totals[stage] = (sum + (now - last), n + 1)
        last = now
    }

    /// Forgets the time since the last lap (work that is no stage of the run, such as waiting on the user).
    public func skip() {
        lock.lock()
        defer { lock.unlock() }
        last = clock.now
    }

    /// The stages that ran, in `Stage` order.
    public var times: [StageTime] {
        lock.lock()
        defer { lock.unlock() }
        return Stage.allCases.compactMap { s in
            totals[s].map { StageTime(stage: s, seconds: Self.seconds($0.0), count: $0.1) }
        }
    }

    static func seconds(_ d: Duration) -> Double {
        let (s, atto) = d.components
        return Double(s) + Double(atto) / 1e18
    }

    /// A small table: stage, seconds, share of the total.
    public static func table(_ times: [StageTime]) -> String {
        let total = times.reduce(0) { $0 + $1.seconds }
        var t = TextTable(header: ["STAGE", "SECONDS", "SHARE", "COUNT"])
        for x in times {
            t.add([x.stage.rawValue, String(format: "%.3f", x.seconds),
                   total > 0 ? String(format: "%.1f%%", 100 * x.seconds / total) : "-", "\(x.count)"])
        }
        t.add(["total", String(format: "%.3f", total), "", ""])
        return t.rendered()
    }
}
