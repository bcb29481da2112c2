import CLibvirt

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A libvirt domain (`virDomainPtr`). Keeps its `Connection` open while it lives.
///
/// libvirt domain handles are thread-safe, so a `Domain` can be shared across tasks.
public final class Domain: @unchecked Sendable {
    let pointer: virDomainPtr
    /// The connection this handle came from; held so it outlives the handle.
    public let connection: Connection

    init(pointer: virDomainPtr, connection: Connection) {
        self.pointer = pointer
        self.connection = connection
    }

    deinit {
        virDomainFree(pointer)
    }

    /// The domain's name.
    public var name: String {
        virDomainGetName(pointer).map { String(cString: $0) } ?? ""
    }

    /// The domain's UUID in its canonical lower-case, hyphenated form.
    public var uuidString: String {
        get throws {
            // VIR_UUID_STRING_BUFLEN: 36 characters and the terminating NUL.
            var buffer = [CChar](repeating: 0, count: 37)
            guard virDomainGetUUIDString(pointer, &buffer) == 0 else {
                throw lastError("cannot read the UUID")
            }
            return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        }
    }

    /// The current run state (`virDomainGetState`).
    public func state() throws -> DomainState {
        var state: Int32 = 0
        var reason: Int32 = 0
        guard virDomainGetState(pointer, &state, &reason, 0) == 0 else {
            throw lastError("cannot read the state")
        }
        return DomainState(rawState: state)
    }

    /// Whether the domain is running (or paused): it has a live definition.
    public var isActive: Bool {
        get throws {
            let result = virDomainIsActive(pointer)
            guard result >= 0 else { throw lastError("cannot tell whether it is active") }
            return result == 1
        }
    }

    /// Whether the domain has a persistent (defined) configuration, as opposed to a
    /// transient one that disappears when it stops.
    public var isPersistent: Bool {
        get throws {
            let result = virDomainIsPersistent(pointer)
            guard result >= 0 else { throw lastError("cannot tell whether it is persistent") }
            return result == 1
        }
    }

    /// The domain XML (`virDomainGetXMLDesc`).
    ///
    /// - Parameters:
    ///   - inactive: the persistent definition, i.e. what the next boot uses, rather than
    ///     the live one (`VIR_DOMAIN_XML_INACTIVE`).
    ///   - secure: include security-sensitive data such as passwords (`VIR_DOMAIN_XML_SECURE`).
    public func xmlDesc(inactive: Bool = false, secure: Bool = false) throws -> String {
        var flags: UInt32 = 0
        if inactive { flags |= VIR_DOMAIN_XML_INACTIVE.rawValue }
        if secure { flags |= VIR_DOMAIN_XML_SECURE.rawValue }
        guard let cString = virDomainGetXMLDesc(pointer, flags) else {
            throw lastError("cannot read the XML")
        }
        defer { free(cString) }
        return String(cString: cString)
    }

    /// Starts a defined, inactive domain (`virDomainCreate`).
    public func start() throws {
        guard virDomainCreate(pointer) == 0 else { throw lastError("cannot start") }
    }

    /// Stops the domain at once, like pulling the plug (`virDomainDestroy`).
    /// A transient domain ceases to exist.
    public func destroy() throws {
        guard virDomainDestroy(pointer) == 0 else { throw lastError("cannot destroy") }
    }

    /// Asks the guest to shut down (ACPI power button); returns before it has.
    /// Use `waitForState([.shutoff], …)` to wait for it.
    public func shutdown() throws {
        guard virDomainShutdown(pointer) == 0 else { throw lastError("cannot shut down") }
    }

    /// Asks the guest to reboot (`virDomainReboot` with the driver's default method).
    public func reboot() throws {
        guard virDomainReboot(pointer, 0) == 0 else { throw lastError("cannot reboot") }
    }

    /// Lets a paused domain's CPUs run (`virDomainResume`).
    public func resume() throws {
        guard virDomainResume(pointer) == 0 else { throw lastError("cannot resume") }
    }

    /// Resets the virtual machine without telling the guest, like the reset button.
    public func reset() throws {
        guard virDomainReset(pointer, 0) == 0 else { throw lastError("cannot reset") }
    }

    /// Removes the persistent definition, with its NVRAM, managed-save image and
    /// snapshot and checkpoint metadata. A running domain keeps running, as a transient one.
    ///
    /// The QEMU driver accepts all four flags. Drivers that reject some (the test driver
    /// refuses NVRAM and checkpoints with `VIR_ERR_INVALID_ARG`) are retried with the
    /// managed-save and snapshot flags only, then with none.
    public func undefine() throws {
        let portable =
            VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue
            | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue
        let everything =
            portable | VIR_DOMAIN_UNDEFINE_NVRAM.rawValue
            | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA.rawValue
        let attempts: [UInt32] = [everything, portable, 0]
        var failure: LibvirtError?
        for flags in attempts {
            if virDomainUndefineFlags(pointer, flags) == 0 { return }
            let error = lastError("cannot undefine")
            // An unknown flag is refused before anything happens, so retrying is safe.
            guard error.isUnsupportedFlagsOrCall else { throw error }
            failure = error
        }
        throw failure ?? lastError("cannot undefine")
    }

