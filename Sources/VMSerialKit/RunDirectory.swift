import DomainXML
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Libvirt
import Synchronization

/// Who the QEMU processes that libvirt starts run as. A run folder (overlays, console logs,
/// the disk servers' sockets) is given to this user's group and closed to everyone else:
/// QEMU must reach what is inside, no other local user may.
public struct QemuIdentity: Equatable, Sendable {
    public var uid: uid_t
    public var gid: gid_t
    /// Where the identity was read (for messages).
    public var source: String

    public init(uid: uid_t, gid: gid_t, source: String) {
        self.uid = uid
        self.gid = gid
        self.source = source
    }

    /// This process: QEMU of qemu:///session, or of a system daemon that keeps root (`user = "root"`).
    public static var current: QemuIdentity { QemuIdentity(uid: geteuid(), gid: getegid(), source: "this process") }

    /// QEMU runs as vmserial itself: a folder of mode 0700 is enough.
    public var isCurrentUser: Bool { uid == geteuid() }

    /// The identity libvirt gives the QEMU of a domain on `connection`: the domain's own DAC
    /// `<seclabel>` (static label) when it has one, else the DAC base label of the host's
    /// capabilities (what qemu.conf's user and group resolve to, e.g. `+64055:+64055` for
    /// Debian's libvirt-qemu), else `/etc/libvirt/qemu.conf` for a system URI, else this process.
    public static func of(_ connection: Connection, domainXML: String? = nil, domainType: String? = nil) -> QemuIdentity {
        if let xml = domainXML, let tree = try? XElement.parse(xml),
           let label = tree.all("seclabel").first(where: { $0[attribute: "model"] == "dac" && $0[attribute: "type"] == "static" })?
               .first("label")?.text,
           let id = parse(label: label, source: "the domain's <seclabel>") {
            return id
        }
        if let xml = try? connection.capabilitiesXML(), let id = fromCapabilities(xml, domainType: domainType) { return id }
        let uri = connection.uri
        if uri.contains("/system"), let text = try? String(contentsOfFile: "/etc/libvirt/qemu.conf", encoding: .utf8),
           let id = fromQemuConf(text) {
            return id
        }
        return current
    }

    /// The DAC `<baselabel>` of the capabilities' secmodel for `domainType` (kvm, qemu), else its first.
    static func fromCapabilities(_ xml: String, domainType: String?) -> QemuIdentity? {
        guard let tree = try? XElement.parse(xml),
              let dac = tree.first("host")?.all("secmodel").first(where: { $0.first("model")?.text == "dac" }) else { return nil }
        let labels = dac.all("baselabel")
        let label = labels.first { $0[attribute: "type"] == domainType } ?? labels.first
        return label?.text.flatMap { parse(label: $0, source: "libvirt's capabilities (DAC base label)") }
    }

    /// `user` and `group` of qemu.conf (both commented out: nil, the caller falls back).
    static func fromQemuConf(_ text: String) -> QemuIdentity? {
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard !t.hasPrefix("#"), let eq = t.firstIndex(of: "=") else { continue }
            let key = t[..<eq].trimmingCharacters(in: .whitespaces)
            guard key == "user" || key == "group" else { continue }
            values[key] = t[t.index(after: eq)...].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        guard let user = values["user"] else { return nil }
        return parse(label: user + (values["group"].map { ":" + $0 } ?? ""), source: "/etc/libvirt/qemu.conf")
    }

    /// `user:group` as libvirt writes DAC labels: names, or numbers with a leading `+`. A user
    /// alone takes that user's primary group.
    static func parse(label: String, source: String) -> QemuIdentity? {
        let parts = label.split(separator: ":", maxSplits: 1).map(String.init)
        guard let first = parts.first, let uid = userID(first) else { return nil }
        let gid: gid_t
        if parts.count == 2 {
            guard let g = groupID(parts[1]) else { return nil }
            gid = g
        } else {
            guard let pw = getpwuid(uid) else { return nil }
            gid = pw.pointee.pw_gid
        }
        return QemuIdentity(uid: uid, gid: gid, source: source)
    }

    static func userID(_ s: String) -> uid_t? {
        if s.hasPrefix("+") { return uid_t(s.dropFirst()) }
        if let pw = getpwnam(s) { return pw.pointee.pw_uid }
        return uid_t(s)
    }

    static func groupID(_ s: String) -> gid_t? {
        if s.hasPrefix("+") { return gid_t(s.dropFirst()) }
        if let gr = getgrnam(s) { return gr.pointee.gr_gid }
        return gid_t(s)
    }

    /// Gives `path` to QEMU's group with `mode` (0750 for a folder, 0660 for a socket); for
    /// QEMU running as this process, keeps the owner and takes the group's bits away.
    func restrict(_ path: String, mode: mode_t) throws {
        if isCurrentUser {
            guard chmod(path, mode & 0o700) == 0 else { throw Self.failure(path, "chmod") }
            return
        }
        // The group first, then the mode: at no moment can QEMU's group, or anyone else, reach more.
        guard chown(path, uid_t.max, gid) == 0 else {
            throw VMSerialError.failed("cannot give \(path) to QEMU's group \(gid) (from \(source)): \(String(cString: strerror(errno))). QEMU runs as another user (uid \(uid)); run vmserial as root, or as a member of that group, or use qemu:///session")
        }
        guard chmod(path, mode & 0o770) == 0 else { throw Self.failure(path, "chmod") }
    }

