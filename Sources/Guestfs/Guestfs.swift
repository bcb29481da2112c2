import CGuestfs
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A libguestfs handle (`guestfs_h`): a small appliance VM that reads and writes the disk
/// images added to it.
///
/// Life cycle: create, `addDrive` each image, `launch` (starts the appliance's qemu:
/// 12-20 s under TCG on a 2-core host), work with devices and files, `shutdown` (syncs,
/// reports write-back errors), `close`. Every libguestfs failure is thrown as a
/// `GuestfsError`; libguestfs' own printing of errors to stderr is turned off.
///
/// Thread safety (hence `@unchecked Sendable`): libguestfs ≥ 1.38 locks each handle
/// and keeps its last error per thread; on top of that every call here holds a mutex
/// around the handle pointer, so `close()` cannot free it under a call running on
/// another thread, and each error is read on the thread that made the failing call.
/// Calls from several threads are therefore safe but run one at a time.
/// `killAppliance()` and `appliancePID` take no lock at all (the pid is an atomic), so
/// a clean-up path can stop the appliance while another thread waits in a long call.
public final class Guestfs: @unchecked Sendable {
    /// The open handle, nil once closed.
    private let handle: Mutex<OpaquePointer?>
    /// The appliance's qemu pid while it runs, else 0. qemu is this process's child
    /// and libguestfs reaps it only in `guestfs_shutdown`/`guestfs_close`, which clear
    /// this first, so a pid read here cannot belong to an unrelated process.
    private let qemuPID = Atomic<Int32>(0)

    /// Creates a handle and applies `options`; nothing starts until `launch()`.
    ///
    /// libguestfs reads its environment here (`LIBGUESTFS_BACKEND`,
    /// `LIBGUESTFS_BACKEND_SETTINGS`, `LIBGUESTFS_MEMSIZE`, `LIBGUESTFS_TRACE`,
    /// `LIBGUESTFS_DEBUG`, …); `options` then override what they set.
    public init(options: GuestfsOptions = .init()) throws {
        guard let created = guestfs_create() else {
            let code = errno
            throw GuestfsError(
                function: "guestfs_create",
                message: "cannot create a libguestfs handle: \(String(cString: strerror(code)))",
                errno: code)
        }
        // Errors reach callers only as thrown GuestfsErrors, read with guestfs_last_error.
        guestfs_set_error_handler(created, nil, nil)
        do {
            try Self.configure(created, options)
        } catch {
            guestfs_close(created)
            throw error
        }
        handle = Mutex(created)
    }

    deinit {
        close()
    }

    private static func configure(_ g: OpaquePointer, _ options: GuestfsOptions) throws {
        func check(_ function: String, _ result: Int32) throws {
            if result == -1 { throw GuestfsError.last(g, function: function) }
        }
        switch options.forceTCG {
        case nil:
            // LIBGUESTFS_ATTACH_METHOD is the old name libguestfs still honours.
            if getenv("LIBGUESTFS_BACKEND") == nil && getenv("LIBGUESTFS_ATTACH_METHOD") == nil {
                try check("guestfs_set_backend", guestfs_set_backend(g, "direct"))
            }
        case true?:
            try check("guestfs_set_backend", guestfs_set_backend(g, "direct"))
            try check("guestfs_set_backend_setting", guestfs_set_backend_setting(g, "force_tcg", "1"))
        case false?:
            try check("guestfs_set_backend", guestfs_set_backend(g, "direct"))
            // Returns how many settings it removed; only -1 is an error.
            try check("guestfs_clear_backend_setting", guestfs_clear_backend_setting(g, "force_tcg"))
        }
        if let memsize = options.memsizeMiB {
            try check("guestfs_set_memsize", guestfs_set_memsize(g, Int32(clamping: memsize)))
        }
        if let smp = options.smp {
            try check("guestfs_set_smp", guestfs_set_smp(g, Int32(clamping: smp)))
        }
        if options.trace {
            try check("guestfs_set_trace", guestfs_set_trace(g, 1))
        }
        if let path = options.appliancePath {
            try check("guestfs_set_path", guestfs_set_path(g, path))
        }
        if let folder = options.temporaryFolder {
            try check("guestfs_set_tmpdir", guestfs_set_tmpdir(g, folder))
        }
    }

    // MARK: - Calling libguestfs