    /// The custom metadata element in `namespaceURI` (`virDomainGetMetadata`,
    /// `VIR_DOMAIN_METADATA_ELEMENT`), or nil when the domain has none.
    ///
    /// - Parameter config: read the persistent definition; false reads the live one
    ///   (which needs a running domain).
    public func metadata(namespaceURI: String, config: Bool = true) throws -> String? {
        let flags = config ? VIR_DOMAIN_AFFECT_CONFIG.rawValue : VIR_DOMAIN_AFFECT_LIVE.rawValue
        guard
            let cString = virDomainGetMetadata(
                pointer, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), namespaceURI, flags)
        else {
            let error = lastError("cannot read metadata in \(namespaceURI)")
            if error.code == Int32(VIR_ERR_NO_DOMAIN_METADATA.rawValue) { return nil }
            throw error
        }
        defer { free(cString) }
        return String(cString: cString)
    }

    /// Replaces (or, with `xml` nil, removes) the custom metadata element in
    /// `namespaceURI` (`virDomainSetMetadata`, `VIR_DOMAIN_METADATA_ELEMENT`).
    ///
    /// - Parameters:
    ///   - xml: one XML element, written without a namespace; libvirt puts it and its
    ///     children in `namespaceURI` with the prefix `key`.
    ///   - key: the namespace prefix used in the stored XML.
    ///   - config: change the persistent definition.
    ///   - live: change the running domain. With neither, libvirt changes whichever
    ///     is current.
    public func setMetadata(
        xml: String?, key: String, namespaceURI: String, config: Bool = true, live: Bool = false
    ) throws {
        var flags: UInt32 = 0
        if config { flags |= VIR_DOMAIN_AFFECT_CONFIG.rawValue }
        if live { flags |= VIR_DOMAIN_AFFECT_LIVE.rawValue }
        guard
            virDomainSetMetadata(
                pointer, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), xml, key, namespaceURI,
                flags) == 0
        else {
            throw lastError("cannot set metadata in \(namespaceURI)")
        }
    }

    // MARK: Block jobs (live storage migration)

    /// A running block job on one disk (`virDomainBlockJobInfo`).
    public struct BlockJobInfo: Sendable, Equatable {
        /// `virDomainBlockJobType`: 1 pull, 2 copy, 3 commit, 4 active commit, 5 backup.
        public let type: Int32
        /// The bandwidth limit in MiB/s (0: unlimited).
        public let bandwidth: UInt
        /// Progress: `cur` of `end` units done. A copy is ready to pivot once
        /// `cur == end` (and `end > 0`), but keeps mirroring new writes until aborted.
        public let cur: UInt64
        public let end: UInt64

        public init(type: Int32, bandwidth: UInt, cur: UInt64, end: UInt64) {
            self.type = type
            self.bandwidth = bandwidth
            self.cur = cur
            self.end = end
        }

        /// `VIR_DOMAIN_BLOCK_JOB_TYPE_COPY`.
        public static let typeCopy = Int32(VIR_DOMAIN_BLOCK_JOB_TYPE_COPY.rawValue)
    }

    /// Starts copying a running domain's disk to a new destination (`virDomainBlockCopy`).
    /// The copy then mirrors every write until `blockJobAbort` ends it.
    ///
    /// - Parameters:
    ///   - disk: the disk's target (`vda`) or source path.
    ///   - destinationXML: a `<disk>` element describing the destination.
    ///   - shallow: copy only the top image, not the backing chain
    ///     (`VIR_DOMAIN_BLOCK_COPY_SHALLOW`).
    ///   - reuseExternal: the destination already exists, created by the caller
    ///     (`VIR_DOMAIN_BLOCK_COPY_REUSE_EXT`).
    ///   - transientJob: the job need not survive the domain's restart
    ///     (`VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB`). Needed for a *persistent* domain:
    ///     without it libvirt 9.0 refuses with "domain is not transient"
    ///     (`.operationInvalid`). A transient domain needs no flag. After a pivot libvirt
    ///     also points the persistent definition at the destination.
    public func blockCopy(
        disk: String, destinationXML: String, shallow: Bool = false, reuseExternal: Bool = false,
        transientJob: Bool = false
    ) throws {
        var flags: UInt32 = 0
        if shallow { flags |= VIR_DOMAIN_BLOCK_COPY_SHALLOW.rawValue }
        if reuseExternal { flags |= VIR_DOMAIN_BLOCK_COPY_REUSE_EXT.rawValue }
        if transientJob { flags |= VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB.rawValue }
        guard virDomainBlockCopy(pointer, disk, destinationXML, nil, 0, flags) == 0 else {
            throw lastError("cannot start a block copy of disk \(disk)")
        }
    }

    /// The block job running on `disk`, or nil when there is none.
    public func blockJobInfo(disk: String) throws -> BlockJobInfo? {
        var info = virDomainBlockJobInfo()
        let result = virDomainGetBlockJobInfo(pointer, disk, &info, 0)
        guard result >= 0 else { throw lastError("cannot read the block job of disk \(disk)") }
        guard result == 1 else { return nil }
        return BlockJobInfo(type: info.type, bandwidth: info.bandwidth, cur: info.cur, end: info.end)
    }

    /// Ends the block job on `disk` and waits for it to end.
    ///
    /// - Parameter pivot: for a copy, switch the domain to the destination
    ///   (`VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT`); otherwise keep the source.
    public func blockJobAbort(disk: String, pivot: Bool) throws {
        let flags = pivot ? VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT.rawValue : 0
        guard virDomainBlockJobAbort(pointer, disk, flags) == 0 else {
            throw lastError(pivot ? "cannot pivot disk \(disk)" : "cannot abort the block job of disk \(disk)")
        }
    }

    /// The calling thread's libvirt error, its message prefixed with this domain's name
    /// and what failed: "domain 'vm1': cannot start: Requested operation is not valid: …".
    private func lastError(_ what: String) -> LibvirtError {
        // Read libvirt's error before `name`, which calls into libvirt and clears it.
        let error = LibvirtError.last(fallback: "unknown error")
        return error.prefixed("domain '\(name)': \(what)")
    }
}
