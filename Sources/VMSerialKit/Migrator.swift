import DomainXML
import Foundation
import Libvirt
import ProcessRunner
import SerialPolicy
import SerialRegistry

public struct MigrateOptions: Sendable {
    /// The disk to move: its spec name (root) or libvirt target (vda).
    public var disk: String
    public var to: String
    /// Target format; default: the source's (qcow2 with --backing).
    public var format: String?
    /// Make the target a qcow2 overlay on this base, holding the same guest-visible data.
    public var backing: String?
    public var live = false
    public var removeSource = false

    public init(disk: String, to: String, format: String? = nil, backing: String? = nil, live: Bool = false, removeSource: Bool = false) {
        self.disk = disk
        self.to = to
        self.format = format
        self.backing = backing
        self.live = live
        self.removeSource = removeSource
    }
}

public struct MigrateResult: Sendable, Codable, Equatable {
    public var domain: String
    public var disk: String
    public var volume: String
    public var serial: String?
    public var from: String
    public var to: String
    public var format: String
    public var backing: String?
    public var live: Bool
    public var bytes: UInt64
    public var seconds: Double
    public var sourceRemoved: Bool
}

/// Moves a disk's data to a new file and keeps its serial: the serial belongs to the volume.
/// All or nothing: on any failure (or Ctrl-C) the domain still points at the original, the
/// original is untouched, the registry is unchanged and the partial target is removed.
public struct Migrator {
    public let connection: Connection
    public let registry: any Registry
    /// (bytes done, bytes total), at most a few times a second.
    public var progress: @Sendable (UInt64, UInt64) -> Void = { _, _ in }
    public var log: (String) -> Void = { _ in }

    public init(connection: Connection, registry: any Registry) {
        self.connection = connection
        self.registry = registry
    }

    /// Everything checked before a byte is copied.
    public struct Plan: Sendable {
        public var domain: String
        public var assigned: AssignedDisk
        public var definition: DomainDefinition
        public var index: Int
        public var source: String
        public var sourceFormat: String
        public var target: String
        public var format: String
        public var options: MigrateOptions
        /// Bytes the copy counts towards (for progress).
        public var size: UInt64
    }