    /// Runs `body` with the open handle, under the handle's mutex.
    func withHandle<Result: Sendable>(
        _ function: String, _ body: (OpaquePointer) throws -> Result
    ) throws -> Result {
        try handle.withLock { pointer in
            guard let pointer else { throw GuestfsError.closed(function: function) }
            return try body(pointer)
        }
    }

    /// For C functions that return an `int`, -1 on error, and nothing else of use.
    func call(_ function: String, _ body: (OpaquePointer) -> Int32) throws {
        _ = try callInt(function, body)
    }

    /// For C functions that return an `int`, -1 on error (0/1 for the `is_*` tests).
    func callInt(_ function: String, _ body: (OpaquePointer) -> Int32) throws -> Int32 {
        try withHandle(function) { g in
            let result = body(g)
            if result == -1 { throw GuestfsError.last(g, function: function) }
            return result
        }
    }

    /// For C functions that return an `int64_t`, -1 on error (the hivex handles).
    func callInt64(_ function: String, _ body: (OpaquePointer) -> Int64) throws -> Int64 {
        try withHandle(function) { g in
            let result = body(g)
            if result == -1 { throw GuestfsError.last(g, function: function) }
            return result
        }
    }

    /// For C functions that return a `char *` the caller frees, NULL on error.
    func callString(
        _ function: String, _ body: (OpaquePointer) -> UnsafeMutablePointer<CChar>?
    ) throws -> String {
        try withHandle(function) { g in
            guard let result = body(g) else { throw GuestfsError.last(g, function: function) }
            return takeString(result)
        }
    }

    /// For C functions that return a NULL-terminated `char **` the caller frees,
    /// NULL on error.
    func callStringList(
        _ function: String,
        _ body: (OpaquePointer) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) throws -> [String] {
        try withHandle(function) { g in
            guard let result = body(g) else { throw GuestfsError.last(g, function: function) }
            return takeStringList(result)
        }
    }

    // MARK: - Configuration

    /// The backend the appliance will run under (`guestfs_get_backend`), e.g. `direct`.
    public var backend: String {
        get throws { try callString("guestfs_get_backend") { guestfs_get_backend($0) } }
    }

    /// The backend settings (`guestfs_get_backend_settings`), e.g. `["force_tcg=1"]`.
    public var backendSettings: [String] {
        get throws {
            try callStringList("guestfs_get_backend_settings") { guestfs_get_backend_settings($0) }
        }
    }

    /// The appliance's memory in MiB (`guestfs_get_memsize`).
    public var memsizeMiB: Int {
        get throws { Int(try callInt("guestfs_get_memsize") { guestfs_get_memsize($0) }) }
    }

    /// The appliance's virtual CPUs (`guestfs_get_smp`).
    public var smp: Int {
        get throws { Int(try callInt("guestfs_get_smp") { guestfs_get_smp($0) }) }
    }

    // MARK: - Life cycle

    /// Adds a disk image (`guestfs_add_drive_opts_argv`). Drives appear in the appliance
    /// as `/dev/sda`, `/dev/sdb`, … in the order they are added.
    ///
    /// - Parameters:
    ///   - format: `raw`, `qcow2`, …; nil lets qemu probe it, which libguestfs allows
    ///     but which is unsafe for images a guest could have written (a raw image can
    ///     pose as qcow2 with a backing file of the guest's choosing).
    ///   - readonly: writes go to a throw-away overlay and the image is left untouched.
    public func addDrive(_ path: String, format: String? = nil, readonly: Bool = false) throws {
        try withOptionalCString(format) { format in
            var options = guestfs_add_drive_opts_argv()
            options.bitmask = AddDriveBits.readonly
            options.readonly = readonly ? 1 : 0
            if let format {
                options.bitmask |= AddDriveBits.format
                options.format = format
            }
            try call("guestfs_add_drive_opts_argv") { g in
                guestfs_add_drive_opts_argv(g, path, &options)
            }
        }
    }

    /// Adds a disk served by an NBD server on a Unix socket (qemu-nbd): the appliance sees the
    /// guest-visible data (the server does the image format), and other clients of the same
    /// server (a booted guest) see the same blocks. Call `dropBlockCaches()` before reading what
    /// another client wrote.
    public func addNBDDrive(socket: String, readonly: Bool = false) throws {
        let server = strdup("unix:" + socket)
        defer { free(server) }
        var servers: [UnsafeMutablePointer<CChar>?] = [server, nil]
        try servers.withUnsafeMutableBufferPointer { list in
            try "nbd".withCString { proto in
                try "raw".withCString { format in
                    var options = guestfs_add_drive_opts_argv()
                    options.bitmask = AddDriveBits.readonly | AddDriveBits.format | AddDriveBits.networkProtocol | AddDriveBits.server
                    options.readonly = readonly ? 1 : 0
                    options.format = format
                    options.`protocol` = proto
                    options.server = UnsafePointer(list.baseAddress!)
                    try call("guestfs_add_drive_opts_argv") { g in
                        guestfs_add_drive_opts_argv(g, "", &options)
                    }
                }
            }
        }
    }

