/// How a `Guestfs` handle sets up its appliance, applied once when the handle is created.
public struct GuestfsOptions: Sendable {
    /// How the appliance's qemu accelerates the guest:
    /// - nil: whatever `LIBGUESTFS_BACKEND` and `LIBGUESTFS_BACKEND_SETTINGS` say, with the
    ///   backend `direct` when `LIBGUESTFS_BACKEND` is unset (libguestfs' own default on
    ///   Debian is `direct` too, but an explicit choice does not depend on the build);
    /// - true: backend `direct` with the backend setting `force_tcg` (software emulation,
    ///   for hosts whose KVM exists but cannot run guests);
    /// - false: backend `direct` without `force_tcg` (KVM when qemu can use it).
    ///
    /// Backend settings from the environment other than `force_tcg` are kept either way.
    public var forceTCG: Bool?
    /// The appliance's memory in MiB (`guestfs_set_memsize`); nil keeps libguestfs'
    /// default (`LIBGUESTFS_MEMSIZE`, else 1280 MiB on x86-64 in 1.48).
    public var memsizeMiB: Int?
    /// The appliance's virtual CPUs (`guestfs_set_smp`); nil keeps 1.
    public var smp: Int?
    /// Print every libguestfs call and its result on stderr (`guestfs_set_trace`).
    /// false leaves tracing as `LIBGUESTFS_TRACE` says, so it can still be turned on
    /// from the environment while debugging.
    public var trace: Bool
    /// Where libguestfs looks for its appliance (`guestfs_set_path`); nil keeps
    /// `LIBGUESTFS_PATH` or the built-in path. A folder with `README.fixed`, `kernel`,
    /// `initrd` and `root` is a fixed appliance: used as it is, no supermin run.
    public var appliancePath: String?
    /// The folder in which libguestfs makes this handle's temporary folder (`guestfs_set_tmpdir`;
    /// nil keeps `TMPDIR` or /tmp). A caller that may be killed puts it where its own clean-up looks.
    public var temporaryFolder: String?

    public init(forceTCG: Bool? = nil, memsizeMiB: Int? = nil, smp: Int? = nil, trace: Bool = false,
                appliancePath: String? = nil, temporaryFolder: String? = nil) {
        self.forceTCG = forceTCG
        self.memsizeMiB = memsizeMiB
        self.smp = smp
        self.trace = trace
        self.appliancePath = appliancePath
        self.temporaryFolder = temporaryFolder
    }
}
