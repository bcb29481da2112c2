import CGuestfs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed libguestfs call: the C function that failed, libguestfs' message
/// (`guestfs_last_error`) and its errno (`guestfs_last_errno`, 0 when libguestfs
/// recorded none).
///
/// Messages from the appliance usually name the thing concerned, e.g.
/// `read_file: open: /etc/missing: No such file or directory`.
public struct GuestfsError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The C function that failed, e.g. `guestfs_read_file` or `guestfs_add_drive_opts_argv`.
    public let function: String
    /// libguestfs' message, without a trailing newline.
    public let message: String
    /// libguestfs' errno for the failure (`ENOENT`, `EINVAL`, …), or 0 when there is none
    /// (libguestfs does not record one for every error).
    public let errno: Int32

    public init(function: String, message: String, errno: Int32 = 0) {
        self.function = function
        self.message = message
        self.errno = errno
    }

    public var description: String {
        errno == 0 ? "\(function): \(message)" : "\(function): \(message) (errno \(errno))"
    }

    /// The error libguestfs recorded for `handle` on the calling thread.
    ///
    /// libguestfs (≥ 1.38) keeps the last error per thread, so this must run on the thread
    /// that made the failing call, before any other call on the handle.
    static func last(_ handle: OpaquePointer, function: String) -> GuestfsError {
        let text = guestfs_last_error(handle).map { String(cString: $0) } ?? "unknown error"
        return GuestfsError(
            function: function,
            message: trimmingTrailingNewlines(text),
            errno: guestfs_last_errno(handle))
    }

    /// The error for a call made after `close()`.
    static func closed(function: String) -> GuestfsError {
        GuestfsError(function: function, message: "the libguestfs handle is closed", errno: EBADF)
    }
}

private func trimmingTrailingNewlines(_ text: String) -> String {
    var text = Substring(text)
    while let last = text.last, last == "\n" || last == "\r" {
        text = text.dropLast()
    }
    return String(text)
}