    static func failure(_ path: String, _ call: String) -> VMSerialError {
        .failed("cannot set the permissions of \(path) (\(call)): \(String(cString: strerror(errno)))")
    }
}

/// A private folder for one probe run (overlays, console files, disk servers' sockets), removed
/// afterwards and on Ctrl-C or SIGTERM through `Interrupts`. Mode 0700, or 0750 with the group of
/// the QEMU that libvirt starts when that runs as another user: the guest's console and disks
/// are nobody else's business.
public final class RunDirectory: @unchecked Sendable {
    public let root: String
    /// Who may enter besides vmserial (the group), and whose the sockets inside are.
    public let qemu: QemuIdentity
    private let lock = NSLock()
    private var token: Int?

    /// A run folder for domains on `connection` (QEMU's identity is read from it and `domainXML`).
    public convenience init(label: String, for connection: Connection, domainXML: String? = nil) throws {
        try self.init(label: label, qemu: QemuIdentity.of(connection, domainXML: domainXML))
    }

    /// A run folder in `base` (default: `HostPaths.runDirectory`, VMSERIAL_RUN_DIR) for a QEMU running as `qemu`.
    public init(label: String, qemu: QemuIdentity, base: String = HostPaths.runDirectory) throws {
        let root = (base as NSString).appendingPathComponent("\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            // The base (shared by runs) stays as the admin made it; only this run's folder is new.
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw VMSerialError.failed("cannot create the run folder \(base): \(error.localizedDescription); set VMSERIAL_RUN_DIR to a writable folder")
        }
        // mkdir(2) with 0700 and no intermediate folders: a name someone else made first is an
        // error, never taken over; the group's bits come only after the group is QEMU's.
        guard mkdir(root, 0o700) == 0 else {
            throw VMSerialError.failed("cannot create the run folder \(root): \(String(cString: strerror(errno))); set VMSERIAL_RUN_DIR to a writable folder")
        }
        do {
            try qemu.restrict(root, mode: 0o750)
        } catch {
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
        self.root = root
        self.qemu = qemu
        token = Interrupts.shared.onInterrupt { try? FileManager.default.removeItem(atPath: root) }
    }

    public func path(_ name: String) -> String { (root as NSString).appendingPathComponent(name) }

    /// Creates or replaces the file `name` in this folder with `data`, mode `mode` (no group or
    /// other write bits whatever the umask). Not `FileManager.createFile`: it writes through a
    /// temporary file and fsyncs it, tens of milliseconds on a busy disk, for files that only
    /// have to outlive this process (a kill loses no written data; the journal's own rename
    /// keeps it whole).
    @discardableResult
    public func write(_ name: String, _ data: Data, mode: mode_t = 0o600) -> Bool {
        Self.write(path(name), data, mode: mode)
    }

    static func write(_ path: String, _ data: Data, mode: mode_t) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode & 0o755)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard fchmod(fd, mode & 0o755) == 0 else { return false }
        return data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                offset += n
            }
            return true
        }
    }

    /// Leaves the folder in place (`--keep`): it is no longer removed on Ctrl-C.
    public func keep() {
        if let token { Interrupts.shared.remove(token) }
        token = nil
        // The stale-state sweep leaves a kept folder (and what runs from it) alone.
        write(Self.keptMarker, Data("kept by vmserial pid \(getpid())\n".utf8), mode: 0o644)
    }

    /// The file that marks a folder the user asked to keep (`--keep`).
    public static let keptMarker = "KEPT"


    public func remove() {
        try? FileManager.default.removeItem(atPath: root)
        lock.lock()
        let t = token
        token = nil
        lock.unlock()
        if let t { Interrupts.shared.remove(t) }
    }
}

/// Ctrl-C (SIGINT) and SIGTERM run the registered clean-ups (destroy the probe guest, remove
/// overlays and partial copies), then exit 128 + the signal: 130 for SIGINT, 143 for SIGTERM
/// (what CI runners and systemd send first). Nothing is left half-done.
///
/// How the signals arrive: a handler of vmserial's own, never SIG_IGN. execve(2) resets caught
/// signals to their defaults but keeps ignored ones ignored, so a child spawned under SIG_IGN
/// (before libdispatch's signal sources, which want SIG_IGN first, put their own handler in place
/// on their manager thread: measured) could not be stopped by `RunningProcess.terminate()`. The
/// handler only notes the signal (an atomic) and writes its number to a pipe; a thread of its own
/// reads the pipe and runs the clean-up. `install()` blocks both signals in the calling thread,
/// so every thread started later (the command's, libvirt's event loop, the blocking executor's)
/// keeps them blocked and never sees EINTR: only the signal thread, and for a moment a thread
/// that spawns a child with an empty mask (`RunningProcess`), can take one, and either way the
/// handler runs. Children start with an empty mask and both signals at their defaults.
/// (A sigwait thread alone would not do: a signal landing on that spawning thread would then
/// find the default action and kill vmserial without its clean-up.)
public final class Interrupts: @unchecked Sendable {
    public static let shared = Interrupts()
    private let lock = NSLock()
    private var actions: [Int: () -> Void] = [:]
    private var next = 0
    private var installed = false
    private var signalled: Int32?

