import Blocking
import Foundation
import Libvirt
#if canImport(Glibc)
import Glibc
#endif

/// Wakes a waiting thread when a file is written (inotify) or when `wake()` is called, so a loop
/// that reads a guest's report takes each line as it arrives instead of looking every so often.
final class FileWake: @unchecked Sendable {
    private let inotify: Int32
    private let pipe: (read: Int32, write: Int32)

    /// Watches `path` (which must exist) for writes.
    init(watching path: String) throws {
        let fd = inotify_init1(Int32(IN_CLOEXEC) | Int32(IN_NONBLOCK))
        guard fd >= 0 else { throw Self.failure("inotify_init1", path) }
        guard inotify_add_watch(fd, path, UInt32(IN_MODIFY) | UInt32(IN_CLOSE_WRITE)) >= 0 else {
            close(fd)
            throw Self.failure("inotify_add_watch", path)
        }
        var ends: [Int32] = [0, 0]
        guard Glibc.pipe(&ends) == 0 else {
            close(fd)
            throw Self.failure("pipe", path)
        }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        inotify = fd
        pipe = (ends[0], ends[1])
    }

    deinit {
        close(inotify)
        close(pipe.read)
        close(pipe.write)
    }

    static func failure(_ call: String, _ path: String) -> VMSerialError {
        .failed("cannot watch \(path) for the guest's report (\(call): \(String(cString: strerror(errno))))")
    }

    /// Ends the current (or next) `wait` at once. Safe from any thread.
    func wake() {
        var byte: UInt8 = 1
        _ = write(pipe.write, &byte, 1)
    }

    /// Wakes this watch when `domain` stops (a thread of its own waits on libvirt's lifecycle
    /// events); the thread ends when the domain stops or `timeout` passes.
    func wakeWhenInactive(_ domain: Libvirt.Domain, timeout: Duration) {
        BlockingExecutor.detachThread(name: "vmserial.report-watch") { [self] in
            _ = try? domain.waitUntilInactive(timeout: timeout)
            wake()
        }
    }

    /// Waits until the file was written, `wake()` was called or `seconds` passed, and takes
    /// what woke it. Returns false on a timeout.
    @discardableResult
    func wait(seconds: Double) -> Bool {
        var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: pipe.read, events: Int16(POLLIN), revents: 0)]
        let ms = Int32(max(0, min(seconds * 1000, Double(Int32.max))).rounded(.up))
        var n: Int32
        repeat { n = poll(&fds, 2, ms) } while n < 0 && errno == EINTR
        var buffer = [UInt8](repeating: 0, count: 4096)
        for fd in [inotify, pipe.read] {
            while read(fd, &buffer, buffer.count) > 0 {}
        }
        return n > 0
    }
}
