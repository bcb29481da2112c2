import Foundation
import ProcessRunner

/// Serves a domain's disk images through qemu-nbd, one server per image on a Unix socket, so
/// that two QEMU processes can use the same image one after the other without either closing
/// it: the libguestfs appliance (installs the reporter, later reads the reports back) and the
/// booted guest. The server alone opens the image, so there is one owner of the qcow2 metadata
/// and of QEMU's image lock; the clients see the same guest-visible blocks. The appliance only
/// has to forget its cached blocks (`Guestfs.dropBlockCaches`) before reading what the guest
/// wrote, with nothing mounted meanwhile.
///
/// This is what lets `verify --mode guest` start the appliance once per verify: libguestfs
/// 1.48 cannot hot-plug drives, and the appliance cannot keep a file open that the guest's
/// QEMU must open too.
public final class DiskServers: @unchecked Sendable {
    public struct Served: Sendable {
        public let path: String
        public let socket: String
        public let readonly: Bool
    }

    public let served: [Served]
    /// The file in the run folder that names the short socket folder under /tmp, when there is one.
    public static let shortFolderFile = "nbd-folder"
    private let lock = NSLock()
    private var processes: [RunningProcess]
    private let shortDirectory: String?

    /// Starts a server for each drive and waits until its socket accepts connections.
    /// Sockets live in `run`, or in a short private folder under /tmp when that path would be
    /// longer than a Unix socket address allows. Whoever reaches a socket can read and write the
    /// guest's disk, so each is mode 0660 (0600 when QEMU runs as vmserial's user) with QEMU's
    /// group (`run.qemu`), in a folder only vmserial and that group can enter.
    public init(drives: [(path: String, format: String, readonly: Bool)], run: RunDirectory) throws {
        guard let tool = Command.which("qemu-nbd") else {
            throw VMSerialError.failed("qemu-nbd is not installed; run `make deps` (Debian package qemu-utils)")
        }
        var folder = run.root
        var shortDirectory: String?
        if (folder as NSString).appendingPathComponent("disk00.sock").utf8.count > 100 {
            var template = Array("/tmp/vmserial-nbd.XXXXXX".utf8CString)
            guard mkdtemp(&template) != nil else {
                throw VMSerialError.failed("cannot create a folder for the disk servers' sockets under /tmp: \(String(cString: strerror(errno)))")
            }
            folder = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            do {
                try run.qemu.restrict(folder, mode: 0o750)
            } catch {
                try? FileManager.default.removeItem(atPath: folder)
                throw error
            }
            shortDirectory = folder
            // Named in the run folder, so that the run after a kill finds and removes it (`StaleState`).
            _ = FileManager.default.createFile(atPath: run.path(Self.shortFolderFile), contents: Data(folder.utf8),
                                               attributes: [.posixPermissions: 0o600])
        }
        self.shortDirectory = shortDirectory
        var processes: [RunningProcess] = []
        var served: [Served] = []
        func stopStarted() {
            for p in processes { Self.stop(p) }
            if let shortDirectory { try? FileManager.default.removeItem(atPath: shortDirectory) }
        }
        for (i, d) in drives.enumerated() {
            let socket = (folder as NSString).appendingPathComponent("disk\(i).sock")
            let log = run.path("disk\(i).qemu-nbd.log")
            _ = FileManager.default.createFile(atPath: log, contents: nil, attributes: [.posixPermissions: 0o600])
            // --shared=0: any number of clients at once (the appliance stays connected while the
            // guest runs); --persistent: the server outlives a client's disconnect (a guest reboot).
            let arguments = ["--persistent", "--shared=0", "--format=\(d.format)", "--cache=writeback",
                             "--socket=\(socket)"] + (d.readonly ? ["--read-only"] : []) + [d.path]
            let p: RunningProcess
            do {
                p = try Command(tool, arguments, input: .none, standardOutput: .file(log), standardError: .file(log)).start()
            } catch {
                stopStarted()
                throw VMSerialError.failed("cannot start qemu-nbd for \(d.path): \(error)")
            }
            processes.append(p)
            do {
                try Self.waitForSocket(socket, process: p, log: log, image: d.path)
                // The guest's QEMU may run as another user (libvirt-qemu under qemu:///system): it
                // needs write permission on the socket to connect, through its group and no one else's.
                try run.qemu.restrict(socket, mode: 0o660)
            } catch {
                stopStarted()
                throw error
            }
            served.append(Served(path: d.path, socket: socket, readonly: d.readonly))
        }
        self.processes = processes
        self.served = served
    }

    /// The servers' pids while they run (for the journal of a guest-mode run).
    public var pids: [Int32] {
        lock.lock()
        defer { lock.unlock() }
        return processes.map(\.pid)
    }

    /// The socket that serves `path`, if this set serves it.
    public func socket(for path: String) -> String? {
        served.first { $0.path == path }?.socket
    }

    /// Stops every server (each flushes and closes its image, releasing QEMU's lock on it).
    /// Safe to call more than once and from a Ctrl-C handler.
    public func stop() {
        lock.lock()
        let todo = processes
        processes = []
        lock.unlock()
        for p in todo { Self.stop(p) }
        if let shortDirectory { try? FileManager.default.removeItem(atPath: shortDirectory) }
    }

    deinit { stop() }

    /// SIGTERM (qemu-nbd flushes and closes the image), SIGKILL after 10 s.
    static func stop(_ p: RunningProcess) {
        guard p.isRunning else { return }
        p.terminate()  // the Command's default grace: SIGKILL after 10 s
        p.wait()
    }

    static func waitForSocket(_ socket: String, process p: RunningProcess, log: String, image: String) throws {
        let end = Date().addingTimeInterval(15)
        while Date() < end {
            var st = stat()
            if lstat(socket, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK { return }
            // Waiting on the exit doubles as the pause between two looks at the socket (a file
            // appearing has no event to wait on), so an early exit is seen at once.
            if let exit = p.wait(timeout: .milliseconds(20)) {
                let text = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                let hint = text.contains("lock") ? " (another process, a running VM perhaps, has the image open)" : ""
                throw VMSerialError.failed("qemu-nbd could not serve \(image)\(hint): \(text.isEmpty ? "exit \(exit.status)" : text)")
            }
        }
        stop(p)
        throw VMSerialError.failed("qemu-nbd did not open its socket for \(image) within 15 s")
    }
}
