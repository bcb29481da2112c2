import DomainXML
import Foundation
import Libvirt
import SerialRegistry

/// What a vmserial process has under way that a kill (SIGKILL, a crash, a power cut) would
/// leave half-done, written into its run folder before the step and gone with the folder after
/// it. The next vmserial run finds the folder of a dead process and finishes or undoes the step
/// (`StaleState`).
public struct Journal: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        /// A launch defines the domain inside the registry's transaction.
        case launch
        /// A migration fills a target file it claimed, then redefines the domain inside the registry's transaction.
        case migrate
        /// `verify --mode guest` serves the disks, starts an appliance, puts the reporter on the
        /// guest's disk and boots the guest (a transient domain of the same name) (`GuestJournal`).
        case verifyGuest = "verify-guest"
    }

    public var kind: Kind
    public var domain: String
    /// launch: the UUID of the definition the launch makes.
    public var uuid: String?
    /// launch: the definition libvirt had before (nil: none, the launch defines a new domain).
    public var previousXML: String?
    /// migrate: the disk's target (vda), its volume, the target file and its (device, inode).
    public var disk: String?
    public var volume: String?
    public var target: String?
    public var device: UInt64?
    public var inode: UInt64?
    public var live: Bool?
    /// verify-guest: the disk images the reporter may be on, as the domain named them when the run began.
    public var drives: [Drive]?
    /// verify-guest: true from just before the reporter is written until it was removed again.
    public var reporter: Bool?
    /// verify-guest: the guest OS the appliance found (how to mount it to take the reporter out).
    public var os: GuestOS?
    /// verify-guest: whether the appliance ran under TCG (the removal starts one the same way).
    public var forceTCG: Bool?
    /// verify-guest: the disk servers and the appliance, each by pid and start time.
    public var processes: [ProcessMark]?
    /// verify-guest: the disk servers' sockets.
    public var sockets: [String]?
    /// verify-guest: the appliance's own temporary folders (libguestfs' sockets and overlays).
    public var applianceFolders: [String]?

    public static let fileName = "journal.json"

    /// A run folder of this process holding the journal (mode 0700: no QEMU needs it).
    static func begin(_ journal: Journal) -> RunDirectory? {
        guard let run = try? RunDirectory(label: "\(journal.kind.rawValue)-\(journal.domain)", qemu: .current) else { return nil }
        guard journal.write(in: run) else {
            run.remove()
            return nil
        }
        return run
    }

    /// Writes (or replaces) the journal in `run` at once: a new file renamed over the old, so a
    /// kill leaves the old journal or the new one, never half of one.
    @discardableResult
    func write(in run: RunDirectory) -> Bool {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        let temporary = run.path(Self.fileName + ".new")
        guard let data = try? e.encode(self), RunDirectory.write(temporary, data, mode: 0o600) else { return false }
        return rename(temporary, run.path(Self.fileName)) == 0
    }
}

/// Cleans what dead vmserial processes left in the run folders' base (`HostPaths.runDirectory`):
/// a run folder is named `<label>-<pid>-<random>`; when that pid no longer runs, its probe or
/// guest domain is destroyed (libvirt's autodestroy normally did that already), its qemu-nbd
/// servers are stopped, a launch or migration it had under way is undone as its own clean-up
/// would have done (a launch the registry never recorded, a partial copy nobody names), and
/// the folder goes. Each thing done is one line to `log`.
public enum StaleState {
    /// Sweeps every stale run folder in `base`. Never fails: what it cannot clean it says.
    public static func sweep(connection: Connection, registry: (any Registry)? = nil, base: String = HostPaths.runDirectory,
                             log: (String) -> Void) {
        for folder in staleFolders(in: base) {
            clean(folder, connection: connection, registry: registry, log: log)
        }
    }