    /// Starts the appliance (`guestfs_launch`) and records its qemu pid.
    public func launch() throws {
        try withHandle("guestfs_launch") { g in
            if guestfs_launch(g) == -1 { throw GuestfsError.last(g, function: "guestfs_launch") }
            // Backends that do not know their hypervisor's pid fail here; that only
            // means killAppliance() has nothing to kill.
            let pid = guestfs_get_pid(g)
            qemuPID.store(pid > 0 ? pid : 0, ordering: .sequentiallyConsistent)
        }
    }

    /// Syncs and stops the appliance (`guestfs_shutdown`), reporting errors from writing
    /// back, unlike `close()`. The handle stays open but cannot be launched again.
    public func shutdown() throws {
        try call("guestfs_shutdown") { g in
            // guestfs_shutdown reaps qemu: after it the pid is no longer ours to kill.
            qemuPID.store(0, ordering: .sequentiallyConsistent)
            return guestfs_shutdown(g)
        }
    }

    /// Closes the handle (`guestfs_close`), stopping the appliance if it still runs and
    /// ignoring errors; later calls throw. Calling it again does nothing.
    public func close() {
        handle.withLock { pointer in
            guard let open = pointer else { return }
            qemuPID.store(0, ordering: .sequentiallyConsistent)
            guestfs_close(open)
            pointer = nil
        }
    }

    /// The pid of the appliance's qemu while it runs (`guestfs_get_pid`, read at launch);
    /// nil before launch, after shutdown, close or `killAppliance()`, and on backends
    /// that do not report it.
    public var appliancePID: Int32? {
        let pid = qemuPID.load(ordering: .sequentiallyConsistent)
        return pid > 0 ? pid : nil
    }

    /// Sends SIGKILL to the appliance's qemu, if one runs.
    ///
    /// Makes no libguestfs call and takes no lock (an atomic exchange and kill(2)), so
    /// it can run on any thread, while another thread is inside a call on this handle,
    /// and from a signal handler. Calls in progress or made later fail with a
    /// `GuestfsError`; `close()` afterwards reaps the process. If the whole process
    /// dies instead, libguestfs' recovery process kills qemu on its own.
    public func killAppliance() {
        let pid = qemuPID.exchange(0, ordering: .sequentiallyConsistent)
        if pid > 0 {
            kill(pid, SIGKILL)
        }
    }

    // MARK: - Devices and filesystems

    /// The whole block devices, e.g. `["/dev/sda", "/dev/sdb"]` (`guestfs_list_devices`).
    public func listDevices() throws -> [String] {
        try callStringList("guestfs_list_devices") { guestfs_list_devices($0) }
    }

    /// The partitions on all devices, e.g. `["/dev/sda1"]` (`guestfs_list_partitions`).
    public func listPartitions() throws -> [String] {
        try callStringList("guestfs_list_partitions") { guestfs_list_partitions($0) }
    }

    /// Every filesystem libguestfs can find, with its type (`ext4`, `ntfs`, `swap`,
    /// `unknown`, …) (`guestfs_list_filesystems`).
    public func listFilesystems() throws -> [(device: String, type: String)] {
        let flat = try callStringList("guestfs_list_filesystems") { guestfs_list_filesystems($0) }
        return pairs(flat).map { (device: $0.0, type: $0.1) }
    }

    /// Writes a new partition table of `partType` (`mbr` or `gpt`) holding one partition
    /// that spans the device (`guestfs_part_disk`).
    public func partDisk(_ device: String, partType: String) throws {
        try call("guestfs_part_disk") { guestfs_part_disk($0, device, partType) }
    }

    /// Makes a filesystem (`guestfs_mkfs_opts_argv`).
    /// - Parameter label: the filesystem label; its length limit is the filesystem's
    ///   (ext2/3/4: 16 bytes, vfat: 11, ntfs: 128).
    public func mkfs(_ fstype: String, _ device: String, label: String? = nil) throws {
        try withOptionalCString(label) { label in
            var options = guestfs_mkfs_opts_argv()
            if let label {
                options.bitmask |= MkfsBits.label
                options.label = label
            }
            try call("guestfs_mkfs_opts_argv") { g in
                guestfs_mkfs_opts_argv(g, fstype, device, &options)
            }
        }
    }

