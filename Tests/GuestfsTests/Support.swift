import Blocking
import Foundation
import Guestfs
import ProcessRunner

/// Whether the appliance must run under TCG. KVM exists but cannot run guests on the
/// development machine, so TCG is the default; `VMSERIAL_ACCEL=kvm` lets a host with
/// working KVM (a CI runner with nested virtualisation) run the tests faster.
var testForceTCG: Bool {
    ProcessInfo.processInfo.environment["VMSERIAL_ACCEL"] != "kvm"
}

/// Options for every appliance the tests launch.
var testOptions: GuestfsOptions {
    GuestfsOptions(forceTCG: testForceTCG)
}

/// Runs libguestfs calls that wait on the appliance for seconds on a thread of their own
/// (`BlockingExecutor`, as the product's blocking work does), so a 12-25 s launch never holds
/// one of the cooperative pool's threads (two on this machine) while other suites need them.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await BlockingExecutor.run(name: "vmserial.guestfs-test", work)
}

/// A fresh directory under the system's temporary directory, removed by `remove()`.
struct ScratchDirectory {
    let path: String

    init(_ label: String) throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("guestfs-tests-\(label)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String {
        path + "/" + name
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

struct CommandFailed: Error, CustomStringConvertible {
    let command: [String]
    let status: Int32
    let output: String
    var description: String { "\(command.joined(separator: " ")) exited with \(status): \(output)" }
}

/// Runs a program found on PATH and waits for it; throws when it exits non-zero.
func run(_ arguments: [String]) throws {
    let result = try Command("/usr/bin/env", arguments).run()
    guard result.succeeded else {
        throw CommandFailed(command: arguments, status: result.status, output: result.output + result.errorOutput)
    }
}

/// The command line of a running process, arguments separated by spaces.
func commandLine(pid: Int32) -> String? {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
    return String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
}

/// Runs `body` with file descriptor 2 redirected to a temporary file and returns what
/// was written there; the bytes are then written to the real stderr, so output of tests
/// running meanwhile is kept (only possibly reordered).
func capturingStandardError<T>(_ body: () throws -> T) rethrows -> (result: T, stderr: String) {
    var template = Array("/tmp/guestfs-tests-stderr-XXXXXX".utf8CString)
    let file = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    precondition(file >= 0, "mkstemp failed")
    let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    defer {
        close(file)
        unlink(path)
    }
    fflush(nil)
    let saved = dup(2)
    dup2(file, 2)
    let result: T
    do {
        defer {
            fflush(nil)
            dup2(saved, 2)
            close(saved)
        }
        result = try body()
    }
    let captured = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    if !captured.isEmpty {
        FileHandle.standardError.write(Data(captured.utf8))
    }
    return (result, captured)
}