    /// Checks a migration: the disk, the domain's state, the target, the backing file, free space.
    /// `expectRunning`: nil to take it from `options.live`.
    public func plan(domain name: String, _ o: MigrateOptions, expectRunning: Bool? = nil) throws -> Plan {
        let vm = try Context(connection: connection, registry: registry).resolve(name)
        let (assignment, dom) = (vm.assignment, vm.domain)
        guard let assigned = assignment.disks.first(where: { $0.name == o.disk || $0.target == o.disk }) else {
            throw VMSerialError.badInput("\(name) has no disk \(o.disk); its disks are \(assignment.disks.map { "\($0.name) (\($0.target))" }.joined(separator: ", "))")
        }
        let running = try dom.isActive
        let wantRunning = expectRunning ?? o.live
        if running && !wantRunning {
            throw VMSerialError.badInput("\(name) is running; shut it down for an offline migration, or pass --live to copy while it runs")
        }
        if wantRunning && !running {
            throw VMSerialError.badInput("--live needs \(name) running; it is shut off, so leave out --live for an offline migration")
        }
        let def = try DomainDefinition(xml: dom.xmlDesc(inactive: true))
        guard let index = def.devices.disks.firstIndex(where: { $0.targetDev == assigned.target }),
              let source = def.devices.disks[index].source else {
            throw VMSerialError.badInput("the definition of \(name) has no disk \(assigned.target) with a file; it was changed outside vmserial — re-run `vmserial launch`")
        }
        let sourceFormat = def.devices.disks[index].driverType ?? "raw"
        // The registry records the move from where it has the volume: refuse before a byte is copied.
        let standard = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.path }
        if standard(assigned.source) != standard(source) {
            throw VMSerialError.badInput("disk \(assigned.name) of \(name) is at \(source) in libvirt but at \(assigned.source) in the registry; the definition was changed outside vmserial. Re-run `vmserial launch` with the spec so both agree, then migrate")
        }
        let others = try registry.assignments().filter { $0.vm != name && $0.disks.contains { $0.volume == assigned.volume } }.map(\.vm)
        if !others.isEmpty {
            throw VMSerialError.badInput("volume \(assigned.volume) is also attached to \(others.joined(separator: ", ")); moving it for \(name) alone would split it. Shut those down and detach it first")
        }
        let target = URL(fileURLWithPath: (o.to as NSString).expandingTildeInPath).standardizedFileURL.path
        let format = o.format ?? (o.backing != nil ? "qcow2" : sourceFormat)
        try check(source: source, target: target, format: format, backing: o.backing)
        let size = try spaceNeeded(source: source, sourceFormat: sourceFormat, target: target, format: format)
        return Plan(domain: name, assigned: assigned, definition: def, index: index, source: source, sourceFormat: sourceFormat,
                    target: target, format: format, options: o, size: size.fullyAllocated)
    }

    public func migrate(domain name: String, _ o: MigrateOptions) throws -> MigrateResult {
        StaleState.sweep(connection: connection, registry: registry, log: log)
        let p = try plan(domain: name, o)
        let started = Date()
        let bytes = try guardingTarget(p) {
            o.live
                ? try liveCopy(try connection.lookupDomain(name: name), disk: p.assigned.target, target: p.target, format: p.format,
                               backing: o.backing)
                : try offlineCopy(source: p.source, sourceFormat: p.sourceFormat, target: p.target, format: p.format, backing: o.backing,
                                  total: p.size)
        }
        try commit(p)
        KillPoint.migrateCommitted.reached()
        return finish(p, bytes: bytes, started: started)
    }

    /// Claims the plan's target (created exclusively: a file that appeared since the plan is
    /// refused, never overwritten), runs a copy into it, and on failure or Ctrl-C removes it:
    /// only the file this claim created, never one that took its name meanwhile.
    public func guardingTarget<T>(_ p: Plan, _ copy: () throws -> T) throws -> T {
        // For the run after a kill: which file this migration makes, so that it is removed unless the
        // domain or the registry names it. Written before the file exists, completed once it does.
        var entry = Journal(kind: .migrate, domain: p.domain, disk: p.assigned.target, volume: p.assigned.volume.value,
                            target: p.target, live: p.options.live)
        let journal = Journal.begin(entry)
        defer { journal?.remove() }
        let claim = try TargetClaim(p.target)
        let cleanup = Interrupts.shared.onInterrupt { claim.removeIfStillOurs() }
        defer { Interrupts.shared.remove(cleanup) }
        entry.device = claim.device
        entry.inode = claim.inode
        if let journal { entry.write(in: journal) }
        KillPoint.migrateClaimed.reached()
        do {
            let result = try copy()
            KillPoint.migrateCopied.reached()
            return result
        } catch {
            claim.removeIfStillOurs()
            throw error
        }
    }

    /// Points the domain definition and the registry at the new file, in one transaction.
    public func commit(_ p: Plan) throws {
        var newDef = p.definition
        newDef.devices.disks[p.index].source = p.target
        newDef.devices.disks[p.index].driverType = p.format
        do {
            try registry.recordMove(volume: p.assigned.volume, from: p.source, to: p.target) {
                _ = try connection.defineDomain(xml: newDef.xml())
                KillPoint.migrateDefined.reached()
            }
        } catch {
            throw unrecorded(p, newDefinition: newDef, error: error)
        }
    }

    /// Puts things right after the registry did not record a move (or cannot say whether it did),
    /// and says what the user has to do. The serial belongs to the volume, so whichever file the
    /// domain uses, the guest sees the same disk; what must never happen is deleting a file that
    /// the registry or a running guest may be using.
    func unrecorded(_ p: Plan, newDefinition: DomainDefinition, error: Error) -> Error {
        let disk = "disk \(p.assigned.name) of \(p.domain)"
        let definedSource = (try? DomainDefinition(xml: connection.lookupDomain(name: p.domain).xmlDesc(inactive: true)))?
            .devices.disks.first(where: { $0.targetDev == p.assigned.target })?.source
        let unknown: Bool
        if case RegistryError.commitUnknown = error { unknown = true } else { unknown = false }
        let what = unknown ? "the registry may or may not have recorded the move" : "the registry did not record the move"
        if p.options.live {
            // Since the pivot the running guest writes to the target: it stays, and the definition names it.
            if definedSource != p.target { _ = try? connection.defineDomain(xml: newDefinition.xml()) }
            return VMSerialError.failed("\(error)\n\(what) of \(disk) to \(p.target). The guest runs on \(p.target) since the pivot and the domain's definition names it; \(p.source) is as it was before the copy. The guest sees the same serial either way. Once the registry is back, re-launch the spec with this disk's \"source\" set to \(p.target) so that the registry records the path")
        }
        // Offline: the domain was shut off, so both files hold the same data. The domain goes back
        // to the source; the target goes too unless the registry may name it.
        if definedSource != p.source { _ = try? connection.defineDomain(xml: p.definition.xml()) }
        guard unknown else {
            try? FileManager.default.removeItem(atPath: p.target)
            return error
        }
        return VMSerialError.failed("\(error)\n\(what) of \(disk) to \(p.target). The domain uses \(p.source) again, unchanged; \(p.target) holds the same data and is kept, since the registry may name it. Once the server is back, `vmserial serials --domain \(p.domain)` shows the path the registry has for \(p.assigned.name): if it is \(p.source), delete \(p.target) and migrate again; if it is \(p.target), re-launch the spec with this disk's \"source\" set to \(p.target). The serial stays the same either way")
    }

    func finish(_ p: Plan, bytes: UInt64, started: Date) -> MigrateResult {
        var removed = false
        if p.options.removeSource {
            do {
                try FileManager.default.removeItem(atPath: p.source)
                removed = true
            } catch {
                log("warning: could not remove the old file \(p.source): \(error.localizedDescription)")
            }
        }
        return MigrateResult(domain: p.domain, disk: p.assigned.name, volume: p.assigned.volume.value, serial: p.assigned.serial,
                             from: p.source, to: p.target, format: p.format, backing: p.options.backing, live: p.options.live,
                             bytes: bytes, seconds: Date().timeIntervalSince(started), sourceRemoved: removed)
    }

    func check(source: String, target: String, format: String, backing: String?) throws {
        let fm = FileManager.default
        guard ["qcow2", "raw"].contains(format) else {
            throw VMSerialError.badInput("--format \(format) is not qcow2 or raw")
        }
        if realpath(target) == realpath(source) || target == source {
            throw VMSerialError.badInput("the target \(target) is the disk's current source; give a new path")
        }
        if fm.fileExists(atPath: target) {
            throw VMSerialError.badInput("the target \(target) exists; remove it or choose another path (vmserial never overwrites)")
        }
        let dir = (target as NSString).deletingLastPathComponent
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw VMSerialError.badInput("the target folder \(dir) does not exist; create it first")
        }
        guard fm.isWritableFile(atPath: dir) else {
            throw VMSerialError.badInput("the target folder \(dir) is not writable")
        }
        guard fm.isReadableFile(atPath: source) else {
            throw VMSerialError.badInput("the disk's source \(source) is missing or unreadable")
        }
        if let backing {
            guard format == "qcow2" else {
                throw VMSerialError.badInput("--backing makes the target a qcow2 overlay; it cannot go with --format \(format)")
            }
            guard fm.isReadableFile(atPath: backing) else {
                throw VMSerialError.badInput("the backing file \(backing) does not exist or is not readable")
            }
            if realpath(backing) == realpath(source) {
                throw VMSerialError.badInput("the backing file is the disk's current source; the overlay would depend on the file it replaces")
            }
        }
    }

    func realpath(_ p: String) -> String { URL(fileURLWithPath: p).resolvingSymlinksInPath().path }

    /// What the target needs, after making sure it fits. The copy never needs more than its
    /// fully allocated size, which for a raw or qcow2 target follows from the virtual size alone
    /// (`fullyAllocated`); when that fits in the free space, no `qemu-img measure` runs (a process,
    /// 15-20 ms of every migration). Otherwise `qemu-img measure` says what the copy really needs
    /// (a sparse source needs less), and that must fit.
    func spaceNeeded(source: String, sourceFormat: String, target: String, format: String) throws -> (required: UInt64, fullyAllocated: UInt64) {
        let dir = (target as NSString).deletingLastPathComponent
        if let size = QcowOverlay.virtualSize(of: source, format: sourceFormat),
           let full = Self.fullyAllocated(virtualSize: size, format: format), full <= (try Self.freeBytes(dir)) {
            return (full, full)
        }
        let size = try measure(source: source, sourceFormat: sourceFormat, format: format)
        try checkSpace(target: target, needed: size.required)
        return size
    }

    /// The size of a fully allocated `format` image of `virtualSize` bytes as `qemu-img convert
    /// -O format` makes it (qemu-img measure's "fully-allocated"), nil for a format not worked
    /// out here. raw: the virtual size (in whole sectors). qcow2 with qemu-img's defaults (64 KiB clusters, 16-bit
    /// refcounts, standard L2 entries): the data rounded up to clusters, one header cluster,
    /// L2 tables for every cluster and the L1 table (each rounded up to whole clusters), and the
    /// refcount blocks and table that count all of that and themselves.
    static func fullyAllocated(virtualSize: UInt64, format: String) -> UInt64? {
        // A header's size field may say anything; beyond 2^60 bytes (QEMU itself stops below 2^63)
        // qemu-img measure answers, and the sums below cannot overflow.
        guard virtualSize <= 1 << 60 else { return nil }
        // QEMU counts a disk in whole 512-byte sectors: a raw file of 1000 bytes is a 1024-byte disk.
        let virtualSize = (virtualSize + 511) / 512 * 512
        switch format {
        case "raw":
            return virtualSize
        case "qcow2":
            let cluster: UInt64 = 65536
            func up(_ n: UInt64, _ m: UInt64) -> UInt64 { (n + m - 1) / m * m }
            let data = up(virtualSize, cluster)
            var meta = cluster                                   // header
            let l2Entries = up(data / cluster, cluster / 8)      // whole L2 tables
            meta += l2Entries * 8
            let l1Entries = up(l2Entries * 8 / cluster, cluster / 8)
            meta += l1Entries * 8
            let clusters = (meta + data) / cluster
            let perBlock = cluster * 8 / 16, perTableCluster = cluster / 8
            var blocks: UInt64 = 0, table: UInt64 = 0, n: UInt64 = 0, last: UInt64
            repeat {
                last = n
                blocks = (clusters + table + blocks + perBlock - 1) / perBlock
                table = (blocks + perTableCluster - 1) / perTableCluster
                n = clusters + blocks + table
            } while n != last
            return meta + (blocks + table) * cluster + data
        default:
            return nil
        }
    }

    /// What the target needs (qemu-img measure): `required` bytes, to refuse before copying when
    /// they do not fit, and `fullyAllocated`, the size a progress meter counts towards.
    func measure(source: String, sourceFormat: String, format: String) throws -> (required: UInt64, fullyAllocated: UInt64) {
        let out = try Tool.run("qemu-img", ["measure", "--output=json", "-U", "-f", sourceFormat, "-O", format, source])
        return try Self.parseMeasure(out, source: source)
    }

    /// `qemu-img measure --output=json`: both sizes must be there. Output without them is an
    /// error, not 0 bytes: 0 would pass every free-space check.
    static func parseMeasure(_ out: String, source: String) throws -> (required: UInt64, fullyAllocated: UInt64) {
        let obj = try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        guard let required = Self.byteCount(obj?["required"]), let full = Self.byteCount(obj?["fully-allocated"]) else {
            let shown = out.trimmingCharacters(in: .whitespacesAndNewlines).prefix(200)
            throw VMSerialError.failed("qemu-img measure of \(source) did not say how much space the copy needs (output: \(shown.isEmpty ? "(none)" : String(shown))); nothing was copied. Check that qemu-img (package qemu-utils) works: `qemu-img measure --output=json \(source)`")
        }
        return (required, full)
    }

    static func byteCount(_ v: Any?) -> UInt64? {
        guard let n = v as? NSNumber, n.int64Value >= 0, n.doubleValue == n.doubleValue.rounded() else { return nil }
        return n.uint64Value
    }

    /// The virtual size of an image (bytes the guest sees), for creating the target before the copy.
    func virtualSize(_ path: String, format: String) throws -> UInt64 {
        // qcow2 and raw: read from the header or the file's length here, no qemu-img process.
        if let size = QcowOverlay.virtualSize(of: path, format: format) { return size }
        let out = try Tool.run("qemu-img", ["info", "--output=json", "-U", "-f", format, path])
        let obj = try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        guard let size = Self.byteCount(obj?["virtual-size"]) else {
            throw VMSerialError.failed("qemu-img info of \(path) did not give its virtual size; nothing was copied")
        }
        return size
    }

    func checkSpace(target: String, needed: UInt64) throws {
        let dir = (target as NSString).deletingLastPathComponent
        let free = try Self.freeBytes(dir)
        if needed > free {
            throw VMSerialError.badInput("not enough free space in \(dir): the copy needs \(Self.human(needed)), \(Self.human(free)) are free")
        }
    }

    /// Bytes an unprivileged writer may still use in `dir`'s file system. A statvfs that fails is
    /// an error: skipping the check would start a copy that may fill the disk.
    static func freeBytes(_ dir: String) throws -> UInt64 {
        var s = statvfs()
        guard statvfs(dir, &s) == 0 else {
            throw VMSerialError.failed("cannot tell the free space in \(dir) (statvfs: \(String(cString: strerror(errno)))); nothing was copied. Check the folder, or migrate to another one")
        }
        let free = UInt64(s.f_bavail) * UInt64(s.f_frsize)
        return free
    }

    static func human(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return String(format: i == 0 ? "%.0f %@" : "%.1f %@", v, units[i])
    }

    /// qemu-img convert, with its progress turned into bytes. With a backing file, `-B`
    /// writes only what differs from the base, so the overlay holds the same guest view.
    /// `target` is the file `guardingTarget` claimed: the image is made in it (qemu-img opens
    /// the path as `qemu-img create` did before, never a new file beside it).
    func offlineCopy(source: String, sourceFormat: String, target: String, format: String, backing: String?, total: UInt64) throws -> UInt64 {
        var args = ["convert", "-p", "-f", sourceFormat, "-O", format]
        if let backing {
            try createImage(target, format: format, size: virtualSize(source, format: sourceFormat), backing: backing)
            args += ["-n", "-B", URL(fileURLWithPath: backing).standardizedFileURL.path, "-F", (try? baseFormat(backing)) ?? "raw"]
        }
        // Without a backing file qemu-img makes the image itself in the claimed, empty file (the
        // same file: it opens it without O_EXCL and truncates), one process fewer; a new image
        // reads as zeros, so zeros are not written.
        args += [source, target]
        try runWithProgress("qemu-img", args, total: total)
        return total
    }

    /// Makes an image of `size` bytes (a qcow2 overlay on `backing` when given) in the claimed,
    /// empty file `target`.
    func createImage(_ target: String, format: String, size: UInt64, backing: String?) throws {
        var args = ["create", "-q", "-f", format]
        if let backing {
            args += ["-F", (try? baseFormat(backing)) ?? "raw", "-b", URL(fileURLWithPath: backing).standardizedFileURL.path]
        }
        args += [target, String(size)]
        do {
            _ = try Tool.run("qemu-img", args)
        } catch {
            throw VMSerialError.failed("cannot create the target image \(target): \(error); the domain, the registry and the source are unchanged")
        }
    }

    func runWithProgress(_ tool: String, _ args: [String], total: UInt64) throws {
        guard let path = Command.which(tool) else { throw VMSerialError.failed("\(tool) is not installed; run `make deps`") }
        let progress = self.progress
        let command = Command(path, args, standardOutput: .stream { d in
            // "    (42.00/100%)\r": report the last percentage in the chunk.
            let text = String(decoding: d, as: UTF8.self)
            if let r = text.range(of: #"\((\d+(\.\d+)?)/100%\)"#, options: [.regularExpression, .backwards]) {
                let pct = Double(text[r].dropFirst().prefix { $0 != "/" }) ?? 0
                progress(UInt64(Double(total) * pct / 100), total)
            }
        })
        let running = try command.start()
        let token = Interrupts.shared.onInterrupt { running.terminate() }
        KillPoint.migrateCopying.reached()
        let result = running.wait()
        Interrupts.shared.remove(token)
        guard result.succeeded else {
            let message = result.errorOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            throw VMSerialError.failed("copying the disk failed: \(message.isEmpty ? "qemu-img exited \(result.status)" : message); the domain, the registry and the source are unchanged")
        }
        progress(total, total)
    }

    /// libvirt block copy while the guest runs, then a pivot once source and copy are in sync.
    /// `target` is the file `guardingTarget` claimed: the image (an overlay on `backing` when
    /// given) is made in it and reused, so libvirt never creates or replaces a file there.
    public func liveCopy(_ dom: Libvirt.Domain, disk: String, target: String, format: String, backing: String?) throws -> UInt64 {
        let def = try DomainDefinition(xml: dom.xmlDesc(inactive: false))
        guard let current = def.devices.disks.first(where: { $0.targetDev == disk }), let source = current.source else {
            throw VMSerialError.failed("the running domain has no disk \(disk) with a file to copy")
        }
        try createImage(target, format: format, size: virtualSize(source, format: current.driverType ?? "raw"), backing: backing)
        let reuse = true
        let dest = XElement("disk", [("type", "file")], children: [
            XElement("source", [("file", target)]), XElement("driver", [("name", "qemu"), ("type", format)]),
        ]).rendered()
        let persistent = try dom.isPersistent
        // Registered before the job starts, so neither its READY nor its end can be missed.
        let events = BlockJobEvents(dom, disk: disk)
        defer { events.stop() }
        do {
            try dom.blockCopy(disk: disk, destinationXML: dest, reuseExternal: reuse, transientJob: persistent)
        } catch let e as LibvirtError {
            throw VMSerialError.failed("libvirt could not start the block copy of \(disk): \(e.message)")
        }
        let token = Interrupts.shared.onInterrupt { try? dom.blockJobAbort(disk: disk, pivot: false) }
        defer { Interrupts.shared.remove(token) }
        KillPoint.migrateMirroring.reached()
        var total: UInt64 = 0
        // In sync is libvirt's READY event; the job is read meanwhile only for the progress line.
        let status: BlockJobStatus?
        do {
            status = try events.wait(for: [.ready], timeout: .seconds(3600)) { info in
                guard let info else { return }
                total = info.end
                progress(info.cur, info.end)
            }
        } catch let e as LibvirtError where e.kind == .timeout {
            try? dom.blockJobAbort(disk: disk, pivot: false)
            throw VMSerialError.failed("the block copy of \(disk) did not get in sync within an hour")
        }
        guard status == .ready else {
            throw VMSerialError.failed("the block copy of \(disk) ended before it was in sync\(status.map { " (\($0))" } ?? "")")
        }
        if let info = try? dom.blockJobInfo(disk: disk) {
            total = info.end
            progress(info.cur, info.end)
        }
        do {
            try dom.blockJobAbort(disk: disk, pivot: true)
        } catch let e as LibvirtError {
            try? dom.blockJobAbort(disk: disk, pivot: false)
            throw VMSerialError.failed("the pivot of \(disk) to \(target) failed: \(e.message)")
        }
        // A pivot may complete after the call returns: wait for the job's COMPLETED event.
        _ = try? events.wait(for: [.completed], timeout: .seconds(60))
        KillPoint.migratePivoted.reached()
        return total
    }

    func baseFormat(_ path: String) throws -> String {
        let out = try Tool.run("qemu-img", ["info", "--output=json", "-U", path])
        return ((try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])?["format"] as? String) ?? "raw"
    }
}

