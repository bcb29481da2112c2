import DomainXML
import Guestfs
import Inspection
import Libvirt
import ProcessRunner
import Scenario
import SerialRegistry
import Verifier
import VMSpec

/// Exit codes, documented in `--help` and README.md.
public enum ExitStatus {
    public static let ok: Int32 = 0
    public static let failed: Int32 = 1
    public static let badInput: Int32 = 2
    public static let interrupted: Int32 = 130
    public static let terminated: Int32 = 143

    /// The exit code of any error the library throws: its type says it (`ExitCoded`). An error of
    /// a type no module declares (Foundation's file errors, say) is a failure, 1.
    public static func of(_ error: Error) -> Int32 {
        (error as? ExitCoded)?.exitStatus ?? failed
    }
}

/// An error that carries the exit code the command line ends with. Every error type a module of
/// vmserial declares conforms, on purpose, below or where it is declared in VMSerialKit
/// (tests/VMSerialKitTests/ExitCodeTests checks that none is forgotten).
public protocol ExitCoded: Error {
    var exitStatus: Int32 { get }
}

/// Errors of the orchestration layer.
public enum VMSerialError: Error, Equatable, CustomStringConvertible, Sendable, ExitCoded {
    /// Bad input: a wrong flag, a missing file, a domain in the wrong state (exit 2).
    case badInput(String)
    /// Something that should have worked did not (exit 1).
    case failed(String)
    /// The user interrupted (exit 130).
    case interrupted
    /// The registry has no VM of that name (exit 2).
    case noRecord(vm: String, registry: String)
    /// libvirt has no domain of that name (exit 2).
    case noDomain(String, uri: String)

    public var description: String {
        switch self {
        case let .badInput(m), let .failed(m): m
        case .interrupted: "interrupted; cleaned up"
        case let .noRecord(vm, registry):
            "vmserial has no record of \(vm) in its registry \(registry); launch it with `vmserial launch SPEC` (or pass the --registry it was launched with)"
        case let .noDomain(name, uri):
            "libvirt at \(uri) has no domain \(name); launch it with `vmserial launch SPEC` or pass --connect"
        }
    }

    public var exitStatus: Int32 {
        switch self {
        case .badInput, .noRecord, .noDomain: ExitStatus.badInput
        case .failed: ExitStatus.failed
        case .interrupted: ExitStatus.interrupted
        }
    }
}

// What the user wrote (a spec, a scenario, a perturbation that cannot apply): bad input.
extension SpecError: ExitCoded { public var exitStatus: Int32 { ExitStatus.badInput } }
extension ScenarioError: ExitCoded { public var exitStatus: Int32 { ExitStatus.badInput } }
extension PerturbationError: ExitCoded { public var exitStatus: Int32 { ExitStatus.badInput } }

extension RegistryError: ExitCoded {
    /// The store itself failing (I/O, a lost server, a commit whose outcome is unknown, no free
    /// serial left) is a failure; everything else is a request the registry refuses: bad input.
    public var exitStatus: Int32 {
        switch self {
        case .storage, .commitUnknown, .generationExhausted: ExitStatus.failed
        default: ExitStatus.badInput
        }
    }
}

extension LibvirtError: ExitCoded {
    /// A domain that does not exist was named by the user; every other libvirt error is a failure.
    public var exitStatus: Int32 { kind == .noDomain ? ExitStatus.badInput : ExitStatus.failed }
}

// What the host or the guest gave vmserial and it could not use: failures. The XML comes from
// libvirt, reports and tables from a guest, hives from its disk; none of it is the user's input.
extension GuestfsError: ExitCoded { public var exitStatus: Int32 { ExitStatus.failed } }
extension DomainXMLError: ExitCoded { public var exitStatus: Int32 { ExitStatus.failed } }
extension XMLParseError: ExitCoded { public var exitStatus: Int32 { ExitStatus.failed } }
extension ProbeReportError: ExitCoded { public var exitStatus: Int32 { ExitStatus.failed } }
extension DomainLocations.Failure: ExitCoded { public var exitStatus: Int32 { ExitStatus.failed } }
extension SMBIOSError: ExitCoded { public var exitStatus: Int32 { ExitStatus.failed } }
extension HiveFileError: ExitCoded { public var exitStatus: Int32 { ExitStatus.failed } }
// A host tool (qemu-img, qemu-nbd) missing, not starting or failing: the host's, not the input's.
extension ProcessError: ExitCoded { public var exitStatus: Int32 { ExitStatus.failed } }
