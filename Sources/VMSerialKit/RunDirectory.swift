import Foundation

/// A private folder for one probe run (overlays, console files), removed afterwards and
/// on Ctrl-C through `Interrupts`.
public final class RunDirectory: @unchecked Sendable {
    public let root: String
    private var token: Int?

    public init(label: String) throws {
        let base = HostPaths.runDirectory
        let root = (base as NSString).appendingPathComponent("\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
        } catch {
            throw VMSerialError.failed("cannot create the run folder \(root): \(error.localizedDescription); set VMSERIAL_RUN_DIR to a writable folder")
        }
        self.root = root
        token = Interrupts.shared.onInterrupt { try? FileManager.default.removeItem(atPath: root) }
    }

    public func path(_ name: String) -> String { (root as NSString).appendingPathComponent(name) }

    /// Leaves the folder in place (`--keep`): it is no longer removed on Ctrl-C.
    public func keep() {
        if let token { Interrupts.shared.remove(token) }
        token = nil
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: root)
        if let token { Interrupts.shared.remove(token) }
        token = nil
    }
}

/// Ctrl-C (SIGINT) and SIGTERM run the registered clean-ups (destroy the probe guest,
/// remove overlays and partial copies), then exit 130. Nothing is left half-done.
public final class Interrupts: @unchecked Sendable {
    public static let shared = Interrupts()
    private let lock = NSLock()
    private var actions: [Int: () -> Void] = [:]
    private var next = 0
    private var sources: [DispatchSourceSignal] = []
    private(set) public var interrupted = false

    /// Installs the handlers (once, from the CLI).
    public func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { [weak self] in self?.fire(sig) }
            s.resume()
            sources.append(s)
        }
    }

    func fire(_ sig: Int32) {
        lock.lock()
        interrupted = true
        let todo = actions.sorted { $0.key > $1.key }.map(\.value)
        actions = [:]
        lock.unlock()
        FileHandle.standardError.write(Data("\nvmserial: interrupted, cleaning up…\n".utf8))
        for a in todo { a() }
        exit(130)
    }

    /// Blocks forever once an interrupt has begun: the handler finishes the clean-up and exits 130.
    public func parkIfInterrupted() {
        lock.lock()
        let parked = interrupted
        lock.unlock()
        guard parked else { return }
        while true { sleep(60) }
    }

    /// Registers a clean-up; newest run first.
    @discardableResult
    public func onInterrupt(_ action: @escaping () -> Void) -> Int {
        lock.lock()
        defer { lock.unlock() }
        next += 1
        actions[next] = action
        return next
    }

    public func remove(_ token: Int) {
        lock.lock()
        actions[token] = nil
        lock.unlock()
    }
}