/// A migration target this run created: an empty file made with O_CREAT|O_EXCL (a file that
/// appeared since the plan's check is refused, never overwritten), which qemu-img or libvirt
/// then fills. On failure only that file is removed: not a file someone put under its name since.
public final class TargetClaim: @unchecked Sendable {
    public let path: String
    let device: UInt64
    let inode: UInt64
    /// Held open while the claim lives: the file's inode cannot be reused by another file
    /// meanwhile, so (device, inode) identifies it even after someone removed it.
    private var fd: Int32
    private let lock = NSLock()
    private var removed = false

    public init(_ path: String) throws {
        // 0644 less the umask: what qemu-img create gave a copy before.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            if errno == EEXIST {
                throw VMSerialError.badInput("the target \(path) exists (it appeared after the checks); remove it or choose another path (vmserial never overwrites)")
            }
            throw VMSerialError.failed("cannot create the target \(path): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            unlink(path)
            throw VMSerialError.failed("cannot read back the target \(path) it just created: \(String(cString: strerror(errno)))")
        }
        self.path = path
        self.fd = fd
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Whether `path` still names the file this claim created.
    public var isStillOurs: Bool {
        var st = stat()
        return lstat(path, &st) == 0 && UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode
    }

    /// Removes the target if it is still the file this claim created; once.
    public func removeIfStillOurs() {
        lock.lock()
        defer { lock.unlock() }
        guard !removed else { return }
        removed = true
        if isStillOurs { unlink(path) }
        close(fd)
        fd = -1
    }
}
