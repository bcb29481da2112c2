import Foundation

/// Named moments of launch, migrate and verify at which a kill leaves the most to clean up
/// (between a definition and the registry's commit, during a copy, while a probe runs). The kill
/// test (IntegrationTests/KillIntegrationTests.swift) sets VMSERIAL_KILL_AT to one of them: vmserial
/// says so on standard error and waits there to be killed, so that a SIGKILL lands at that exact
/// moment, not somewhere near it. Unset, as everywhere but in that test, this does nothing.
public enum KillPoint: String, CaseIterable, Sendable {
    case launchDefined = "launch-defined"
    case launchStarted = "launch-started"
    case launchCommitted = "launch-committed"
    case migrateClaimed = "migrate-claimed"
    case migrateCopying = "migrate-copying"
    case migrateCopied = "migrate-copied"
    case migrateMirroring = "migrate-mirroring"
    case migratePivoted = "migrate-pivoted"
    case migrateDefined = "migrate-defined"
    case migrateCommitted = "migrate-committed"
    case verifyOverlays = "verify-overlays"
    case verifyProbeStarted = "verify-probe-started"
    case verifyReported = "verify-reported"

    static let wanted = ProcessInfo.processInfo.environment["VMSERIAL_KILL_AT"].flatMap(KillPoint.init(rawValue:))

    /// The line the kill test waits for.
    public var line: String { "vmserial: kill point \(rawValue) reached" }

    /// Waits forever here when VMSERIAL_KILL_AT names this point.
    func reached() {
        guard Self.wanted == self else { return }
        FileHandle.standardError.write(Data((line + "\n").utf8))
        while true { sleep(60) }
    }
}
