import Blocking
import CLibvirt
import Foundation

/// libvirt's default event loop (`virEventRegisterDefaultImpl`), run for the life of the process
/// on a thread of its own by `virEventRunDefaultImpl`.
///
/// It must be registered before the first connection opens: the remote driver (qemu:///system and
/// qemu:///session go through it) adds its socket to the event loop at open time, and from then on
/// delivers domain events and answers libvirtd's keepalive through it. With a loop registered the
/// remote driver also turns keepalive on by itself (5 s interval, 5 missed answers close the
/// connection), which is why the loop, once registered, must run without pause: a thread of its
/// own, never a task on the cooperative pool that other work could hold up. The test driver
/// (test:///default) delivers its events through the same loop, from a timer.
enum EventLoop {
    /// True once the loop is registered and its thread started; false when libvirt refused to
    /// register it (then waits poll, see `Domain.waitForState`).
    static let running: Bool = {
        guard virEventRegisterDefaultImpl() == 0 else { return false }
        BlockingExecutor.detachThread(name: "vmserial.libvirt-events") {
            while true {
                // Returns after each dispatch; an error (rare: poll(2) failed) must not spin.
                if virEventRunDefaultImpl() < 0 { usleep(10_000) }
            }
        }
        return true
    }()
}

/// The lifecycle callback: wakes the waiter whose reference libvirt hands back. It does not call
/// libvirt itself (the waiter reads the state on its own thread), so it cannot block the loop.
private let lifecycleEvent: @convention(c) (
    virConnectPtr?, virDomainPtr?, Int32, Int32, UnsafeMutableRawPointer?
) -> Int32 = { _, _, _, _, opaque in
    if let opaque { Unmanaged<CancellationFlag>.fromOpaque(opaque).takeUnretainedValue().wake() }
    return 0
}

/// Releases the waiter's reference when libvirt drops the callback (possibly later, on the loop's thread).
private let releaseWaiter: @convention(c) (UnsafeMutableRawPointer?) -> Void = { opaque in
    if let opaque { Unmanaged<CancellationFlag>.fromOpaque(opaque).release() }
}

extension Domain {
    /// Waits until the domain's state is one of `wanted`, woken by libvirt's lifecycle events
    /// (`VIR_DOMAIN_EVENT_ID_LIFECYCLE`) rather than by polling. Blocks the calling thread: from
    /// async code use the `async` variant, which waits on a thread of its own.
    ///
    /// The state is read once after the callback is registered, so a change between the caller's
    /// last look and the registration is not missed. A driver that cannot deliver events falls
    /// back to reading the state every 100 ms.
    ///
    /// - Throws: `LibvirtError` of kind `.timeout` when `timeout` passes first; any error reading
    ///   the state (`.noDomain` when a transient domain goes away).
    public func waitForState(_ wanted: Set<DomainState>, timeout: Duration) throws {
        try waitForState(wanted, timeout: timeout, flag: CancellationFlag())
    }

    /// Waits until the domain has stopped: shut off or crashed, or gone (a transient domain
    /// ceases to exist when it stops). Woken by lifecycle events, like `waitForState`.
    ///
    /// - Returns: false when it still runs after `timeout`.
    /// - Throws: any other error reading the state.
    public func waitUntilInactive(timeout: Duration) throws -> Bool {
        do {
            try waitForState([.shutoff, .crashed], timeout: timeout)
            return true
        } catch let error as LibvirtError where error.kind == .noDomain {
            return true
        } catch let error as LibvirtError where error.kind == .timeout {
            return false
        }
    }

    /// Waits until the domain's state is one of `wanted`, woken by libvirt's lifecycle events, on
    /// a thread of its own (not the cooperative pool), so timers and cancellation around it work
    /// however busy the pool is.
    ///
    /// - Throws: `LibvirtError` of kind `.timeout` when `timeout` passes first;
    ///   `CancellationError` when the task is cancelled; any error reading the state
    ///   (`.noDomain` when a transient domain goes away).
    public func waitForState(_ wanted: Set<DomainState>, timeout: Duration) async throws {
        try await waitForState(wanted, timeout: timeout, whileWaiting: nil)
    }

    func waitForState(
        _ wanted: Set<DomainState>, timeout: Duration, whileWaiting: (@Sendable (_ eventDriven: Bool) -> Void)?
    ) async throws {
        let flag = CancellationFlag()
        try await BlockingExecutor.run(name: "vmserial.wait-for-state", onCancel: { flag.cancel() }) {
            try self.waitForState(wanted, timeout: timeout, flag: flag, whileWaiting: whileWaiting)
        }
    }

    /// The wait itself. `whileWaiting` runs once, the first time the wait is about to sleep, told
    /// whether a lifecycle callback is registered (false: the polling fallback): tests use it to act
    /// only once the waiter is in place, instead of sleeping and hoping.
    func waitForState(
        _ wanted: Set<DomainState>, timeout: Duration, flag: CancellationFlag,
        whileWaiting: ((_ eventDriven: Bool) -> Void)? = nil
    ) throws {
        let deadline = WaitDeadline(timeout)
        let callbackID = registerLifecycleEvents(waking: flag)
        defer {
            if let callbackID { virConnectDomainEventDeregisterAny(connection.pointer, callbackID) }
        }
        var announced = false
        while true {
            if flag.isCancelled { throw CancellationError() }
            let current = try state()
            if wanted.contains(current) { return }
            let remaining = try deadline.remaining(waitingFor: wanted) {
                "domain '\(name)' did not reach \($0) within \(timeout); it is \(current)"
            }
            if !announced {
                announced = true
                whileWaiting?(callbackID != nil)
            }
            // Every lifecycle event of this domain wakes the flag; the loop then reads the state.
            flag.sleep(for: callbackID == nil ? min(remaining, .milliseconds(100)) : remaining)
        }
    }

    /// Registers `lifecycleEvent` for this domain, holding a reference to `flag` until libvirt
    /// drops the callback. Nil when the driver cannot deliver events (or no loop runs).
    private func registerLifecycleEvents(waking flag: CancellationFlag) -> Int32? {
        guard EventLoop.running else { return nil }
        let opaque = Unmanaged.passRetained(flag).toOpaque()
        let callback = unsafeBitCast(lifecycleEvent, to: virConnectDomainEventGenericCallback.self)
        let id = virConnectDomainEventRegisterAny(
            connection.pointer, pointer, Int32(VIR_DOMAIN_EVENT_ID_LIFECYCLE.rawValue), callback,
            opaque, releaseWaiter)
        guard id >= 0 else {
            // libvirt did not take the reference, so its free callback will never run.
            Unmanaged<CancellationFlag>.fromOpaque(opaque).release()
            return nil
        }
        return id
    }
}

/// The end of a wait on events: how much time is left, and the timeout error once none is.
struct WaitDeadline {
    private let clock = ContinuousClock()
    private let end: ContinuousClock.Instant

    init(_ timeout: Duration) { end = clock.now.advanced(by: timeout) }

    /// The time left.
    ///
    /// - Throws: `LibvirtError` of kind `.timeout` once it has passed, its message made by
    ///   `message` from the names of `wanted` ("running or paused").
    func remaining<Wanted: CustomStringConvertible>(
        waitingFor wanted: Set<Wanted>, _ message: (String) -> String
    ) throws -> Duration {
        let left = clock.now.duration(to: end)
        guard left <= .zero else { return left }
        let names = wanted.map(\.description).sorted().joined(separator: " or ")
        throw LibvirtError(kind: .timeout, message: message(names))
    }
}
