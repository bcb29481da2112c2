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
    /// The transient domain started: the probe, or in guest mode the guest itself.
    case verifyProbeStarted = "verify-probe-started"
    /// The boot's reports arrived (probe or guest mode).
    case verifyReported = "verify-reported"
    /// Guest mode: the libguestfs appliance runs (over the disk servers, or the image files).
    case verifyGuestAppliance = "verify-guest-appliance"
    /// Guest mode: the reporter is on the guest's disk and the appliance still runs.
    case verifyGuestInstalled = "verify-guest-installed"
    /// Guest mode: the reports were read back from the disk; the reporter is still there.
    case verifyGuestRead = "verify-guest-read"
    /// Guest mode: the reporter's hooks are removed (not yet written back), its script and state folder not yet.
    case verifyGuestRemoving = "verify-guest-removing"

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
