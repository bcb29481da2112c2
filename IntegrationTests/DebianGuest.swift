import Foundation
import Testing

/// The Debian test guest (`make -C images debian`, images/build-debian.sh): Debian 12 from
/// Debian's packages, systemd as init, Debian's udev building /dev/disk/by-id, Debian's kernel
/// and initramfs-tools initrd, booted by direct kernel boot. Its root is an MBR disk with one
/// ext4 partition labelled `debroot`; its fstab mounts root by LABEL and two data disks by id
/// (``fstabByID``, `nofail`).
///
/// Measured under TCG on the project's machine: see images/README.md ("The Debian guest").
enum DebianGuest {
    static let image = "\(packageRoot)/images/build/debian.qcow2"
    static let kernel = "\(packageRoot)/images/build/debian-vmlinuz"
    static let initrd = "\(packageRoot)/images/build/debian-initrd.img"
    static let rootLabel = "debroot"
    /// `quiet`: the console is a TCG-emulated UART; every kernel line costs boot time.
    static let cmdline = "console=ttyS0 root=LABEL=debroot ro quiet"
    /// systemd, the kernel and the initrd want more than the probe's 256 MiB.
    static let memoryMiB = 768

    /// The image's fstab entries by id: the serial a disk needs for its entry to resolve, and
    /// the by-id name Debian's udev gives it. A disk with another serial (or none) leaves the
    /// entry dangling; `nofail` keeps the boot going.
    static let fstabByID: [(serial: String, bus: String, byID: String, mountpoint: String)] = [
        ("SCN-DATA-0001", "virtio", "virtio-SCN-DATA-0001", "/mnt/data"),
        ("SCN-LOGS-0001", "sata", "ata-QEMU_HARDDISK_SCN-LOGS-0001", "/mnt/logs"),
    ]

    /// The by-id name Debian 12's udev (systemd 252) makes for a whole disk with this serial on
    /// QEMU 7.2, as seen inside the guest (60-persistent-storage.rules): an oracle for the tests
    /// that is written down from the guest, not computed by vmserial's ByIDName. Serials of
    /// vmserial's alphabet (`[A-Za-z0-9_.+-]`, at most 20 characters) come through unchanged.
    /// NVMe disks also get `nvme-QEMU_NVMe_Ctrl_<serial>_1` and `nvme-nvme.1b36-…` links.
    static func byID(bus: String, serial: String) -> String? {
        switch bus {
        case "virtio": "virtio-\(serial)"
        case "sata": "ata-QEMU_HARDDISK_\(serial)"
        case "scsi": "scsi-0QEMU_QEMU_HARDDISK_\(serial)"
        case "nvme": "nvme-QEMU_NVMe_Ctrl_\(serial)"
        default: nil
        }
    }

    /// Records an issue and ends the test when the image was not built.
    static func requireImage() throws {
        for f in [image, kernel, initrd] where !FileManager.default.fileExists(atPath: f) {
            Issue.record("\(f) is missing: run `make -C images debian` (or `make images`)")
            throw CancellationError()
        }
    }
}

extension Sandbox {
    /// Writes a vmserial spec (JSON, in the sandbox) for a VM that boots the Debian guest: disk
    /// `root` (virtio) is a throw-away qcow2 overlay over images/build/debian.qcow2 in the
    /// sandbox (`copy: true`: a full copy instead, for a step that needs the file itself), then
    /// `disks` (blank images in the sandbox unless they name a file). Returns the spec's path;
    /// `vmserial launch SPEC --no-start` defines it.
    @discardableResult
    func debianSpec(_ vm: String, disks: [DiskSpec], rootSerial: String? = nil, copy: Bool = false,
                    machine: String = "pc", extra: [String: Any] = [:]) throws -> String {
        try DebianGuest.requireImage()
        let root = "\(vm)-root.qcow2"
        let path = "\(dir)/\(root)"
        if copy {
            try FileManager.default.copyItem(atPath: DebianGuest.image, toPath: path)
        } else {
            let r = try run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", DebianGuest.image, "-F", "qcow2", path])
            try #require(r.status == 0, "qemu-img create (overlay): \(r.all)")
        }
        var all = [DiskSpec(name: "root", bus: "virtio", serial: rootSerial, file: root)]
        all += disks
        var settings: [String: Any] = [
            "memoryMiB": DebianGuest.memoryMiB,
            "boot": ["kernel": DebianGuest.kernel, "initrd": DebianGuest.initrd, "cmdline": DebianGuest.cmdline],
        ]
        for (k, v) in extra { settings[k] = v }
        return try spec(vm, disks: all, machine: machine, extra: settings)
    }
}

extension DebianGuest {
    /// Whether the root filesystem (ext4 at 1 MiB in the image) has its journal marked for
    /// recovery (INCOMPAT_RECOVER): set while it is mounted read-write, cleared by a clean
    /// unmount or read-only remount, so a guest that shut down cleanly leaves it clear. Reads the
    /// superblock with `qemu-img dd` (works on an overlay; no appliance, no mount).
    static func rootNeedsRecovery(_ image: String, scratch: String) throws -> Bool {
        let r = try run("qemu-img", ["dd", "-f", "qcow2", "-O", "raw", "bs=1024", "count=1026", "if=\(image)", "of=\(scratch)"])
        try #require(r.status == 0, "qemu-img dd: \(r.all)")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: scratch)))
        let sb = 1_048_576 + 1024
        try #require(bytes.count >= sb + 0x64)
        try #require(bytes[sb + 0x38] == 0x53 && bytes[sb + 0x39] == 0xEF, "no ext4 superblock at 1 MiB + 1024 in \(image)")
        let incompat = UInt32(bytes[sb + 0x60]) | UInt32(bytes[sb + 0x61]) << 8 | UInt32(bytes[sb + 0x62]) << 16 | UInt32(bytes[sb + 0x63]) << 24
        return incompat & 0x4 != 0
    }
}

/// A running domain's serial console (ttyS0), read from its pty (`virsh ttyconsole`) on a
/// thread, so a test can wait for what the guest prints (a login prompt) and time it. The
/// guest's output before the console is opened is lost (QEMU drops it while nothing reads).
final class SerialConsole: @unchecked Sendable {
    let text = Locked("")
    private let fd: Int32

    init(domain: String) throws {
        let r = try run("virsh", ["-c", libvirtURI, "ttyconsole", domain])
        let path = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(r.status == 0 && path.hasPrefix("/dev/pts/"), "virsh ttyconsole \(domain): \(r.all)")
        fd = open(path, O_RDONLY | O_NOCTTY)
        try #require(fd >= 0, "cannot open \(path): errno \(errno)")
        // Raw and without echo: an echo would feed the guest's output back to it as input.
        var t = termios()
        if tcgetattr(fd, &t) == 0 { cfmakeraw(&t); tcsetattr(fd, TCSANOW, &t) }
        let fd = fd, text = text
        Thread {
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(fd, &buf, buf.count)
                if n <= 0 { break }  // EIO once QEMU closes the pty
                let chunk = String(decoding: buf[0..<n], as: UTF8.self)
                text.mutate { $0 += chunk }
            }
        }.start()
    }

    deinit { close(fd) }

    /// Waits until the console has shown `needle`; false after `timeout` seconds.
    func wait(for needle: String, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if text.value.contains(needle) { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return text.value.contains(needle)
    }
}