    /// Sets the label of the filesystem on `device` (`guestfs_set_label`).
    public func setLabel(_ device: String, _ label: String) throws {
        try call("guestfs_set_label") { guestfs_set_label($0, device, label) }
    }

    /// The label of the filesystem on `device`, "" when it has none (`guestfs_vfs_label`).
    public func vfsLabel(_ device: String) throws -> String {
        try callString("guestfs_vfs_label") { guestfs_vfs_label($0, device) }
    }

    /// The UUID of the filesystem on `device`, "" when it has none (`guestfs_vfs_uuid`).
    public func vfsUUID(_ device: String) throws -> String {
        try callString("guestfs_vfs_uuid") { guestfs_vfs_uuid($0, device) }
    }

    /// Every tag blkid finds on `device` (TYPE, LABEL, UUID, …) in one call (`guestfs_blkid`);
    /// the three `vfs_*` calls each run blkid once more.
    public func blkid(_ device: String) throws -> [String: String] {
        let flat = try callStringList("guestfs_blkid") { guestfs_blkid($0, device) }
        return Dictionary(pairs(flat), uniquingKeysWith: { first, _ in first })
    }

    /// The type of the filesystem on `device`, e.g. `ext4` (`guestfs_vfs_type`).
    public func vfsType(_ device: String) throws -> String {
        try callString("guestfs_vfs_type") { guestfs_vfs_type($0, device) }
    }

    /// Mounts `device` read-write at `mountpoint` inside the appliance (`guestfs_mount`).
    /// The first mount is normally at `/`.
    public func mount(_ device: String, at mountpoint: String) throws {
        try call("guestfs_mount") { guestfs_mount($0, device, mountpoint) }
    }

    /// Mounts `device` read-only (`guestfs_mount_ro`); safe on a guest's live or
    /// hibernated filesystem, which a read-write mount could replay a journal on.
    public func mountReadOnly(_ device: String, at mountpoint: String) throws {
        try call("guestfs_mount_ro") { guestfs_mount_ro($0, device, mountpoint) }
    }

    /// Makes the filesystem mounted at `mountpoint` read-write or read-only in place
    /// (`guestfs_remount`): one `mount -o remount` instead of an unmount and a new mount.
    public func remount(_ mountpoint: String, readWrite: Bool) throws {
        var options = guestfs_remount_argv()
        options.bitmask = RemountBits.rw
        options.rw = readWrite ? 1 : 0
        try call("guestfs_remount_argv") { guestfs_remount_argv($0, mountpoint, &options) }
    }

    /// What is mounted where, as (mountpoint, device) pairs (`guestfs_mountpoints`).
    public func mountpoints() throws -> [(mountpoint: String, device: String)] {
        let flat = try callStringList("guestfs_mountpoints") { guestfs_mountpoints($0) }
        return pairs(flat).map { (mountpoint: $0.1, device: $0.0) }
    }

    /// Unmounts everything (`guestfs_umount_all`).
    public func umountAll() throws {
        try call("guestfs_umount_all") { guestfs_umount_all($0) }
    }

    /// Whether `shutdown` (and `close`) first unmount everything and sync (`guestfs_set_autosync`;
    /// libguestfs' default: on).
    public func setAutosync(_ on: Bool) throws {
        try call("guestfs_set_autosync") { guestfs_set_autosync($0, on ? 1 : 0) }
    }

    /// Flushes the appliance's writes to the disk images (`guestfs_sync`).
    public func sync() throws {
        try call("guestfs_sync") { guestfs_sync($0) }
    }

    /// Forgets the cached blocks of `devices` (`guestfs_blockdev_flushbufs` on each), so that
    /// the next mount of one of them reads what another writer (a guest booted on the same NBD
    /// server) left. Unmount them first: a mounted filesystem's own caches stay.
    ///
    /// Not `guestfs_drop_caches`: it also drops the appliance's own programs from memory, and
    /// under TCG reading `udevadm` and `mount` back from the appliance's disk costs a second on
    /// the next call. A filesystem reads only through its own block device, so flushing the
    /// devices that will be mounted is enough.
    public func dropBlockCaches(of devices: [String]) throws {
        for device in devices {
            try call("guestfs_blockdev_flushbufs") { guestfs_blockdev_flushbufs($0, device) }
        }
    }

