import Foundation
import Libvirt

/// libvirt's in-memory driver. Every connection opened while another one is still open
/// shares the same state (only the first open builds a fresh default host with its one
/// running domain "test"), and tests run in parallel: each test uses its own domain
/// names and UUIDs.
let testURI = "test:///default"

let vmserialNamespace = "https://vmserial.dev/xmlns/vmserial/1"

/// A name and UUID no other test uses.
struct ScratchDomain {
    let name: String
    let uuid: String

    init(_ label: String) {
        let uuid = UUID().uuidString.lowercased()
        self.name = "lvt-\(label)-\(uuid.prefix(8))"
        self.uuid = uuid
    }

    /// The smallest definition the test driver accepts: name, UUID, memory, OS type.
    var xml: String {
        """
        <domain type='test'>
          <name>\(name)</name>
          <uuid>\(uuid)</uuid>
          <memory unit='KiB'>65536</memory>
          <os><type>hvm</type></os>
        </domain>
        """
    }
}

/// Runs `body` with file descriptor 2 redirected to a temporary file and returns what
/// was written to it. The captured bytes are written back to the real stderr afterwards,
/// so output from tests running in parallel is not lost, only possibly reordered.
func capturingStandardError<T>(_ body: () throws -> T) rethrows -> (result: T, stderr: String) {
    var template = Array("/tmp/libvirt-tests-stderr-XXXXXX".utf8CString)
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
    if !captured.isEmpty { FileHandle.standardError.write(Data(captured.utf8)) }
    return (result, captured)
}
