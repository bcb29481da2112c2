import DomainXML
import Foundation
import Verifier
import Guestfs
import Inspection
import Libvirt
import SerialPolicy

/// One libguestfs appliance over every disk of a domain: launched once, then used for all the
/// reads and writes (never one appliance per file).
///
/// Over image files the appliance holds them open, so a guest cannot boot on them until it is
/// closed (QEMU's image locks; libguestfs 1.48 cannot hot-plug drives). Over `DiskServers`
/// (qemu-nbd) it can stay up while the guest boots on the same servers: `refresh()` then
/// drops its cached blocks before it reads what the guest wrote.
public final class GuestSession {
    public let handle: Guestfs
    public let domain: String
    public private(set) var root: String?
    public private(set) var os: OSInfo?
    /// Set when `os` came from an earlier session over the same disks (`adopt`), not from
    /// inspecting through this handle.
    private var adopted = false
    private var interruptToken: Int?
    /// The appliance's disks and partitions, listed once (each listing waits for udev in the
    /// appliance); the same drives stay attached for the session's life.
    private var blockDevices: [String]?

    /// How many drives were added before the launch.
    private let driveCount: Int

    /// The appliance's whole disks, in the order they were added.
    private var wholeDisks: [String] = []

    /// The root filesystem the quick look left mounted read-only at /, for `mount(readonly:)`.
    private var leftMounted: String?

    /// The appliance's disks and partitions. Only the partitions are listed: libguestfs names
    /// the drives added before the launch /dev/sda, /dev/sdb, … in the order they were added
    /// (its add_drive documentation), so listing the disks too (one more `udevadm settle` in the
    /// appliance, 0.5 s under TCG) tells nothing new. Should a partition name a disk outside
    /// those names, the disks are listed after all.
    func devices() throws -> [String] {
        if let blockDevices { return blockDevices }
        let parts = try guestfs { try handle.listPartitions() }
        var disks = (0..<driveCount).map(Self.applianceDiskName(index:))
        if parts.contains(where: { Self.wholeDisk(ofPartition: $0).map { !disks.contains($0) } ?? true }) {
            disks = try guestfs { try handle.listDevices() }
        }
        wholeDisks = disks
        blockDevices = parts + disks
        return parts + disks
    }

    /// The name libguestfs gives the drive added `index`-th (from 0) before the launch:
    /// /dev/sda … /dev/sdz, /dev/sdaa … /dev/sdzz, /dev/sdaaa, as the kernel names SCSI disks.
    static func applianceDiskName(index: Int) -> String {
        var letters = ""
        var i = index
        while true {
            letters.insert(Character(Unicode.Scalar(UInt8(97 + i % 26))), at: letters.startIndex)
            guard i >= 26 else { break }
            i = i / 26 - 1
        }
        return "/dev/sd" + letters
    }

    /// How the guest names each disk of the definition by id, in its order, and whether
    /// `drives(of:)` attaches it to the appliance (it has a source). Set `guestDisks` from this
    /// before `inspect()`: the quick look then follows fstab entries by /dev/disk/by-id/ names.
    public static func byIDNames(of d: DomainDefinition) -> [(name: ByIDName?, attached: Bool)] {
        d.devices.disks.map { disk in
            let name = disk.device == "disk" ? d.serialBus(of: disk).flatMap { b in disk.serial.map { ByIDName(bus: b, serial: $0) } } : nil
            return (name, disk.source != nil)
        }
    }

    /// The domain's disks by id (`byIDNames(of:)`), for the quick look.
    public var guestDisks: [(name: ByIDName?, attached: Bool)]?

    /// The drives (by the order they were added) whose images read as zeros throughout, as
    /// `ImageContent.readsAsZeros` finds them on the host: the quick look runs no `blkid` on
    /// them. Set it just before `inspect()`, while nothing writes to the images.
    public var blankDrives: Set<Int> = []

    /// `guestDisks` with the appliance's device of each attached one (libguestfs names drives
    /// in the order they were added); nil when the counts disagree.
    func quickLookDisks() throws -> [QuickLook.GuestDisk]? {
        guard let guestDisks else { return nil }
        _ = try devices()
        guard guestDisks.filter(\.attached).count == wholeDisks.count else { return nil }
        var next = wholeDisks.makeIterator()
        return guestDisks.map { QuickLook.GuestDisk(device: $0.attached ? next.next() : nil, name: $0.name) }
    }