    // MARK: - Files (paths inside the appliance's mounted tree)

    /// Whether anything (file, directory, link, …) exists at `path` (`guestfs_exists`).
    public func exists(_ path: String) throws -> Bool {
        try callInt("guestfs_exists") { guestfs_exists($0, path) } == 1
    }

    /// Whether `path` is a regular file (`guestfs_is_file_opts_argv`).
    /// - Parameter followSymlinks: also true for a link to a regular file.
    public func isFile(_ path: String, followSymlinks: Bool = false) throws -> Bool {
        var options = guestfs_is_file_opts_argv()
        options.bitmask = IsFileBits.followSymlinks
        options.followsymlinks = followSymlinks ? 1 : 0
        let result = try callInt("guestfs_is_file_opts_argv") {
            guestfs_is_file_opts_argv($0, path, &options)
        }
        return result == 1
    }

    /// Whether `path` is a directory (`guestfs_is_dir_opts_argv`).
    /// - Parameter followSymlinks: also true for a link to a directory.
    public func isDir(_ path: String, followSymlinks: Bool = false) throws -> Bool {
        var options = guestfs_is_dir_opts_argv()
        options.bitmask = IsDirBits.followSymlinks
        options.followsymlinks = followSymlinks ? 1 : 0
        let result = try callInt("guestfs_is_dir_opts_argv") {
            guestfs_is_dir_opts_argv($0, path, &options)
        }
        return result == 1
    }

    /// Whether `path` is a symbolic link (`guestfs_is_symlink`).
    public func isSymlink(_ path: String) throws -> Bool {
        try callInt("guestfs_is_symlink") { guestfs_is_symlink($0, path) } == 1
    }

    /// The whole content of a file, any bytes (`guestfs_read_file`). The protocol caps
    /// one message at a few MiB; use `download` for large files.
    public func readFile(_ path: String) throws -> [UInt8] {
        // One pread answers a small file in one round trip; read_file goes through a download
        // (a file transfer into a temporary file on the host), which costs more for a few bytes.
        let first = try pread(path, count: Self.smallFile, offset: 0)
        if first.count < Self.smallFile { return first }
        return try withHandle("guestfs_read_file") { g in
            var size = 0
            guard let buffer = guestfs_read_file(g, path, &size) else {
                throw GuestfsError.last(g, function: "guestfs_read_file")
            }
            return takeBytes(buffer, count: size)
        }
    }

    /// Files up to this size are read with one `pread`.
    public static let smallFile = 1 << 20

    /// At most `count` bytes of `path` from `offset` (`guestfs_pread`); fewer at the end of the file.
    public func pread(_ path: String, count: Int, offset: Int64) throws -> [UInt8] {
        try withHandle("guestfs_pread") { g in
            var size = 0
            guard let buffer = guestfs_pread(g, path, Int32(count), offset, &size) else {
                throw GuestfsError.last(g, function: "guestfs_pread")
            }
            return takeBytes(buffer, count: size)
        }
    }

    /// The content of a file as UTF-8 text; invalid bytes become U+FFFD.
    public func readText(_ path: String) throws -> String {
        String(decoding: try readFile(path), as: UTF8.self)
    }

    /// Creates or replaces a file with `bytes` (`guestfs_write`). The protocol caps one
    /// message at a few MiB; use `upload` for large files.
    public func write(_ path: String, _ bytes: [UInt8]) throws {
        try withCBuffer(bytes) { buffer, count in
            try call("guestfs_write") { guestfs_write($0, path, buffer, count) }
        }
    }

    /// Creates or replaces a file with `text` in UTF-8 (`guestfs_write`).
    public func write(_ path: String, _ text: String) throws {
        try write(path, Array(text.utf8))
    }

    /// Creates a directory and any missing parents; no error if it exists (`guestfs_mkdir_p`).
    public func mkdirP(_ path: String) throws {
        try call("guestfs_mkdir_p") { guestfs_mkdir_p($0, path) }
    }

    /// Changes a file's permission bits, e.g. `0o644` (`guestfs_chmod`).
    public func chmod(_ mode: Int32, _ path: String) throws {
        try call("guestfs_chmod") { guestfs_chmod($0, mode, path) }
    }

    /// Removes a file; fails if it is missing or a directory (`guestfs_rm`).
    public func rm(_ path: String) throws {
        try call("guestfs_rm") { guestfs_rm($0, path) }
    }

