import Testing
import VMSerialKit

/// How `verify --mode guest` reaches the disks: served by qemu-nbd (one appliance start) unless
/// the plan moves the files, the host confines QEMU, or the user asks for files.
@Suite struct DiskAccessTests {
    @Test func servedByDefault() throws {
        #expect(try GuestVerifier.diskAccess(kinds: [.boot, .guestReboot, .restart, .relaunch], securityModels: ["none"], setting: nil) == .served)
        #expect(try GuestVerifier.diskAccess(kinds: [.boot], securityModels: ["dac"], setting: "served") == .served)
    }

    @Test(arguments: [CycleKind.migrateOffline, .migrateLive])
    func migrationUsesFiles(kind: CycleKind) throws {
        guard case .files(let why) = try GuestVerifier.diskAccess(kinds: [.boot, kind], securityModels: [], setting: nil) else {
            Issue.record("a plan that moves the images must boot the guest on its files")
            return
        }
        #expect(why.contains("--migrate-to"))
    }

    @Test(arguments: ["apparmor", "selinux"])
    func confinedQEMUUsesFiles(model: String) throws {
        guard case .files(let why) = try GuestVerifier.diskAccess(kinds: [.boot], securityModels: [model, "dac"], setting: nil) else {
            Issue.record("\(model) may deny QEMU the socket")
            return
        }
        #expect(why.contains(model))
    }

    @Test func settingChoosesFilesOrIsRefused() throws {
        #expect(try GuestVerifier.diskAccess(kinds: [.boot], securityModels: [], setting: "files") == .files(why: "VMSERIAL_GUEST_DISKS=files"))
        #expect(throws: VMSerialError.self) { try GuestVerifier.diskAccess(kinds: [.boot], securityModels: [], setting: "nbd") }
    }
}
