import Blocking
import Foundation
import Guestfs
import Testing

/// Real appliances (12-20 s each under TCG on 2 cores), one after the other: two launches in all.
/// The calls that wait on the appliance for seconds (launch, mkfs, inspection, shutdown) run
/// through `offPool`, never on the cooperative pool that other suites share.
@Suite("Guestfs with a running appliance", .serialized)
struct ApplianceTests {
    @Test("partition, format, mount, write and read back files, inspect, shut down")
    func wholeDiskScenario() async throws {
        let directory = try ScratchDirectory("scenario")
        defer { directory.remove() }
        let image = directory.file("disk.qcow2")
        try run(["qemu-img", "create", "-q", "-f", "qcow2", image, "64M"])

        let g = try Guestfs(options: testOptions)
        defer { g.close() }
        try g.addDrive(image, format: "qcow2")
        try await offPool { try g.launch() }

        let pid = try #require(g.appliancePID)
        #expect(kill(pid, 0) == 0)
        if testForceTCG {
            let arguments = try #require(commandLine(pid: pid))
            // Without force_tcg libguestfs asks for "accel=kvm:tcg".
            #expect(arguments.contains("-machine accel=tcg "))
        }

        // Block devices and filesystems.
        #expect(try g.listDevices() == ["/dev/sda"])
        try await offPool { try g.partDisk("/dev/sda", partType: "mbr") }
        #expect(try g.listPartitions() == ["/dev/sda1"])
        try await offPool { try g.mkfs("ext4", "/dev/sda1", label: "vmserial-data") }
        #expect(try g.vfsLabel("/dev/sda1") == "vmserial-data")
        #expect(try g.vfsType("/dev/sda1") == "ext4")
        #expect(try !g.vfsUUID("/dev/sda1").isEmpty)
        try g.setLabel("/dev/sda1", "relabelled")
        #expect(try g.vfsLabel("/dev/sda1") == "relabelled")
        let filesystems = try g.listFilesystems()
        #expect(filesystems.contains { $0.device == "/dev/sda1" && $0.type == "ext4" })
        try g.mount("/dev/sda1", at: "/")

        // Text and binary files.
        try g.mkdirP("/etc/vmserial/sub")
        try g.mkdirP("/etc/vmserial/sub")  // exists already: no error
        try g.write("/etc/vmserial/serial.txt", "disk-0001\nünïcode\n")
        #expect(try g.readText("/etc/vmserial/serial.txt") == "disk-0001\nünïcode\n")
        let binary: [UInt8] =
            [0x00, 0xff, 0x00, 0x0a, 0x80, 0x7f, 0x00] + (0...255).map { UInt8($0) } + [0x00]
        try g.write("/etc/vmserial/blob.bin", binary)
        #expect(try g.readFile("/etc/vmserial/blob.bin") == binary)
        try g.write("/etc/vmserial/empty", [UInt8]())
        #expect(try g.readFile("/etc/vmserial/empty") == [])
        #expect(try g.stat("/etc/vmserial/blob.bin").size == Int64(binary.count))

        // One blkid call gives what the three vfs_* calls give.
        let tags = try g.blkid("/dev/sda1")
        #expect(tags["TYPE"] == (try g.vfsType("/dev/sda1")))
        #expect(tags["UUID"] == (try g.vfsUUID("/dev/sda1")))

        #expect(try g.ls("/etc/vmserial") == ["blob.bin", "empty", "serial.txt", "sub"])
        #expect(try g.exists("/etc/vmserial/serial.txt"))
        #expect(try !g.exists("/etc/vmserial/missing"))
        #expect(try g.isFile("/etc/vmserial/serial.txt"))
        #expect(try !g.isFile("/etc/vmserial/sub"))
        #expect(try g.isDir("/etc/vmserial/sub"))
        #expect(try !g.isDir("/etc/vmserial/serial.txt"))

        // Links: stored target, and the followSymlinks choice of isFile/isDir.
        try g.lnSf(target: "serial.txt", link: "/etc/vmserial/current")
        #expect(try g.readlink("/etc/vmserial/current") == "serial.txt")
        #expect(try g.isSymlink("/etc/vmserial/current"))
        #expect(try !g.isFile("/etc/vmserial/current"))
        #expect(try g.isFile("/etc/vmserial/current", followSymlinks: true))
        try g.lnSf(target: "sub", link: "/etc/vmserial/current")  // -f: replaces the link
        #expect(try g.readlink("/etc/vmserial/current") == "sub")
        #expect(try g.isDir("/etc/vmserial/current", followSymlinks: true))

        // Permissions.
        try g.chmod(0o600, "/etc/vmserial/serial.txt")
        let stat = try g.stat("/etc/vmserial/serial.txt")
        #expect(stat.permissions == 0o600)
        #expect(stat.mode & 0o170000 == 0o100000)  // S_IFREG
        try g.chmod(0o4755, "/etc/vmserial/blob.bin")
        #expect(try g.stat("/etc/vmserial/blob.bin").permissions == 0o4755)

        // Case-insensitive lookup, as Windows paths need.
        try g.mkdirP("/Windows/System32/config")
        try g.touch("/Windows/System32/config/SYSTEM")
        #expect(try g.isFile("/Windows/System32/config/SYSTEM"))
        #expect(
            try g.caseSensitivePath("/windows/SYSTEM32/Config/system")
                == "/Windows/System32/config/SYSTEM")

