import Blocking
import CLibvirt
import Foundation

/// Where a block job stands, as libvirt's block job events say (`virConnectDomainEventBlockJobStatus`).
public enum BlockJobStatus: Sendable, Equatable, CustomStringConvertible {
    /// A copy (or active commit) is in sync and mirrors every write: it may pivot now.
    case ready
    /// The job ended and did what it was for (a copy: after its pivot).
    case completed
    case failed
    /// Aborted without a pivot.
    case canceled

    init?(_ raw: Int32) {
        switch UInt32(bitPattern: raw) {
        case VIR_DOMAIN_BLOCK_JOB_READY.rawValue: self = .ready
        case VIR_DOMAIN_BLOCK_JOB_COMPLETED.rawValue: self = .completed
        case VIR_DOMAIN_BLOCK_JOB_FAILED.rawValue: self = .failed
        case VIR_DOMAIN_BLOCK_JOB_CANCELED.rawValue: self = .canceled
        default: return nil
        }
    }

    /// The job is over (everything but `.ready`).
    public var ended: Bool { self != .ready }

    public var description: String {
        switch self {
        case .ready: "ready"
        case .completed: "completed"
        case .failed: "failed"
        case .canceled: "canceled"
        }
    }
}

/// The block job events of one disk of a running domain (`VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2`),
/// collected from the moment this is made: make it before starting the job, so that no event
/// is missed, and `stop()` it (or let it go) afterwards.
public final class BlockJobEvents: @unchecked Sendable {
    public let domain: Domain
    /// The disk's target (`vda`): what libvirt names in a BLOCK_JOB_2 event.
    public let disk: String
    private let seen: SeenStatus
    private let lock = NSLock()
    private var callbackID: Int32?

    /// Registers for the events of `disk`. Without an event loop (or a driver that cannot deliver
    /// events) `wait` reads the job every `progressInterval` instead.
    public init(_ domain: Domain, disk: String) {
        self.domain = domain
        self.disk = disk
        seen = SeenStatus(disk: disk)
        guard EventLoop.running else { return }
        let opaque = Unmanaged.passRetained(seen).toOpaque()
        let callback = unsafeBitCast(blockJobEvent, to: virConnectDomainEventGenericCallback.self)
        let id = virConnectDomainEventRegisterAny(
            domain.connection.pointer, domain.pointer, Int32(VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2.rawValue), callback,
            opaque, releaseSeenStatus)
        if id >= 0 {
            callbackID = id
        } else {
            // libvirt did not take the reference, so its free callback will never run.
            Unmanaged<SeenStatus>.fromOpaque(opaque).release()
        }
    }

    /// Whether events arrive (false: `wait` reads the job's progress instead).
    public var eventDriven: Bool {
        lock.lock()
        defer { lock.unlock() }
        return callbackID != nil
    }

    /// The last status an event reported, nil before the first.
    public var latest: BlockJobStatus? { seen.status }

    /// Waits until an event reports a status in `wanted`, or the end of the job (completed,
    /// failed, canceled: the caller tells whether that is what it waited for).
    ///
    /// The job is read once on entry and after each wake-up, only for `progress` (and, without
    /// events, to see readiness as `cur == end`, which libvirt keeps below `end` until the copy is
    /// ready, and the end as no job). A job that is gone with no event telling how is waited for
    /// `endGrace` more (libvirt removes the job before its event reaches this loop), then is nil.
    ///
    /// - Parameters:
    ///   - progressInterval: how often the job is read for `progress` between events.
    ///   - progress: each reading of the job (nil: no job on the disk).
    /// - Returns: the status, or nil when the job is gone and no event said how it ended.
    /// - Throws: `LibvirtError` of kind `.timeout` when `timeout` passes first; errors reading the job.
    public func wait(
        for wanted: Set<BlockJobStatus>, timeout: Duration, progressInterval: Duration = .milliseconds(500),
        endGrace: Duration = .seconds(10), progress: (Domain.BlockJobInfo?) -> Void = { _ in }
    ) throws -> BlockJobStatus? {
        let clock = ContinuousClock()
        let deadline = WaitDeadline(timeout)
        var goneSince: ContinuousClock.Instant?
        while true {
            if let status = seen.status, wanted.contains(status) || status.ended { return status }
            let info = try domain.blockJobInfo(disk: disk)
            progress(info)
            if !eventDriven {
                if info == nil { return wanted.contains(.completed) ? .completed : nil }
                if let info, info.end > 0, info.cur == info.end, wanted.contains(.ready) { return .ready }
            } else if info == nil {
                let since = goneSince ?? clock.now
                goneSince = since
                if since.duration(to: clock.now) >= endGrace { return nil }
            }
            let remaining = try deadline.remaining(waitingFor: wanted) {
                "the block job of disk \(disk) of domain '\(domain.name)' was not \($0) within \(timeout)"
            }
            seen.flag.sleep(for: min(remaining, progressInterval))
        }
    }

    /// Deregisters the callback (also done when this goes away).
    public func stop() {
        lock.lock()
        let id = callbackID
        callbackID = nil
        lock.unlock()
        if let id { virConnectDomainEventDeregisterAny(domain.connection.pointer, id) }
    }

    deinit { stop() }
}

/// What the callback writes and the waiter reads: the last status of one disk's job, and the
/// flag that wakes the waiter.
final class SeenStatus: @unchecked Sendable {
    let disk: String
    let flag = CancellationFlag()
    private let lock = NSLock()
    private var last: BlockJobStatus?

    init(disk: String) { self.disk = disk }

    var status: BlockJobStatus? {
        lock.lock()
        defer { lock.unlock() }
        return last
    }

    func record(disk name: String, status: BlockJobStatus) {
        guard name == disk else { return }
        lock.lock()
        last = status
        lock.unlock()
        flag.wake()
    }
}

/// The block job callback: notes the status for the waiter. No libvirt call, so it cannot block the loop.
private let blockJobEvent: @convention(c) (
    virConnectPtr?, virDomainPtr?, UnsafePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?
) -> Void = { _, _, disk, _, status, opaque in
    guard let opaque, let disk, let status = BlockJobStatus(status) else { return }
    Unmanaged<SeenStatus>.fromOpaque(opaque).takeUnretainedValue().record(disk: String(cString: disk), status: status)
}

/// Releases the waiter's reference when libvirt drops the callback.
private let releaseSeenStatus: @convention(c) (UnsafeMutableRawPointer?) -> Void = { opaque in
    if let opaque { Unmanaged<SeenStatus>.fromOpaque(opaque).release() }
}
