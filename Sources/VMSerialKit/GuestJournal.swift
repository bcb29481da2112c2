import DomainXML
import Foundation
import Guestfs
import Libvirt
import ProcessRunner

extension Journal {
    /// A disk image as the appliance adds it.
    public struct Drive: Codable, Equatable, Sendable {
        public var path: String
        public var format: String
        public var readonly: Bool
    }

    /// What the reporter's removal needs of the guest OS: its root and where each filesystem
    /// mounts (as `OSInfo` has them); the rest of `OSInfo` only names the OS in messages.
    public struct GuestOS: Codable, Equatable, Sendable {
        public struct Mount: Codable, Equatable, Sendable {
            public var mountpoint: String
            public var device: String
        }

        public var root: String
        public var type: String
        public var mountpoints: [Mount]

        init(_ os: OSInfo) {
            root = os.root
            type = os.type
            mountpoints = os.mountpoints.map { Mount(mountpoint: $0.mountpoint, device: $0.device) }
        }

        var info: OSInfo {
            OSInfo(root: root, type: type, distro: "unknown", productName: "unknown", majorVersion: 0, minorVersion: 0,
                   hostname: "unknown", mountpoints: mountpoints.map { ($0.mountpoint, $0.device) })
        }
    }
}

/// A process by pid and start time (clock ticks after boot, field 22 of `/proc/PID/stat`): a pid
/// the kernel has since given to another process does not match, so a sweep never stops a
/// process that is not the one the dead run started.
public struct ProcessMark: Codable, Equatable, Sendable {
    public enum Role: String, Codable, Sendable {
        case diskServer = "qemu-nbd"
        case appliance
    }

    public var role: Role
    public var pid: Int32
    public var start: UInt64

    /// The mark of `pid` while it runs (nil when it is gone).
    public static func of(_ pid: Int32, role: Role) -> ProcessMark? {
        startTime(pid).map { ProcessMark(role: role, pid: pid, start: $0) }
    }