    /// Whether an interrupt has begun (its clean-up runs or has run), or a signal is on its way:
    /// noted by the handler, or still pending for this process. A child killed by the same
    /// Ctrl-C (the terminal signals the whole process group) can fail the command's thread
    /// before the signal thread runs; this keeps that failure from being reported as one.
    public var interrupted: Bool {
        lock.lock()
        let began = signalled != nil
        lock.unlock()
        if began || caughtSignal.load(ordering: .sequentiallyConsistent) != 0 { return true }
        var pending = sigset_t()
        sigpending(&pending)
        return Self.handled.contains { sigismember(&pending, $0) == 1 }
    }

    /// The signals handled here.
    static let handled = [SIGINT, SIGTERM]

    /// The exit status for a signal: 128 + its number.
    public static func status(for sig: Int32) -> Int32 { 128 + sig }

    /// Installs the handler (once, from the CLI, before any thread or child process exists:
    /// threads started earlier keep the signals unblocked and see EINTR).
    public func install() {
        lock.lock()
        defer { lock.unlock() }
        guard !installed else { return }
        installed = true
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            FileHandle.standardError.write(Data("vmserial: cannot handle Ctrl-C: pipe: \(String(cString: strerror(errno)))\n".utf8))
            return
        }
        // Not inherited by children; and a burst of signals must never block the handler (extra
        // bytes are dropped, one is enough).
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        signalPipe.store(fds[1], ordering: .sequentiallyConsistent)
        _ = caughtSignal.load(ordering: .sequentiallyConsistent)  // initialised before a handler can read it
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for sig in Self.handled { sigaddset(&blocked, sig) }
        pthread_sigmask(SIG_BLOCK, &blocked, nil)
        for sig in Self.handled {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = noteSignal
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(sig, &action, nil)
        }
        let readEnd = fds[0]
        let handledSet = blocked
        let thread = Thread { [self] in
            var own = handledSet
            pthread_sigmask(SIG_UNBLOCK, &own, nil)
            var byte: UInt8 = 0
            while true {
                let count = read(readEnd, &byte, 1)
                if count == 1 { fire(Int32(byte)) }
                if count == 0 || (count < 0 && errno != EINTR) { return }
            }
        }
        thread.name = "vmserial.signals"
        thread.start()
    }

    func fire(_ sig: Int32) {
        lock.lock()
        guard signalled == nil else {
            // A second signal while cleaning up: the first one's clean-up goes on and exits.
            lock.unlock()
            return
        }
        signalled = sig
        let todo = actions.sorted { $0.key > $1.key }.map(\.value)
        actions = [:]
        lock.unlock()
        let what = sig == SIGTERM ? "terminated (SIGTERM)" : "interrupted"
        FileHandle.standardError.write(Data("\nvmserial: \(what), cleaning up…\n".utf8))
        for a in todo { a() }
        exit(Self.status(for: sig))
    }

    /// Blocks forever once an interrupt has begun: the handler finishes the clean-up and exits.
    public func parkIfInterrupted() {
        guard interrupted else { return }
        while true { sleep(60) }
    }

    /// Registers a clean-up; newest run first.
    @discardableResult
    public func onInterrupt(_ action: @escaping () -> Void) -> Int {
        lock.lock()
        defer { lock.unlock() }
        next += 1
        actions[next] = action
        return next
    }

    public func remove(_ token: Int) {
        lock.lock()
        actions[token] = nil
        lock.unlock()
    }
}

/// A value read and written under a lock of its own: state that a clean-up on the signal
/// thread reads while the command's thread changes it (`CleanupState`).
@propertyWrapper
public final class Guarded<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(wrappedValue: Value) { value = wrappedValue }

    public var wrappedValue: Value {
        get {
            lock.lock()
            defer { lock.unlock() }
            return value
        }
        set {
            lock.lock()
            value = newValue
            lock.unlock()
        }
    }
}

/// The write end of `Interrupts`' pipe, read by the signal handler (-1 before `install()`).
private let signalPipe = Atomic<Int32>(-1)
/// The first signal the handler caught (0: none yet).
private let caughtSignal = Atomic<Int32>(0)

/// The signal handler: only async-signal-safe work (an atomic, write(2)); errno is kept for
/// the interrupted thread.
private func noteSignal(_ sig: Int32) {
    let saved = errno
    _ = caughtSignal.compareExchange(expected: 0, desired: sig, ordering: .sequentiallyConsistent)
    var byte = UInt8(truncatingIfNeeded: sig)
    _ = write(signalPipe.load(ordering: .sequentiallyConsistent), &byte, 1)
    errno = saved
}
