import Blocking
@testable import Libvirt
import Testing

/// Waits on domain state through libvirt's lifecycle events. Each test acts only once the waiter
/// reports that it sleeps with its callback registered (`whileWaiting`), never after a sleep, so
/// the tests hold however late the machine runs them.
@Suite("Domain lifecycle events")
struct EventTests {
    /// Starts `waitForState` in a task and returns it once the waiter sleeps, with whether it
    /// sleeps on a lifecycle callback (true) or polls (false).
    static func startWaiting(
        _ domain: Domain, for wanted: Set<DomainState>, timeout: Duration
    ) async -> (waiter: Task<Void, Error>, eventDriven: Bool) {
        let (registered, continuation) = AsyncStream.makeStream(of: Bool.self)
        let waiter = Task {
            // A waiter that ends before it sleeps (an error) must not leave the caller waiting.
            defer { continuation.finish() }
            try await domain.waitForState(wanted, timeout: timeout) { eventDriven in
                continuation.yield(eventDriven)
                continuation.finish()
            }
        }
        var eventDriven = false
        for await value in registered { eventDriven = value }
        return (waiter, eventDriven)
    }

    @Test("waitForState stops when its task is cancelled")
    func waitForStateCancelled() async throws {
        let connection = try Connection(uri: testURI)
        let domain = try connection.defineDomain(xml: ScratchDomain("cancel").xml)
        // A timeout far beyond any run: the waiter must end by cancellation, never by its timeout.
        let (waiter, _) = await Self.startWaiting(domain, for: [.running], timeout: .seconds(24 * 3600))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
    }

    @Test("a task cancelled before it waits throws CancellationError without waiting")
    func cancelledBeforeWaiting() async throws {
        let connection = try Connection(uri: testURI)
        let domain = try connection.defineDomain(xml: ScratchDomain("cancel-early").xml)
        let waiter = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await domain.waitForState([.running], timeout: .seconds(24 * 3600))
        }
        await #expect(throws: CancellationError.self) { try await waiter.value }
    }

    @Test("the lifecycle event of a start wakes a waiter that sleeps on its callback")
    func startWakesWaiter() async throws {
        let connection = try Connection(uri: testURI)
        let domain = try connection.defineDomain(xml: ScratchDomain("event-start").xml)
        // The timeout is the failure: without the event, nothing would wake the waiter before it.
        let (waiter, eventDriven) = await Self.startWaiting(domain, for: [.running], timeout: .seconds(120))
        #expect(eventDriven, "the test driver delivers lifecycle events through the event loop")
        try domain.start()
        try await waiter.value
        #expect(try domain.state() == .running)
    }

    @Test("a transient domain destroyed during a wait ends it with .noDomain")
    func transientGoesAway() async throws {
        let connection = try Connection(uri: testURI)
        let scratch = ScratchDomain("event-gone")
        let domain = try connection.createTransientDomain(xml: scratch.xml)
        let (waiter, eventDriven) = await Self.startWaiting(domain, for: [.paused], timeout: .seconds(120))
        #expect(eventDriven)
        try domain.destroy()
        let error = await #expect(throws: LibvirtError.self) { try await waiter.value }
        #expect(error?.kind == .noDomain)
    }

    @Test("the synchronous wait returns at once when the state is already there, and times out otherwise")
    func synchronousWait() throws {
        let connection = try Connection(uri: testURI)
        let domain = try connection.defineDomain(xml: ScratchDomain("event-sync").xml)
        try domain.waitForState([.shutoff], timeout: .zero)
        let error = try #require(throws: LibvirtError.self) {
            try domain.waitForState([.running], timeout: .milliseconds(100))
        }
        #expect(error.kind == .timeout)
        #expect(error.message.contains("shut off"))
    }

    @Test("a synchronous wait on another thread is woken by a shutdown's event")
    func synchronousWaitWokenByShutdown() async throws {
        let connection = try Connection(uri: testURI)
        let domain = try connection.defineDomain(xml: ScratchDomain("event-shutdown").xml)
        try domain.start()
        let flag = CancellationFlag()
        let (registered, continuation) = AsyncStream.makeStream(of: Bool.self)
        let waiting = Task {
            defer { continuation.finish() }
            try await BlockingExecutor.run {
                try domain.waitForState([.shutoff], timeout: .seconds(120), flag: flag) { eventDriven in
                    continuation.yield(eventDriven)
                    continuation.finish()
                }
            }
        }
        for await eventDriven in registered { #expect(eventDriven) }
        try domain.shutdown()
        try await waiting.value
        #expect(try domain.state() == .shutoff)
    }

    @Test("waitUntilInactive: false while it runs, true once a transient domain is gone")
    func untilInactive() async throws {
        let connection = try Connection(uri: testURI)
        let domain = try connection.createTransientDomain(xml: ScratchDomain("event-inactive").xml)
        #expect(try domain.waitUntilInactive(timeout: .milliseconds(100)) == false)
        let flag = CancellationFlag()
        let (registered, continuation) = AsyncStream.makeStream(of: Bool.self)
        let waiting = Task {
            defer { continuation.finish() }
            return try await BlockingExecutor.run {
                // The same wait waitUntilInactive does, with the hook that says it is in place.
                do {
                    try domain.waitForState([.shutoff, .crashed], timeout: .seconds(120), flag: flag) { eventDriven in
                        continuation.yield(eventDriven)
                        continuation.finish()
                    }
                    return true
                } catch let error as LibvirtError where error.kind == .noDomain {
                    return true
                }
            }
        }
        for await eventDriven in registered { #expect(eventDriven) }
        try domain.destroy()
        #expect(try await waiting.value)
        #expect(try domain.waitUntilInactive(timeout: .zero), "gone counts as inactive")
    }
}