    /// The disk images of a domain definition, in its order: (path, format, read-only).
    public static func drives(of d: DomainDefinition) throws -> [(path: String, format: String, readonly: Bool)] {
        var out: [(String, String, Bool)] = []
        for disk in d.devices.disks {
            guard let src = disk.source else { continue }
            guard FileManager.default.fileExists(atPath: src) else {
                throw VMSerialError.badInput("disk image \(src) of domain \(d.name) does not exist; restore it or re-launch with the right source")
            }
            // A disk shared with another VM is never written from here.
            out.append((src, disk.driverType ?? "raw", disk.shareable || disk.readonly))
        }
        guard !out.isEmpty else { throw VMSerialError.badInput("domain \(d.name) has no disk images to look into") }
        return out
    }

    /// Adds the drives and launches the appliance. `writable: false` adds every drive read-only
    /// (libguestfs then puts a throw-away overlay in front, so nothing reaches the images).
    /// `run`: libguestfs' temporary folder goes inside it (a kill leaves it where the sweep looks).
    public convenience init(domain: String, drives: [(path: String, format: String, readonly: Bool)], writable: Bool,
                            forceTCG: Bool, run: RunDirectory? = nil, progress: (String) -> Void) throws {
        try self.init(domain: domain, count: drives.count, how: "", forceTCG: forceTCG, run: run, progress: progress) { h in
            for d in drives { try h.addDrive(d.path, format: d.format, readonly: !writable || d.readonly) }
        }
    }

    /// Launches the appliance over the disks `servers` serve (qemu-nbd), in their order: the
    /// images stay open in the servers, so a guest can boot on them while this appliance waits
    /// (call `refresh()` before reading what the guest wrote).
    public convenience init(domain: String, servers: DiskServers, forceTCG: Bool, run: RunDirectory? = nil,
                            progress: (String) -> Void) throws {
        try self.init(domain: domain, count: servers.served.count, how: " (served by qemu-nbd)", forceTCG: forceTCG,
                      run: run, progress: progress) { h in
            for s in servers.served { try h.addNBDDrive(socket: s.socket, readonly: s.readonly) }
        }
    }

    private init(domain: String, count: Int, how: String, forceTCG: Bool, run: RunDirectory?, progress: (String) -> Void,
                 add: (Guestfs) throws -> Void) throws {
        self.domain = domain
        driveCount = count
        do {
            handle = try Guestfs(options: GuestfsOptions(forceTCG: forceTCG, appliancePath: HostPaths.fixedAppliance(),
                                                         temporaryFolder: run?.root))
            try add(handle)
        } catch let e as GuestfsError {
            throw VMSerialError.failed("libguestfs could not open the disks of \(domain): \(e.message)")
        }
        let h = handle
        interruptToken = Interrupts.shared.onInterrupt { h.killAppliance() }
        progress("starting the libguestfs appliance over \(count) disk\(count == 1 ? "" : "s") of \(domain)\(how)\(forceTCG ? " (TCG: about 10 s)" : "")")
        do {
            try handle.launch()
        } catch let e as GuestfsError {
            close()
            throw VMSerialError.failed("the libguestfs appliance did not start: \(e.message); `libguestfs-test-tool` shows why (on hosts without working KVM set LIBGUESTFS_BACKEND_SETTINGS=force_tcg)")
        }
    }

    /// Unmounts everything and forgets every cached block, so that what a guest wrote through
    /// the same disk servers since is read from the disks, not from this appliance's caches.
    public func refresh() throws {
        // The devices that get mounted: the OS's root and mountpoints once known, else every device.
        guard let os else {
            let all = try devices()
            try guestfs {
                try handle.umountAll()
                try handle.dropBlockCaches(of: all)
            }
            return
        }
        try guestfs {
            try handle.umountAll()
            try handle.dropBlockCaches(of: [os.root])
        }
        // Other mountpoints may name devices the appliance does not have (an fstab entry by the
        // guest's own /dev/disk/by-id name, a disk that is absent); their mounts are skipped too.
        for device in Set(os.mountpoints.map(\.device)).subtracting([os.root]).sorted() {
            try? handle.dropBlockCaches(of: [device])
        }
    }

    /// Try `QuickLook` (about 1 s under TCG) before libguestfs' full inspection (about 5 s).
    public var quickLook = false
    /// "quick look" or "libguestfs inspection", once the OS is found here.
    public private(set) var osFoundBy: String?

