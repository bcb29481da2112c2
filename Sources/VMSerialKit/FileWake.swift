import Blocking
import Foundation
import Libvirt
#if canImport(Glibc)
import Glibc
#endif

/// Wakes a waiting thread when a file is written (inotify) or when `wake()` is called, so a loop
/// that reads a guest's report takes each line as it arrives instead of looking every so often.
///
/// The folder is watched, not the file: libvirt (or virtlogd) may create the file anew when
/// QEMU starts, and a watch on the old inode would never fire.
final class FileWake: @unchecked Sendable {
    private let inotify: Int32
    private let pipe: (read: Int32, write: Int32)
    private let name: [UInt8]

    /// Watches the file at `path` (its folder must exist) for writes.
    init(watching path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        name = Array((path as NSString).lastPathComponent.utf8)
        let fd = inotify_init1(Int32(IN_CLOEXEC) | Int32(IN_NONBLOCK))
        guard fd >= 0 else { throw Self.failure("inotify_init1", path) }
        let events = UInt32(IN_MODIFY) | UInt32(IN_CLOSE_WRITE) | UInt32(IN_CREATE) | UInt32(IN_MOVED_TO)
        guard inotify_add_watch(fd, folder, events) >= 0 else {
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

    /// Waits until the file was written, `wake()` was called or `seconds` passed (changes to
    /// other files of the folder do not end the wait). Returns false on a timeout.
    @discardableResult
    func wait(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: pipe.read, events: Int16(POLLIN), revents: 0)]
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return false }
            let ms = Int32(min(left * 1000, Double(Int32.max)).rounded(.up))
            var n: Int32
            repeat { n = poll(&fds, 2, ms) } while n < 0 && errno == EINTR
            guard n > 0 else { return false }
            if fds[1].revents != 0 {
                while read(pipe.read, &buffer, buffer.count) > 0 {}
                return true
            }
            var ours = false
            while true {
                let got = read(inotify, &buffer, buffer.count)
                guard got > 0 else { break }
                ours = ours || Self.names(in: buffer[0..<got]).contains(name)
            }
            if ours { return true }
        }
    }

    /// The file names of a buffer of `struct inotify_event`s (16 bytes, then `len` bytes of name,
    /// NUL-padded).
    static func names(in events: ArraySlice<UInt8>) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = events.startIndex
        while i + 16 <= events.endIndex {
            let len = Int(events[i + 12]) | Int(events[i + 13]) << 8 | Int(events[i + 14]) << 16 | Int(events[i + 15]) << 24
            let start = i + 16, end = min(start + len, events.endIndex)
            out.append(Array(events[start..<end].prefix { $0 != 0 }))
            i = start + len
        }
        return out
    }
}
