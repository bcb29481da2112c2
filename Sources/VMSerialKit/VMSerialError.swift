import Libvirt
import Scenario
import SerialRegistry
import VMSpec

/// Errors of the orchestration layer, each with the exit code CI relies on.
public enum VMSerialError: Error, CustomStringConvertible, Sendable {
    /// Bad input: a wrong flag, a missing file, no such domain (exit 2).
    case badInput(String)
    /// Something that should have worked did not (exit 1).
    case failed(String)
    /// The user interrupted (exit 130).
    case interrupted

    public var description: String {
        switch self {
        case let .badInput(m), let .failed(m): m
        case .interrupted: "interrupted; cleaned up"
        }
    }
}

/// Exit codes, documented in `--help` and README.md.
public enum ExitStatus {
    public static let ok: Int32 = 0
    public static let failed: Int32 = 1
    public static let badInput: Int32 = 2
    public static let interrupted: Int32 = 130

    /// Maps any error the library throws to its exit code.
    public static func of(_ error: Error) -> Int32 {
        switch error {
        case let e as VMSerialError:
            switch e {
            case .badInput: return badInput
            case .failed: return failed
            case .interrupted: return interrupted
            }
        case is SpecError, is ScenarioError, is PerturbationError:
            return badInput
        case let e as RegistryError:
            switch e {
            case .storage, .commitUnknown, .generationExhausted: return failed
            default: return badInput
            }
        case let e as LibvirtError:
            return e.kind == .noDomain ? badInput : failed
        default:
            return failed
        }
    }
}