    /// Finds the guest OS (libguestfs inspection). The first root wins when a VM has several.
    @discardableResult
    public func inspect() throws -> OSInfo {
        if let os { return os }
        if quickLook, let info = try lookQuickly() {
            os = info
            root = info.root
            adopted = true
            osFoundBy = "quick look"
            return info
        }
        let roots: [String]
        do {
            roots = try handle.inspectOS()
        } catch let e as GuestfsError where GuestInspector.isUnlabelledDiskFailure(e) {
            // libguestfs 1.48 fails this way only while mapping a Windows guest's MountedDevices.
            throw VMSerialError.badInput("\(domain) runs Windows (libguestfs found it but stumbled over a disk without a partition table): guest mode has no Windows reporter yet. Look at what Windows recorded about its disks and SMBIOS serial offline with `vmserial inspect --domain \(domain)`, or prove the virtual hardware with --mode probe")
        } catch let e as GuestfsError {
            throw VMSerialError.failed("libguestfs, on the disks of \(domain): \(e.function): \(e.message)")
        }
        guard let r = roots.first else { throw noOperatingSystem("") }
        let info = try guestfs { try handle.inspectInfo(root: r) }
        root = r
        os = info
        osFoundBy = "libguestfs inspection"
        return info
    }

    func noOperatingSystem(_ detail: String) -> VMSerialError {
        .badInput("libguestfs finds no operating system on the disks of \(domain)\(detail); guest mode needs an installed guest OS (use --mode probe for blank disks)")
    }

    /// `QuickLook` over this appliance's filesystems; nil when only libguestfs can tell.
    /// Disks without any filesystem have no OS: said at once, as inspection would say it.
    func lookQuickly() throws -> OSInfo? {
        let g = handle
        let known = try devices()
        let filesystems: [QuickLook.Filesystem] = try guestfs {
            try g.umountAll()
            // One blkid per device gives its type, label and UUID together (each costs 0.25 s
            // under TCG: a process in the appliance). A disk with partitions holds its
            // filesystems in them, not on itself (libguestfs' list_filesystems skips it too).
            let partitioned = Set(known.compactMap(Self.wholeDisk(ofPartition:)))
            // A drive whose image reads as zeros from end to end (seen from the host) holds nothing
            // blkid could find.
            let blank = Set(blankDrives.filter { $0 < wholeDisks.count }.map { wholeDisks[$0] })
            return known.filter { !partitioned.contains($0) && !blank.contains($0) }.compactMap { dev in
                guard let tags = try? g.blkid(dev), let type = tags["TYPE"], !type.isEmpty else { return nil }
                return QuickLook.Filesystem(device: dev, type: type, label: tags["LABEL"] ?? "", uuid: tags["UUID"] ?? "")
            }
        }
        if filesystems.isEmpty { throw noOperatingSystem(" (no filesystem at all)") }
        guard QuickLook.mayDecide(filesystems) else { return nil }
        let disks = try quickLookDisks()
        var found: [OSInfo] = []
        // The one root found stays mounted read-only: `mount(readonly:)` then remounts it in place.
        var mounted: String?
        defer { if found.count != 1 || mounted != found.first?.root { try? g.umountAll() } else { leftMounted = mounted } }
        for fs in filesystems where QuickLook.rootTypes.contains(fs.type) {
            if mounted != nil { try? g.umountAll(); mounted = nil }
            guard (try? g.mountReadOnly(fs.device, at: "/")) != nil else { continue }
            mounted = fs.device
            let files: QuickLook.RootFiles? = try guestfs {
                guard try g.isFile("/etc/fstab", followSymlinks: true),
                      let release = try QuickLook.osReleasePaths.first(where: { try g.isFile($0, followSymlinks: true) }),
                      try QuickLook.initPaths.contains(where: { try g.exists($0) || g.isSymlink($0) }) else { return nil }
                let hostname = try g.isFile("/etc/hostname", followSymlinks: true) ? try g.readText("/etc/hostname") : nil
                return .init(fstab: try g.readText("/etc/fstab"), osRelease: try g.readText(release), hostname: hostname)
            }
            guard let files else { continue }
            guard let info = QuickLook.linux(root: fs, files: files, filesystems: filesystems, disks: disks) else { return nil }
            found.append(info)
        }
        return found.count == 1 ? found[0] : nil
    }

