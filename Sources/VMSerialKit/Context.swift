import Libvirt
import SerialRegistry
import Verifier

/// What every command of vmserial works with: the libvirt connection, the registry, and where
/// progress lines go (the command line prints them on standard error).
public struct Context {
    public let connection: Connection
    public let registry: any Registry
    public var progress: (String) -> Void
    /// Where the time goes, stage by stage (`verify --timings`); shared by every copy of the context.
    public var timer: StageTimer

    public init(connection: Connection, registry: any Registry, progress: @escaping (String) -> Void = { _ in },
                timer: StageTimer = StageTimer()) {
        self.connection = connection
        self.registry = registry
        self.progress = progress
        self.timer = timer
    }

    /// The VM of that name, as `ResolvedVM.resolve` finds it.
    public func resolve(_ name: String) throws -> ResolvedVM {
        try ResolvedVM.resolve(name, connection: connection, registry: registry)
    }
}

/// A command that holds a `Context` and reads its parts by name.
public protocol ContextHolder {
    var context: Context { get set }
}

extension ContextHolder {
    public var connection: Connection { context.connection }
    public var registry: any Registry { context.registry }
    public var progress: (String) -> Void {
        get { context.progress }
        set { context.progress = newValue }
    }
    public var timer: StageTimer {
        get { context.timer }
        set { context.timer = newValue }
    }
}
