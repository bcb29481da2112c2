import Foundation
import SerialPolicy
import Testing
@testable import SerialRegistry

/// Where a test's registry lives: SQLite's private in-memory database, a SQLite file, or a
/// fresh schema in the PostgreSQL database named by VMSERIAL_TEST_POSTGRES (`make unit` and
/// `make test` start a private cluster and set it: scripts/test-postgres.sh). Without it the
/// postgres cases are left out and `postgresBackendWasTested` reports the skip.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case memory, file, postgres
    var testDescription: String { rawValue }

    static var postgresConfigured: Bool {
        !(ProcessInfo.processInfo.environment["VMSERIAL_TEST_POSTGRES"] ?? "").isEmpty
    }

    static var allCases: [Backend] { postgresConfigured ? [.memory, .file, .postgres] : [.memory, .file] }

    /// The backends that keep their data outside the process (a second handle sees it).
    static var persistent: [Backend] { postgresConfigured ? [.file, .postgres] : [.file] }

    /// A fresh registry and a clean-up for it.
    func open() throws -> (any Registry, cleanUp: () -> Void) {
        switch self {
        case .memory:
            return (try SQLiteRegistry(path: ":memory:"), {})
        case .file:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("registry-tests-\(UUID().uuidString)")
            let registry = try SQLiteRegistry(path: dir.appendingPathComponent("state/registry.sqlite").path)
            return (registry, { try? FileManager.default.removeItem(at: dir) })
        case .postgres:
            let location = try Self.freshPostgresLocation()
            let registry = try RegistryFactory.open(location)
            return (registry, { Self.dropSchema(of: location) })
        }
    }

    /// A location string another handle can open (file and postgres only).
    func freshLocation() throws -> (String, cleanUp: () -> Void) {
        switch self {
        case .memory:
            return (":memory:", {})
        case .file:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("registry-tests-\(UUID().uuidString)")
            return ("sqlite:" + dir.appendingPathComponent("registry.sqlite").path, { try? FileManager.default.removeItem(at: dir) })
        case .postgres:
            let location = try Self.freshPostgresLocation()
            return (location, { Self.dropSchema(of: location) })
        }
    }

    /// The test cluster's URL with a schema of its own: every test starts from an empty registry.
    static func freshPostgresLocation() throws -> String {
        try postgresURL() + "?schema=t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
    }

    static func postgresURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["VMSERIAL_TEST_POSTGRES"], !url.isEmpty else {
            throw PostgresNotConfigured()
        }
        return url
    }

    static func dropSchema(of location: String) {
        guard let loc = try? PostgresLocation(url: location), let schema = loc.schema else { return }
        try? PostgresRegistry.administer(loc, "DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE")
    }
}

struct PostgresNotConfigured: Error, CustomStringConvertible {
    var description: String {
        "VMSERIAL_TEST_POSTGRES is not set: run the tests through `make unit` or `make test` (they start a private PostgreSQL cluster), or `scripts/test-postgres.sh run swift test …`"
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

/// Shows in every run whether the PostgreSQL backend was part of it.
@Test(.disabled(if: !Backend.postgresConfigured,
                "VMSERIAL_TEST_POSTGRES is not set: the postgres backend was NOT tested; run `make unit` / `make test` (they start a private cluster) or `scripts/test-postgres.sh run swift test …`"))
func postgresBackendWasTested() throws {
    #expect(Backend.allCases.contains(.postgres))
}