    static func startTime(_ pid: Int32) -> UInt64? {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = s.lastIndex(of: ")") else { return nil }
        // After the command's name: field 3 (the state) is the first, field 22 (starttime) the 20th.
        let fields = s[s.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    /// Whether this very process still runs: the same pid and start time, and the program its role names.
    public var isRunning: Bool {
        guard Self.startTime(pid) == start, let exe = StaleState.commandLine(pid)?.first else { return false }
        let name = (exe as NSString).lastPathComponent
        switch role {
        case .diskServer: return name == "qemu-nbd"
        case .appliance: return name.hasPrefix("qemu-system") || name == "qemu-kvm"
        }
    }
}

/// The journal of one `verify --mode guest` run (`Journal.Kind.verifyGuest`) in its run folder,
/// rewritten at once (`Journal.write`) before each step a kill would leave half-done: the images
/// first, the disk servers and the appliance as soon as they run, the reporter before it is
/// written and again once it is gone. A kill between a process's start and its line here is
/// covered too: the sweep finds disk servers and an appliance over served disks by the run
/// folder's sockets on their command lines, and libguestfs' recovery process stops an
/// appliance whose parent died.
final class GuestJournal {
    private let run: RunDirectory
    private var journal: Journal
    private let progress: (String) -> Void
    private var warned = false

    init(run: RunDirectory, domain: String, drives: [(path: String, format: String, readonly: Bool)], forceTCG: Bool,
         progress: @escaping (String) -> Void) {
        self.run = run
        self.progress = progress
        journal = Journal(kind: .verifyGuest, domain: domain)
        journal.drives = drives.map { Journal.Drive(path: $0.path, format: $0.format, readonly: $0.readonly) }
        journal.forceTCG = forceTCG
        journal.reporter = false
        write()
    }

    /// The disk servers run: their pids and sockets.
    func served(by servers: DiskServers) {
        journal.processes = (journal.processes ?? []).filter { $0.role != .diskServer }
            + servers.pids.compactMap { ProcessMark.of($0, role: .diskServer) }
        journal.sockets = servers.served.map(\.socket)
        write()
    }

    /// An appliance runs: its qemu and libguestfs' folders for it.
    func appliance(_ session: GuestSession) {
        guard let pid = session.handle.appliancePID, let mark = ProcessMark.of(pid, role: .appliance) else { return }
        journal.processes = (journal.processes ?? []).filter { $0.role != .appliance } + [mark]
        journal.applianceFolders = Self.applianceFolders(StaleState.commandLine(pid) ?? [])
        write()
    }

    /// Before the reporter is written (true, with the OS it goes into) and once it is gone (false).
    func reporter(_ mayBeInstalled: Bool, os: OSInfo? = nil) {
        journal.reporter = mayBeInstalled
        if let os { journal.os = Journal.GuestOS(os) }
        write()
    }

    private func write() {
        guard !journal.write(in: run), !warned else { return }
        warned = true
        progress("warning: cannot write the journal in \(run.root): a kill of this run would leave its clean-up to you")
    }

    /// libguestfs' folders of one handle (`…/libguestfsXXXXXX`: its sockets, overlays) named in
    /// the appliance's command line.
    static func applianceFolders(_ args: [String]) -> [String] {
        var found: [String] = []
        for piece in args.flatMap({ $0.split(whereSeparator: { ",=: ".contains($0) }) }) where piece.hasPrefix("/") {
            var path = ""
            for part in piece.split(separator: "/") {
                path += "/" + part
                if isApplianceFolderName(String(part)) {
                    if !found.contains(path) { found.append(path) }
                    break
                }
            }
        }
        return found
    }

    /// `libguestfs` and six letters or digits: what libguestfs' mkdtemp makes.
    static func isApplianceFolderName(_ name: String) -> Bool {
        name.hasPrefix("libguestfs") && name.count == 16 && name.dropFirst(10).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }
}

extension StaleState {
    /// A guest-mode verify that died: its appliance stopped (by pid and start time, or by this
    /// run's sockets on its command line), libguestfs' folders of it removed, and the reporter
    /// taken out of the guest's disk when the journal says it may be there (one appliance start,
    /// over the disks the domain names now, else those the journal names). `reporterGone` is
    /// false when that failed: the caller keeps the journal for the next run.
    static func undoGuestVerify(_ j: Journal, roots: [String], connection: Connection,
                                log: (String) -> Void) -> (did: [String], reporterGone: Bool) {
        var did: [String] = []
        var stopped = Set<pid_t>()
        // Stopped and gone before the removal below opens the images (a running qemu holds their locks).
        for m in j.processes ?? [] where m.isRunning {
            stop(m.pid)
            waitForExit(m.pid)
            stopped.insert(m.pid)
            did.append(m.role == .appliance ? "stopped its libguestfs appliance (pid \(m.pid))" : "stopped its qemu-nbd server (pid \(m.pid))")
        }
        let unmarked = processes { pid, args in
            guard !stopped.contains(pid), let exe = args.first, (exe as NSString).lastPathComponent.hasPrefix("qemu-system") else { return false }
            return args.contains { a in roots.contains { a.contains($0 + "/") } }
        }
        for pid in unmarked {
            stop(pid)
            waitForExit(pid)
            did.append("stopped its libguestfs appliance (pid \(pid), found by its disk servers' sockets)")
        }
        for folder in j.applianceFolders ?? [] where isOwnApplianceFolder(folder) {
            if (try? FileManager.default.removeItem(atPath: folder)) != nil { did.append("removed the appliance's folder \(folder)") }
        }
        guard j.reporter == true else { return (did, true) }
        var drives = (j.drives ?? []).map { (path: $0.path, format: $0.format, readonly: $0.readonly) }
        if let xml = try? connection.lookupDomain(name: j.domain).xmlDesc(inactive: true), let def = try? DomainDefinition(xml: xml),
           let now = try? GuestSession.drives(of: def) {
            drives = now
        }
        do {
            let s = try GuestSession(domain: j.domain, drives: drives, writable: true, forceTCG: j.forceTCG ?? true, progress: log)
            defer { s.close() }
            if let os = j.os { s.adopt(os.info) }
            let left = try ReporterInstaller.remove(s)
            try s.shutdown()
            guard left.isEmpty else {
                return (did + ["could not take all of vmserial's reporter out of \(j.domain)'s disk (\(left.joined(separator: ", ")) still there); the next vmserial run tries again"], false)
            }
            return (did + ["removed vmserial's reporter from \(j.domain)'s disk (it would power the guest off after every boot)"], true)
        } catch {
            return (did + ["could not take vmserial's reporter out of \(j.domain)'s disk (\(error)); the next vmserial run tries again, or run `vmserial verify --mode guest --domain \(j.domain)`"], false)
        }
    }

    /// A libguestfs folder of this user: a real folder (not a link) named as libguestfs names them.
    static func isOwnApplianceFolder(_ path: String) -> Bool {
        guard path.hasPrefix("/"), GuestJournal.isApplianceFolderName((path as NSString).lastPathComponent) else { return false }
        var st = stat()
        guard lstat(path, &st) == 0 else { return false }
        return (st.st_mode & S_IFMT) == S_IFDIR && st.st_uid == geteuid()
    }
}