    /// Run folders in `base` whose owner process is gone.
    public static func staleFolders(in base: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        return names.sorted().compactMap { name in
            guard let pid = ownerPID(name), !isAlive(pid) else { return nil }
            let path = (base as NSString).appendingPathComponent(name)
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return nil }
            // Kept on purpose (`--keep`): the user removes it.
            guard !FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent(RunDirectory.keptMarker)) else { return nil }
            return path
        }
    }

    /// The pid in `<label>-<pid>-<random>` (labels may hold dashes; the last two fields are numbers).
    static func ownerPID(_ name: String) -> pid_t? {
        let parts = name.split(separator: "-")
        guard parts.count >= 3, UInt32(parts[parts.count - 1]) != nil, let pid = pid_t(parts[parts.count - 2]), pid > 0 else { return nil }
        return pid
    }

    static func isAlive(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    static func clean(_ folder: String, connection: Connection, registry: (any Registry)?, log: (String) -> Void) {
        let pid = ownerPID((folder as NSString).lastPathComponent).map(String.init) ?? "?"
        var did: [String] = []
        // A short socket folder under /tmp that DiskServers made for this run (see `DiskServers.shortFolderFile`).
        // Taken only when it is what DiskServers makes (mkdtemp's /tmp/vmserial-nbd.XXXXXX) and this
        // user's own: the folder is removed whole, so a path written there by anyone else is ignored.
        let named = (try? String(contentsOfFile: (folder as NSString).appendingPathComponent(DiskServers.shortFolderFile), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let short = named.flatMap { isOwnShortFolder($0) ? $0 : nil }
        let roots = [folder] + (short.map { [$0] } ?? [])
        let servers = nbdServers(under: roots)
        for server in servers { stop(server) }
        if !servers.isEmpty { did.append("stopped \(servers.count) qemu-nbd server\(servers.count == 1 ? "" : "s")") }
        for name in (try? connection.listDomainNames()) ?? [] {
            guard let dom = try? connection.lookupDomain(name: name), (try? dom.isActive) == true,
                  let xml = try? dom.xmlDesc(inactive: false), roots.contains(where: { xml.contains($0 + "/") }) else { continue }
            if (try? dom.destroy()) != nil { did.append("destroyed the probe domain \(name)") }
        }
        let journalPath = (folder as NSString).appendingPathComponent(Journal.fileName)
        if let data = FileManager.default.contents(atPath: journalPath), let j = try? JSONDecoder().decode(Journal.self, from: data) {
            switch j.kind {
            case .launch: did += undoLaunch(j, connection: connection, registry: registry)
            case .migrate: did += undoMigrate(j, connection: connection, registry: registry)
            case .verifyGuest:
                let undone = undoGuestVerify(j, roots: roots, connection: connection, log: log)
                did += undone.did
                guard undone.reporterGone else {
                    // The journal stays, so that the next run tries again (the guest powers itself off until then).
                    for r in roots.dropFirst() { try? FileManager.default.removeItem(atPath: r) }
                    log("cleaned up after a vmserial process that is gone (pid \(pid)), but kept its run folder \(folder) and journal to take the reporter out next time: " + did.joined(separator: "; "))
                    return
                }
            }
        }
        for r in roots { try? FileManager.default.removeItem(atPath: r) }
        let what = did.isEmpty ? "" : ": " + did.joined(separator: "; ")
        log("cleaned up after a vmserial process that is gone (pid \(pid)): removed its run folder \(folder)\(what)")
    }

    /// A launch that defined a new domain and died before the registry recorded it: what its own
    /// undo does (the domain destroyed and undefined). Only a domain with the launch's UUID that
    /// the registry does not know; a redefinition is left to `registry check --repair`.
    static func undoLaunch(_ j: Journal, connection: Connection, registry: (any Registry)?) -> [String] {
        guard let registry, j.previousXML == nil, let uuid = j.uuid else { return [] }
        guard let recorded = try? registry.assignment(vm: j.domain) else {
            // Either no record, or the registry cannot be read: only the first is a launch to undo.
            guard (try? registry.assignments()) != nil else { return [] }
            return undefineIfOurs(j.domain, uuid: uuid, connection: connection)
        }
        if recorded.uuid == uuid.lowercased() { return [] }
        return undefineIfOurs(j.domain, uuid: uuid, connection: connection)
    }

    static func undefineIfOurs(_ name: String, uuid: String, connection: Connection) -> [String] {
        guard let dom = try? connection.lookupDomain(name: name), (try? dom.uuidString.lowercased()) == uuid.lowercased() else { return [] }
        if (try? dom.isActive) == true { try? dom.destroy() }
        guard (try? dom.undefine()) != nil else { return ["could not undefine \(name), which a launch the registry never recorded defined"] }
        return ["undefined \(name): its launch never reached the registry, so nothing of it was kept"]
    }

    /// A migration that died: a block copy still mirroring is aborted (the guest stays on its
    /// source); the target is removed unless the registry or the domain names it (a pivot or a
    /// definition happened: the data is there) or it is no longer the file the migration made.
    static func undoMigrate(_ j: Journal, connection: Connection, registry: (any Registry)?) -> [String] {
        guard let target = j.target, let disk = j.disk else { return [] }
        var did: [String] = []
        let dom = try? connection.lookupDomain(name: j.domain)
        var named = false
        if let dom, (try? dom.isActive) == true, let xml = try? dom.xmlDesc(inactive: false), let live = try? DomainXML.Domain(xml: xml) {
            let source = live.devices.disks.first { $0.targetDev == disk }?.source
            if source != target, (try? dom.blockJobInfo(disk: disk)) != nil {
                if (try? dom.blockJobAbort(disk: disk, pivot: false)) != nil {
                    did.append("aborted the block copy of \(j.domain) disk \(disk) (the guest stays on \(source ?? "its source"))")
                }
            }
            named = named || source == target
        }
        if let dom, let xml = try? dom.xmlDesc(inactive: true), let def = try? DomainXML.Domain(xml: xml) {
            named = named || def.devices.disks.contains { $0.source == target }
        }
        if let registry, let volume = j.volume, let a = try? registry.assignments() {
            named = named || a.contains { $0.disks.contains { $0.volume.value == volume && $0.source == target } }
        }
        guard !named else { return did }
        var st = stat()
        guard lstat(target, &st) == 0 else { return did }
        if let device = j.device, let inode = j.inode {
            guard UInt64(st.st_dev) == device, UInt64(st.st_ino) == inode else {
                return did + ["kept \(target): it is not the file the migration made"]
            }
        } else {
            // Killed while claiming: the claim creates an empty file, then records it. Only an
            // empty regular file is taken for that claim (removing it loses no data either way).
            guard (st.st_mode & S_IFMT) == S_IFREG, st.st_size == 0 else {
                return did + ["kept \(target): it is not the empty file the migration was creating"]
            }
        }
        if unlink(target) == 0 { did.append("removed the partial copy \(target) (the domain and the registry still name the source)") }
        return did
    }

    /// Whether `path` is a socket folder DiskServers made: /tmp/vmserial-nbd.<6 characters>, a
    /// real folder (not a link) owned by this user.
    static func isOwnShortFolder(_ path: String) -> Bool {
        let prefix = "/tmp/vmserial-nbd."
        guard path.hasPrefix(prefix), path.count == prefix.count + 6, !path.dropFirst(prefix.count).contains("/") else { return false }
        var st = stat()
        guard lstat(path, &st) == 0 else { return false }
        return (st.st_mode & S_IFMT) == S_IFDIR && st.st_uid == getuid()
    }

    /// qemu-nbd processes serving a socket inside one of `roots`.
    static func nbdServers(under roots: [String]) -> [pid_t] {
        processes { _, args in
            guard let exe = args.first, (exe as NSString).lastPathComponent == "qemu-nbd" else { return false }
            let sockets = args.compactMap { $0.hasPrefix("--socket=") ? String($0.dropFirst("--socket=".count)) : nil }
            return sockets.contains { s in roots.contains { s.hasPrefix($0 + "/") } }
        }
    }

    /// The pids whose command line (`/proc/PID/cmdline`, split) `matches`.
    static func processes(where matches: (pid_t, [String]) -> Bool) -> [pid_t] {
        let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return procs.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let args = commandLine(pid) else { return nil }
            return matches(pid, args) ? pid : nil
        }
    }

    /// A process's arguments (nil when it is gone or a zombie: the kernel then shows none).
    static func commandLine(_ pid: pid_t) -> [String]? {
        guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !raw.isEmpty else { return nil }
        return raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// SIGTERM (qemu-nbd flushes and closes its image), SIGKILL after 5 s.
    static func stop(_ pid: pid_t) {
        kill(pid, SIGTERM)
        for _ in 0..<100 {
            if !isAlive(pid) || isZombie(pid) { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill(pid, SIGKILL)
    }

    static func isZombie(_ pid: pid_t) -> Bool {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = s.lastIndex(of: ")") else { return false }
        return s[s.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }
}
