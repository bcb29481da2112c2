import Testing
import Verifier

/// How verify's options become cycles, QEMU processes and what the guest does after each boot.
@Suite("Cycle plans: kinds, grouping into processes, boot actions")
struct CyclePlanTests {
    @Test func aSingleBootIsOneProcessThatPowersOff() {
        let plan = CyclePlan(reboots: 0, relaunch: false, migrate: false, live: false)
        #expect(plan.kinds == [.boot])
        #expect(plan.groups == [[0]])
        #expect(plan.bootActions == [.poweroff])
    }

    @Test func rebootsAlternateGuestRebootAndRestart() {
        let plan = CyclePlan(reboots: 3, relaunch: true, migrate: false, live: false)
        #expect(plan.kinds == [.boot, .guestReboot, .restart, .guestReboot, .relaunch])
        // A guest reboot stays in the process before it; a restart and a relaunch start new ones.
        #expect(plan.groups == [[0, 1], [2, 3], [4]])
        #expect(plan.bootActions == [.reboot, .poweroff, .reboot, .poweroff, .poweroff])
        #expect(plan.bootActions.count == plan.kinds.count)
    }

    @Test func aLiveMigrationBootsTwiceInOneProcess() {
        let plan = CyclePlan(reboots: 1, relaunch: false, migrate: true, live: true)
        #expect(plan.kinds == [.boot, .guestReboot, .migrateLive])
        #expect(plan.groups == [[0, 1], [2]])
        // The source boot stays up for the copy and pivot; the reset boot reports and powers off.
        #expect(plan.actions(for: [2]) == [.stay, .poweroff])
        #expect(plan.bootActions == [.reboot, .poweroff, .stay, .poweroff])
        #expect(plan.migrates)
    }

    @Test func anOfflineMigrationIsAProcessOfItsOwn() {
        let plan = CyclePlan(reboots: 0, relaunch: false, migrate: true, live: false)
        #expect(plan.kinds == [.boot, .migrateOffline])
        #expect(plan.groups == [[0], [1]])
        #expect(plan.bootActions == [.poweroff, .poweroff])
        #expect(CyclePlan(reboots: 2, relaunch: true, migrate: false, live: false).migrates == false)
    }

    @Test func negativeRebootsCountAsNone() {
        #expect(CyclePlan(reboots: -3, relaunch: false, migrate: false, live: false).kinds == [.boot])
    }

    @Test func aLeadingGuestRebootStartsAProcess() {
        // Never produced from options, but grouping must not index an empty list.
        #expect(CyclePlan([.guestReboot, .guestReboot]).groups == [[0, 1]])
    }

    /// The names reach JSON, JUnit and the probe's kernel command line: they are a contract.
    @Test func namesAreStable() {
        #expect(CycleKind.allCases.map(\.rawValue) == ["boot", "guest-reboot", "restart", "relaunch", "migrate-offline", "migrate-live"])
        #expect(BootAction.allCases.map(\.rawValue) == ["poweroff", "reboot", "stay"])
    }
}
