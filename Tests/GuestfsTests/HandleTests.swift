import Foundation
import Guestfs
import Testing

/// A handle without an appliance: options, errors and closing. No test here launches.
@Suite("Guestfs handle, no appliance")
struct HandleTests {
    @Test("a call that needs the appliance fails before launch, naming the function, silently")
    func callBeforeLaunch() throws {
        let handle = try Guestfs(options: testOptions)
        defer { handle.close() }
        let (result, stderr) = capturingStandardError {
            Result { try handle.ls("/") }
        }
        let error = try #require(throws: GuestfsError.self) { try result.get() }
        #expect(error.function == "guestfs_ls")
        #expect(error.message.contains("launch"))
        #expect(error.description.hasPrefix("guestfs_ls: "))
        // The error handler is off: the message arrives only in the thrown error.
        #expect(!stderr.contains(error.message))
    }

    @Test("adding a missing image fails and names it")
    func addMissingDrive() throws {
        let handle = try Guestfs(options: testOptions)
        defer { handle.close() }
        let missing = "/nonexistent/vmserial-\(UUID().uuidString).qcow2"
        let error = try #require(throws: GuestfsError.self) {
            try handle.addDrive(missing, format: "qcow2")
        }
        #expect(error.function == "guestfs_add_drive_opts_argv")
        #expect(error.message.contains(missing))
        #expect(error.errno == ENOENT)
    }

    @Test("an unknown image format is rejected when the drive is added")
    func addDriveUnknownFormat() throws {
        let directory = try ScratchDirectory("format")
        defer { directory.remove() }
        let image = directory.file("disk.img")
        #expect(FileManager.default.createFile(atPath: image, contents: Data(count: 1 << 20)))
        let handle = try Guestfs(options: testOptions)
        defer { handle.close() }
        let error = try #require(throws: GuestfsError.self) {
            try handle.addDrive(image, format: "no-such-format", readonly: true)
        }
        #expect(error.message.contains("no-such-format"))
        try handle.addDrive(image, format: "raw", readonly: true)
    }

    @Test("forceTCG true: direct backend with force_tcg; memsize and smp applied")
    func forceTCGOptions() throws {
        let handle = try Guestfs(options: GuestfsOptions(forceTCG: true, memsizeMiB: 700, smp: 2))
        defer { handle.close() }
        #expect(try handle.backend == "direct")
        #expect(try handle.backendSettings.contains("force_tcg=1"))
        #expect(try handle.memsizeMiB == 700)
        #expect(try handle.smp == 2)
    }

    @Test("forceTCG false: direct backend, no force_tcg even if the environment sets it")
    func noForceTCG() throws {
        let handle = try Guestfs(options: GuestfsOptions(forceTCG: false))
        defer { handle.close() }
        #expect(try handle.backend == "direct")
        #expect(try !handle.backendSettings.contains { $0.hasPrefix("force_tcg") })
    }

    @Test("forceTCG nil: the environment's backend, else direct")
    func backendFromEnvironment() throws {
        let handle = try Guestfs(options: GuestfsOptions())
        defer { handle.close() }
        let environment = ProcessInfo.processInfo.environment
        let expected =
            environment["LIBGUESTFS_BACKEND"] ?? environment["LIBGUESTFS_ATTACH_METHOD"] ?? "direct"
        #expect(try handle.backend == expected)
    }

    @Test("close is idempotent; calls after close throw")
    func closeTwice() throws {
        let handle = try Guestfs(options: testOptions)
        #expect(handle.appliancePID == nil)
        handle.killAppliance()  // nothing runs: must do nothing
        handle.close()
        handle.close()
        let error = try #require(throws: GuestfsError.self) { try handle.listDevices() }
        #expect(error.function == "guestfs_list_devices")
        #expect(error.message.contains("closed"))
    }

    @Test("OSInfo equality compares the mountpoints in order")
    func osInfoEquality() {
        let info = OSInfo(
            root: "/dev/sda2", type: "linux", distro: "debian", productName: "Debian 12",
            majorVersion: 12, minorVersion: 0, hostname: "guest",
            mountpoints: [("/", "/dev/sda2"), ("/boot", "/dev/sda1")])
        var other = info
        #expect(info == other)
        other.mountpoints = [("/", "/dev/sda2"), ("/boot", "/dev/sdb1")]
        #expect(info != other)
        other.mountpoints = [("/", "/dev/sda2")]
        #expect(info != other)
        other = info
        other.windowsCurrentControlSet = "ControlSet001"
        #expect(info != other)
    }
}