    /// The disk a partition device is on: /dev/sda1 → /dev/sda, /dev/nvme0n1p2 → /dev/nvme0n1;
    /// nil for a name that is not a partition's (/dev/sda, /dev/nvme0n1).
    static func wholeDisk(ofPartition device: String) -> String? {
        let digits = device.reversed().prefix(while: \.isNumber).count
        guard digits > 0, digits < device.count else { return nil }
        let base = device.dropLast(digits)
        // nvme0n1p2, mmcblk0p1, loop0p1: a "p" between a disk name ending in a digit and the number.
        if base.hasSuffix("p"), base.dropLast().last?.isNumber == true { return String(base.dropLast()) }
        // sda1, vdb2, hdc3, xvda1: a disk named by letters after its kind (md0 or mmcblk0 are disks).
        let name = base.split(separator: "/").last ?? ""
        guard let kind = ["xvd", "sd", "vd", "hd"].first(where: { name.hasPrefix($0) }),
              name.count > kind.count, name.dropFirst(kind.count).allSatisfy({ $0.isASCII && $0.isLowercase }) else { return nil }
        return String(base)
    }

    /// Takes the OS an earlier session found on the same disks, added in the same order: the
    /// devices are named alike, and inspection (about 8 s under TCG) need not run again.
    public func adopt(_ info: OSInfo) {
        os = info
        root = info.root
        adopted = true
    }

    /// Mounts the guest's filesystems as its fstab does.
    public func mount(readonly: Bool) throws {
        let info = try inspect()
        let quickLookRoot = leftMounted
        leftMounted = nil
        try guestfs {
            // The root the quick look left mounted read-only, and nothing else: remounted in place
            // (one `mount -o remount`, about 0.1 s under TCG, against 0.35 s for unmount and mount).
            var rootMounted = false
            if adopted, quickLookRoot == info.root {
                let now = try handle.mountpoints()
                if now.count == 1, now[0] == (mountpoint: "/", device: info.root) {
                    if !readonly { try handle.remount("/", readWrite: true) }
                    rootMounted = true
                }
            }
            if !rootMounted { try handle.umountAll() }
            guard adopted else {
                try handle.mountInspected(root: info.root, readonly: readonly)
                return
            }
            // The same order mountInspected uses: shortest mountpoint first; one that fails is skipped,
            // except the root.
            for (mountpoint, device) in info.mountpoints.sorted(by: { $0.mountpoint.count < $1.mountpoint.count })
            where !(rootMounted && mountpoint == "/") {
                do {
                    if readonly { try handle.mountReadOnly(device, at: mountpoint) } else { try handle.mount(device, at: mountpoint) }
                } catch where mountpoint != "/" {
                    continue
                }
            }
        }
    }

    /// Unmounts, writes everything back and stops the appliance, reporting what failed (`close`
    /// ignores it). Call it after writing to the guest's disks when nothing follows.
    ///
    /// vmserial writes only through mounted filesystems, and unmounting the last one writes all of
    /// it to the disks and flushes their caches; stopping QEMU (SIGTERM) then closes the images or
    /// the connections to the disk servers cleanly. libguestfs' autosync (one more `sync`, 0.3-0.6 s
    /// under TCG) is turned off for this shutdown only: it would find nothing left to write.
    public func shutdown() throws {
        try guestfs {
            try handle.umountAll()
            try handle.setAutosync(false)
            try handle.shutdown()
        }
        close()
    }

    public func close() {
        if let t = interruptToken { Interrupts.shared.remove(t) }
        interruptToken = nil
        try? handle.umountAll()
        try? handle.shutdown()
        handle.close()
    }

    deinit { close() }

    /// Runs libguestfs calls, turning their errors into vmserial's.
    func guestfs<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as GuestfsError {
            throw VMSerialError.failed("libguestfs, on the disks of \(domain): \(e.function): \(e.message)")
        }
    }
}

/// Installs and removes the in-guest reporter (GuestReporter) through a GuestSession.
public enum ReporterInstaller {
    public enum Hook: String, Sendable {
        case systemd, initd, rclocal
    }

