import CLibvirt

/// A domain's run state (`virDomainState`).
public enum DomainState: Sendable, Hashable, CustomStringConvertible {
    case running
    /// Blocked on a resource (Xen); QEMU domains do not report it.
    case blocked
    case paused
    /// Being shut down by the guest.
    case shutdown
    case shutoff
    case crashed
    /// Suspended by guest power management (S3/S4).
    case pmsuspended
    case noState
    /// A value newer than this wrapper.
    case unknown(Int32)

    init(rawState: Int32) {
        switch UInt32(bitPattern: rawState) {
        case VIR_DOMAIN_NOSTATE.rawValue: self = .noState
        case VIR_DOMAIN_RUNNING.rawValue: self = .running
        case VIR_DOMAIN_BLOCKED.rawValue: self = .blocked
        case VIR_DOMAIN_PAUSED.rawValue: self = .paused
        case VIR_DOMAIN_SHUTDOWN.rawValue: self = .shutdown
        case VIR_DOMAIN_SHUTOFF.rawValue: self = .shutoff
        case VIR_DOMAIN_CRASHED.rawValue: self = .crashed
        case VIR_DOMAIN_PMSUSPENDED.rawValue: self = .pmsuspended
        default: self = .unknown(rawState)
        }
    }

    /// The name `virsh domstate` prints.
    public var description: String {
        switch self {
        case .running: "running"
        case .blocked: "blocked"
        case .paused: "paused"
        case .shutdown: "in shutdown"
        case .shutoff: "shut off"
        case .crashed: "crashed"
        case .pmsuspended: "pmsuspended"
        case .noState: "no state"
        case .unknown(let value): "unknown (\(value))"
        }
    }
}
