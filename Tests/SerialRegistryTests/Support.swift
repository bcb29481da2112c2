import Foundation
import SerialPolicy
import Testing
@testable import SerialRegistry

/// Where a test's registry lives: SQLite's private in-memory database, or a file.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case memory, file
    var testDescription: String { rawValue }

    /// A fresh registry and a clean-up for it.
    func open() throws -> (SQLiteRegistry, cleanUp: () -> Void) {
        switch self {
        case .memory:
            return (try SQLiteRegistry(path: ":memory:"), {})
        case .file:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("registry-tests-\(UUID().uuidString)")
            let registry = try SQLiteRegistry(path: dir.appendingPathComponent("state/registry.sqlite").path)
            return (registry, { try? FileManager.default.removeItem(at: dir) })
        }
    }
}

struct TestError: Error, Equatable {}

func disk(_ vm: String, _ name: String, bus: Bus = .virtio, target: String? = nil, volume: String? = nil,
          serial: String? = nil, source: String? = nil) -> AssignmentRequest.DiskRequest {
    .init(name: name, volume: .of(vm: vm, disk: name, volume: volume), bus: bus, target: target ?? "vd" + name.prefix(1),
          source: source ?? "/srv/\(vm)/\(name).img", serial: serial)
}

func request(_ vm: String, uuid: String? = nil, smbios: String = "unique", smbiosSerial: String? = nil,
             generate: Bool = true, disks: [AssignmentRequest.DiskRequest], spec: String? = nil) -> AssignmentRequest {
    AssignmentRequest(vm: vm, uuid: uuid, smbiosMode: smbios, smbiosSerial: smbiosSerial, generateDiskSerials: generate,
                      disks: disks, specJSON: spec)
}

/// The three disks of the example VM.
func example(_ vm: String = "vm1", dataSerial: String? = "MANUAL-0001") -> AssignmentRequest {
    request(vm, disks: [
        disk(vm, "root", target: "vda"),
        disk(vm, "data", bus: .scsi, target: "sda", serial: dataSerial),
        disk(vm, "share", bus: .sata, target: "sdb", volume: "team-share", source: "/srv/shared/team-share.img"),
    ])
}

extension Registry {
    /// `assign` with an `apply` that does nothing.
    func assign(_ r: AssignmentRequest) throws -> Assignment { try assign(r) { _ in } }
}