    /// Which hook the guest's init runs: systemd where it is the init, an init.d script where an
    /// rcS runs /etc/init.d/S??* (busybox and sysvinit-style), else /etc/rc.local.
    public static func hook(_ g: Guestfs) throws -> Hook? {
        func isSystemd(_ p: String) -> Bool { p.contains("systemd") }
        if try g.isSymlink("/sbin/init"), isSystemd(try g.readlink("/sbin/init")) { return .systemd }
        if try g.exists("/lib/systemd/systemd") || g.exists("/usr/lib/systemd/systemd"),
           try !g.exists("/sbin/init") || g.isSymlink("/sbin/init") {
            return .systemd
        }
        if try g.isFile("/etc/init.d/rcS", followSymlinks: true) { return .initd }
        if try g.isFile("/etc/rc.local", followSymlinks: true) { return .rclocal }
        return nil
    }

    /// What the guest does after each boot's report, one line per boot.
    public static func planText(_ actions: [BootAction]) -> String {
        actions.map { $0.rawValue + "\n" }.joined()
    }

    /// Writes the reporter, its plan and the hook. Left-overs of an interrupted run are replaced.
    public static func install(_ s: GuestSession, actions: [BootAction]) throws -> Hook {
        let info = try s.inspect()
        guard info.type == "linux" else { throw unsupported(info, domain: s.domain) }
        try s.mount(readonly: false)
        let g = s.handle
        return try s.guestfs {
            guard let hook = try hook(g) else {
                throw VMSerialError.badInput("the guest OS of \(s.domain) (\(describe(info))) has neither systemd, nor /etc/init.d/rcS, nor /etc/rc.local: vmserial does not know how to run its reporter there; use --mode probe")
            }
            try removeFiles(g)
            try g.mkdirP(GuestReporter.stateDirectory)
            try g.mkdirP((GuestReporter.scriptPath as NSString).deletingLastPathComponent)
            try g.write(GuestReporter.scriptPath, GuestReporter.script)
            try g.chmod(0o755, GuestReporter.scriptPath)
            try g.write(GuestReporter.planPath, planText(actions))
            switch hook {
            case .systemd:
                try g.mkdirP((GuestReporter.systemdWantsLink as NSString).deletingLastPathComponent)
                try g.write(GuestReporter.systemdUnitPath, GuestReporter.systemdUnit)
                try g.lnSf(target: GuestReporter.systemdUnitPath, link: GuestReporter.systemdWantsLink)
            case .initd:
                try g.write(GuestReporter.initdHookPath, GuestReporter.initdHook)
                try g.chmod(0o755, GuestReporter.initdHookPath)
            case .rclocal:
                let current = try g.readText("/etc/rc.local")
                try g.write("/etc/rc.local", withRCLocalHook(current))
                try g.chmod(0o755, "/etc/rc.local")
            }
            // Unmounting writes the files back and flushes the disks' caches (the guest then
            // reads them through the same disk servers); over image files, closing the appliance
            // before the boot syncs once more. A `sync` here cost 0.6 s under TCG and added nothing.
            try g.umountAll()
            return hook
        }
    }

    /// Reads every report, then removes the reporter, its hook, plan and reports, under one
    /// read-write mount (a mount of a guest that just powered off replays its journal: one
    /// instead of two). Returns the reports and what is still there (empty when clean).
    public static func readAndRemove(_ s: GuestSession) throws -> (reports: [Int: String], left: [String]) {
        try s.mount(readonly: false)
        let g = s.handle
        return try s.guestfs {
            let reports = try reportFiles(g)
            KillPoint.verifyGuestRead.reached()
            return (reports, try removeMounted(g))
        }
    }

    static func reportFiles(_ g: Guestfs) throws -> [Int: String] {
        guard try g.isDir(GuestReporter.stateDirectory) else { return [:] }
        var out: [Int: String] = [:]
        for name in try g.ls(GuestReporter.stateDirectory) where name.hasPrefix("report.") {
            guard let n = Int(name.dropFirst("report.".count)) else { continue }
            out[n] = String(decoding: try g.readFile(GuestReporter.reportPath(boot: n)), as: UTF8.self)
        }
        return out
    }

    /// Removes the reporter, its hook, plan and reports; returns what is still there (empty when clean).
    @discardableResult
    public static func remove(_ s: GuestSession) throws -> [String] {
        try s.mount(readonly: false)
        return try s.guestfs { try removeMounted(s.handle) }
    }

