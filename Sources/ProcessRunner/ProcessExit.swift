import Foundation

/// Waits until the process `pid` has exited (gone, or a zombie nobody has reaped yet: its open
/// files and image locks are released either way), at most `timeout`. Any process, not only
/// one started through `Command`: the appliance qemu that libguestfs forks, for instance.
///
/// Linux 5.3+ (glibc 2.36+): a pidfd becomes readable when its process exits, so this sleeps in
/// poll(2) and wakes at the exit. Where `pidfd_open` is missing it reads /proc/PID/stat every
/// 50 ms instead.
///
/// - Returns: true when the process has exited (or never existed), false when it still runs
///   after `timeout`.
@discardableResult
public func waitForExit(_ pid: Int32, timeout: Duration = .seconds(5)) -> Bool {
    guard let open = pidfdOpen else { return pollProcForExit(pid, timeout: timeout) }
    let fd = open(pid, 0)
    if fd < 0 {
        // ESRCH: no such process (already reaped). Anything else (ENOSYS on an old kernel, a
        // seccomp filter): the /proc loop.
        return errno == ESRCH ? true : pollProcForExit(pid, timeout: timeout)
    }
    defer { close(fd) }
    let end = ContinuousClock.now + timeout
    while true {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let left = ContinuousClock.now.duration(to: end)
        let (seconds, attoseconds) = left.components
        let milliseconds = Int32(clamping: max(0, seconds) * 1000 + max(0, attoseconds) / 1_000_000_000_000_000)
        let ready = poll(&entry, 1, max(0, milliseconds))
        if ready > 0 { return true }
        if ready == 0 { return false }
        if errno != EINTR { return pollProcForExit(pid, timeout: left) }
    }
}

/// glibc's `pidfd_open` (2.36+), looked up at run time so that an older glibc still runs vmserial.
private let pidfdOpen: (@convention(c) (pid_t, UInt32) -> Int32)? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pidfd_open") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (pid_t, UInt32) -> Int32).self)
}()

/// The fallback: /proc/PID/stat every 50 ms until it is gone or its state is Z.
func pollProcForExit(_ pid: Int32, timeout: Duration) -> Bool {
    let end = ContinuousClock.now + timeout
    while ContinuousClock.now < end {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        if let close = stat.lastIndex(of: ")"),
           stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z") { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return false
}