    /// Removes an empty folder (`guestfs_rmdir`); a folder with anything in it is an error.
    public func rmdir(_ path: String) throws {
        try call("guestfs_rmdir") { guestfs_rmdir($0, path) }
    }

    /// Removes a file; a missing file is not an error (`guestfs_rm_f`).
    public func rmF(_ path: String) throws {
        try call("guestfs_rm_f") { guestfs_rm_f($0, path) }
    }

    /// Removes a file or a whole directory tree; a missing path is not an error
    /// (`guestfs_rm_rf`).
    public func rmRf(_ path: String) throws {
        try call("guestfs_rm_rf") { guestfs_rm_rf($0, path) }
    }

    /// Creates or replaces the symbolic link `link` pointing to `target` (`guestfs_ln_sf`).
    public func lnSf(target: String, link: String) throws {
        try call("guestfs_ln_sf") { guestfs_ln_sf($0, target, link) }
    }

    /// The target of a symbolic link, as stored (`guestfs_readlink`).
    public func readlink(_ path: String) throws -> String {
        try callString("guestfs_readlink") { guestfs_readlink($0, path) }
    }

    /// The names in a directory, without `.` and `..`, sorted (`guestfs_ls`).
    public func ls(_ directory: String) throws -> [String] {
        try callStringList("guestfs_ls") { guestfs_ls($0, directory) }
    }

    /// Copies a file of this host into the appliance (`guestfs_upload`); no size limit.
    public func upload(local: String, remote: String) throws {
        try call("guestfs_upload") { guestfs_upload($0, local, remote) }
    }

    /// Copies a file from the appliance to this host (`guestfs_download`); no size limit.
    public func download(remote: String, local: String) throws {
        try call("guestfs_download") { guestfs_download($0, remote, local) }
    }

    /// The path as it is spelled on disk, found case-insensitively component by
    /// component (`guestfs_case_sensitive_path`), e.g. `/windows/system32` →
    /// `/Windows/System32`. The last component need not exist.
    public func caseSensitivePath(_ path: String) throws -> String {
        try callString("guestfs_case_sensitive_path") { guestfs_case_sensitive_path($0, path) }
    }

    /// Creates an empty file or updates a file's times (`guestfs_touch`).
    public func touch(_ path: String) throws {
        try call("guestfs_touch") { guestfs_touch($0, path) }
    }

    /// What `stat` says about a file (`guestfs_statns`).
    public struct FileStat: Sendable, Equatable {
        /// Type and permission bits, as in `st_mode` (`0o100644` for a regular file).
        public var mode: Int64
        public var size: Int64
        public var uid: Int64
        public var gid: Int64
        /// The permission bits alone (`mode & 0o7777`).
        public var permissions: Int64 { mode & 0o7777 }
    }

    /// `stat` of a file, following symbolic links (`guestfs_statns`).
    public func stat(_ path: String) throws -> FileStat {
        try withHandle("guestfs_statns") { g in
            guard let stat = guestfs_statns(g, path) else {
                throw GuestfsError.last(g, function: "guestfs_statns")
            }
            defer { guestfs_free_statns(stat) }
            return FileStat(
                mode: stat.pointee.st_mode, size: stat.pointee.st_size,
                uid: stat.pointee.st_uid, gid: stat.pointee.st_gid)
        }
    }
}

// The optional-argument bits of the `_argv` structs, from guestfs.h: Swift does not
// import macros built with UINT64_C.

/// `GUESTFS_ADD_DRIVE_OPTS_*_BITMASK`.
enum AddDriveBits {
    static let readonly: UInt64 = 1 << 0
    static let format: UInt64 = 1 << 1
    static let networkProtocol: UInt64 = 1 << 5
    static let server: UInt64 = 1 << 6
}

/// `GUESTFS_MKFS_OPTS_*_BITMASK`.
enum MkfsBits {
    static let label: UInt64 = 1 << 4
}

/// `GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS_BITMASK`.
enum RemountBits {
    static let rw: UInt64 = 1 << 0
}

enum IsFileBits {
    static let followSymlinks: UInt64 = 1 << 0
}

/// `GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS_BITMASK`.
enum IsDirBits {
    static let followSymlinks: UInt64 = 1 << 0
}

/// `GUESTFS_HIVEX_OPEN_*_BITMASK`.
enum HivexOpenBits {
    static let write: UInt64 = 1 << 2
}