    /// `remove` on the guest's filesystems as mounted; unmounts at the end (the appliance's
    /// shutdown syncs: close the session, or sync before keeping it).
    static func removeMounted(_ g: Guestfs) throws -> [String] {
        try removeFiles(g, afterHook: { KillPoint.verifyGuestRemoving.reached() })
        var left: [String] = []
        for p in [GuestReporter.scriptPath, GuestReporter.initdHookPath, GuestReporter.systemdUnitPath,
                  GuestReporter.systemdWantsLink] where try g.exists(p) || g.isSymlink(p) {
            left.append(p)
        }
        // The state folder stays only when it holds files that are not the reporter's.
        let dir = GuestReporter.stateDirectory
        if try g.isDir(dir) {
            left += try g.ls(dir).filter(GuestReporter.isOwnFile).map { "\(dir)/\($0)" }
        }
        if try g.isFile("/etc/rc.local", followSymlinks: true), try g.readText("/etc/rc.local").contains(GuestReporter.rcLocalMarker) {
            left.append("/etc/rc.local (hook line)")
        }
        try g.umountAll()
        return left
    }

    /// The hooks go first. Each hook starts the reporter only while the script is there (init.d:
    /// `[ -x ]`, systemd: `ConditionPathExists`, rc.local: `[ ! -x ] ||`), so no part of this
    /// reaching the disk without the rest makes a hook start something missing. No `sync` here
    /// (0.5 s under TCG): a kill before the final unmount may leave any part of the removal
    /// undone, just as a kill before it began leaves all of it, and in both cases the run's
    /// journal says the reporter may be on the disk, so the next vmserial run takes it out.
    static func removeFiles(_ g: Guestfs, afterHook: () -> Void = {}) throws {
        for p in [GuestReporter.initdHookPath, GuestReporter.systemdWantsLink, GuestReporter.systemdUnitPath]
        where try g.exists(p) || g.isSymlink(p) {
            try g.rmF(p)
        }
        if try g.isFile("/etc/rc.local", followSymlinks: true) {
            let text = try g.readText("/etc/rc.local")
            if text.contains(GuestReporter.rcLocalMarker) {
                try g.write("/etc/rc.local", withoutRCLocalHook(text))
            }
        }
        afterHook()
        try g.rmF(GuestReporter.scriptPath)
        try removeStateDirectory(g)
    }

    /// Takes out of the reporter's state folder only the files the reporter and the installer
    /// write (plan, reports, their temporary files), then the folder if that left it empty:
    /// anything else in it is not vmserial's to delete, and is reported as left over.
    static func removeStateDirectory(_ g: Guestfs) throws {
        let dir = GuestReporter.stateDirectory
        guard try g.isDir(dir), try !g.isSymlink(dir) else { return }
        var others = false
        for name in try g.ls(dir) {
            let path = "\(dir)/\(name)"
            if GuestReporter.isOwnFile(name), try g.isFile(path, followSymlinks: false) || g.isSymlink(path) {
                try g.rm(path)
            } else {
                others = true
            }
        }
        if !others { try g.rmdir(dir) }
    }

    /// rc.local with the hook before its final `exit 0` (or at the end).
    static func withRCLocalHook(_ text: String) -> String {
        var lines = withoutRCLocalHook(text).components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        let hook = GuestReporter.rcLocalHook.components(separatedBy: "\n").filter { !$0.isEmpty }
        if let exit = lines.lastIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "exit 0" }) {
            lines.insert(contentsOf: hook, at: exit)
        } else {
            if lines.isEmpty { lines = ["#!/bin/sh"] }
            lines += hook
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func withoutRCLocalHook(_ text: String) -> String {
        let hook = Set(GuestReporter.rcLocalHook.components(separatedBy: "\n").filter { !$0.isEmpty })
        return text.components(separatedBy: "\n").filter { !hook.contains($0) && !$0.contains(GuestReporter.rcLocalMarker) }
            .joined(separator: "\n")
    }

    static func describe(_ info: OSInfo) -> String {
        let name = info.productName.isEmpty || info.productName == "unknown" ? info.distro : info.productName
        return "\(info.type) \(name) \(info.majorVersion).\(info.minorVersion)"
    }

    static func unsupported(_ info: OSInfo, domain: String) -> VMSerialError {
        if info.type == "windows" {
            return .badInput("\(domain) runs Windows (\(describe(info))): guest mode has no Windows reporter yet. Look at what Windows recorded about its disks and SMBIOS serial offline with `vmserial inspect --domain \(domain)`, or prove the virtual hardware with --mode probe")
        }
        return .badInput("\(domain) runs \(describe(info)): guest mode supports Linux guests only; use --mode probe or `vmserial inspect --domain \(domain)`")
    }
}
