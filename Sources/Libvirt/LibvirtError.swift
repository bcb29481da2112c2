import CLibvirt

/// An error reported by libvirt (or by this wrapper, for timeouts), with libvirt's own
/// code, the libvirt subsystem that raised it, and its message.
public struct LibvirtError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, coarsely, so callers can branch without knowing libvirt's codes.
    public enum Kind: Sendable, Equatable {
        /// `VIR_ERR_NO_DOMAIN`: no domain with that name or UUID, or it went away.
        case noDomain
        /// `VIR_ERR_OPERATION_INVALID`: not possible in the domain's current state
        /// (starting a running domain, destroying a shut-off one, …).
        case operationInvalid
        /// The connection could not be opened (any error from `virConnectOpen`),
        /// or `VIR_ERR_NO_CONNECT` later on.
        case connectionFailed
        /// The XML was rejected: not well-formed (`VIR_ERR_XML_DETAIL`, libxml2's
        /// message with a caret under the fault), missing or wrong elements
        /// (`VIR_ERR_XML_ERROR`, `VIR_ERR_NO_NAME`, `VIR_ERR_NO_OS`, `VIR_ERR_OS_TYPE`,
        /// `VIR_ERR_XML_INVALID_SCHEMA`), or describing a configuration the driver
        /// does not support (`VIR_ERR_CONFIG_UNSUPPORTED`).
        case xmlError
        /// A wait gave up (`waitForState`), or `VIR_ERR_OPERATION_TIMEOUT`.
        case timeout
        /// Anything else; look at `code` (a `virErrorNumber`).
        case other
    }

    public let kind: Kind
    /// libvirt's `virErrorNumber` (`VIR_ERR_*`), or 0 for errors raised by this wrapper.
    public let code: Int32
    /// libvirt's `virErrorDomain` (`VIR_FROM_*`): the subsystem that raised the error.
    public let domainCode: Int32
    public let message: String

    public init(kind: Kind, code: Int32 = 0, domainCode: Int32 = 0, message: String) {
        self.kind = kind
        self.code = code
        self.domainCode = domainCode
        self.message = message
    }

    public var description: String {
        code == 0 ? message : "\(message) (libvirt error \(code))"
    }

    /// libvirt's `VIR_ERR_NO_SUPPORT` (3): the driver does not implement the call.
    public static let codeNoSupport = Int32(VIR_ERR_NO_SUPPORT.rawValue)
    /// libvirt's `VIR_ERR_INVALID_ARG` (8), also raised for flags a driver does not know.
    public static let codeInvalidArgument = Int32(VIR_ERR_INVALID_ARG.rawValue)
    /// libvirt's `VIR_ERR_OPERATION_UNSUPPORTED` (84).
    public static let codeOperationUnsupported = Int32(VIR_ERR_OPERATION_UNSUPPORTED.rawValue)

    /// The error libvirt recorded for the calling thread.
    ///
    /// libvirt keeps the last error in thread-local storage, so this must run on the same
    /// thread, right after the failing call, with no `await` in between. Every libvirt
    /// entry point (even `virDomainGetName`) resets it, so `fallback` is evaluated only
    /// when libvirt recorded nothing.
    static func last(
        fallback: @autoclosure () -> String,
        kindOverride: Kind? = nil
    ) -> LibvirtError {
        guard let error = virGetLastError() else {
            return LibvirtError(kind: kindOverride ?? .other, message: fallback())
        }
        let code = error.pointee.code
        let message = error.pointee.message.map { String(cString: $0) } ?? fallback()
        return LibvirtError(
            kind: kindOverride ?? kind(forCode: code),
            code: code,
            domainCode: error.pointee.domain,
            message: message)
    }

    /// The same error with `context` (naming the thing concerned) before its message.
    func prefixed(_ context: String) -> LibvirtError {
        LibvirtError(kind: kind, code: code, domainCode: domainCode, message: "\(context): \(message)")
    }

    /// Prefixes `context` unless the message already mentions `name`.
    func naming(_ context: String, _ name: String) -> LibvirtError {
        message.contains(name) ? self : prefixed(context)
    }

    static func kind(forCode code: Int32) -> Kind {
        switch UInt32(bitPattern: code) {
        case VIR_ERR_NO_DOMAIN.rawValue:
            return .noDomain
        case VIR_ERR_OPERATION_INVALID.rawValue:
            return .operationInvalid
        case VIR_ERR_XML_ERROR.rawValue, VIR_ERR_XML_DETAIL.rawValue,
            VIR_ERR_XML_INVALID_SCHEMA.rawValue, VIR_ERR_CONFIG_UNSUPPORTED.rawValue,
            VIR_ERR_NO_NAME.rawValue, VIR_ERR_NO_OS.rawValue, VIR_ERR_OS_TYPE.rawValue:
            return .xmlError
        case VIR_ERR_NO_CONNECT.rawValue:
            return .connectionFailed
        case VIR_ERR_OPERATION_TIMEOUT.rawValue:
            return .timeout
        default:
            return .other
        }
    }

    /// True for the errors a driver raises when it does not know a flag or an API
    /// (`VIR_ERR_INVALID_ARG` from `virCheckFlags`, `VIR_ERR_NO_SUPPORT`,
    /// `VIR_ERR_OPERATION_UNSUPPORTED`).
    var isUnsupportedFlagsOrCall: Bool {
        code == Self.codeInvalidArgument || code == Self.codeNoSupport
            || code == Self.codeOperationUnsupported
    }
}