        // Upload and download through files of this host.
        let local = directory.file("upload.bin")
        let uploaded = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        // Larger than one pread: readFile falls back to a download and still returns every byte.
        let large = directory.file("large.bin")
        let largeBytes = (0..<(Guestfs.smallFile + 12345)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        try Data(largeBytes).write(to: URL(fileURLWithPath: large))
        try g.upload(local: large, remote: "/etc/vmserial/large.bin")
        #expect(try g.readFile("/etc/vmserial/large.bin") == largeBytes)
        try g.rm("/etc/vmserial/large.bin")
        try uploaded.write(to: URL(fileURLWithPath: local))
        try await offPool { try g.upload(local: local, remote: "/etc/vmserial/uploaded.bin") }
        #expect(try g.stat("/etc/vmserial/uploaded.bin").size == Int64(uploaded.count))
        let downloaded = directory.file("download.bin")
        try await offPool { try g.download(remote: "/etc/vmserial/blob.bin", local: downloaded) }
        #expect(FileManager.default.contents(atPath: downloaded) == Data(binary))

        // Removing.
        try g.rm("/etc/vmserial/empty")
        #expect(try !g.exists("/etc/vmserial/empty"))
        #expect(throws: GuestfsError.self) { try g.rm("/etc/vmserial/empty") }
        try g.rmF("/etc/vmserial/serial.txt")
        #expect(try !g.exists("/etc/vmserial/serial.txt"))
        try g.rmF("/etc/vmserial/serial.txt")  // missing: no error
        try g.rmRf("/etc/vmserial")
        #expect(try !g.exists("/etc/vmserial"))
        #expect(try g.ls("/etc") == [])

        // A failure inside the appliance names the path and carries errno.
        let error = try #require(throws: GuestfsError.self) {
            try g.readFile("/etc/no-such-file")
        }
        #expect(error.function == "guestfs_pread")
        #expect(error.message.contains("/etc/no-such-file"))
        #expect(error.errno == ENOENT)

        // Inspection of a minimal Debian root. fstab lists /data first, on a disk that
        // does not exist: it must come back sorted, and be skipped when mounting.
        let uuid = try g.vfsUUID("/dev/sda1")
        try g.mkdirP("/bin")
        try g.mkdirP("/data")
        try g.write("/etc/os-release", """
            PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
            NAME="Debian GNU/Linux"
            VERSION_ID="12"
            ID=debian

            """)
        try g.write("/etc/hostname", "vmserial-guest\n")
        try g.write("/etc/fstab", """
            /dev/vmserial-missing /data ext4 defaults 0 2
            UUID=\(uuid) / ext4 defaults 0 1

            """)
        let roots = try await offPool {
            try g.sync()
            try g.umountAll()
            return try g.inspectOS()
        }
        #expect(roots == ["/dev/sda1"])
        let info = try await offPool { try g.inspectInfo(root: "/dev/sda1") }
        #expect(info.type == "linux")
        #expect(info.distro == "debian")
        #expect(info.productName == "Debian GNU/Linux 12 (bookworm)")
        #expect(info.majorVersion == 12)
        #expect(info.minorVersion == 0)
        #expect(info.hostname == "vmserial-guest")
        #expect(info.mountpoints.map(\.mountpoint) == ["/", "/data"])
        #expect(info.mountpoints.map(\.device) == ["/dev/sda1", "/dev/vmserial-missing"])
        #expect(info.windowsSystemroot == nil && info.windowsCurrentControlSet == nil)
        try await offPool { try g.mountInspected(root: "/dev/sda1", readonly: true) }
        #expect(try g.readText("/etc/hostname") == "vmserial-guest\n")
        #expect(throws: GuestfsError.self) { try g.write("/etc/hostname", "changed") }
        // What is mounted where, and a read-only mount made writable in place (and back).
        #expect(try g.mountpoints().map { "\($0.mountpoint)=\($0.device)" } == ["/=/dev/sda1"])
        try g.remount("/", readWrite: true)
        try g.write("/etc/hostname", "remounted\n")
        #expect(try g.readText("/etc/hostname") == "remounted\n")
        try g.remount("/", readWrite: false)
        #expect(throws: GuestfsError.self) { try g.write("/etc/hostname", "changed") }
        #expect(throws: GuestfsError.self) { try g.remount("/nothing-mounted-here", readWrite: true) }

        try await offPool {
            try g.umountAll()
            try g.shutdown()
        }
        #expect(g.appliancePID == nil)
        try await offPool { g.close() }
        g.close()
        #expect(throws: GuestfsError.self) { try g.listDevices() }
    }

    @Test("killAppliance stops qemu; later calls fail and close still works")
    func killAppliance() async throws {
        let directory = try ScratchDirectory("kill")
        defer { directory.remove() }
        let image = directory.file("disk.raw")
        #expect(FileManager.default.createFile(atPath: image, contents: Data(count: 8 << 20)))

        let g = try Guestfs(options: testOptions)
        defer { g.close() }
        try g.addDrive(image, format: "raw", readonly: true)
        try await offPool { try g.launch() }
        let pid = try #require(g.appliancePID)
        #expect(try g.listDevices() == ["/dev/sda"])

        // From another thread, as a signal clean-up path would.
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            g.killAppliance()
            done.signal()
        }
        done.wait()
        #expect(g.appliancePID == nil)

        let error = try #require(throws: GuestfsError.self) { try g.listDevices() }
        #expect(error.function == "guestfs_list_devices")
        try await offPool { g.close() }
        // close() reaped qemu: no such process any more.
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
    }
}
