import DomainXML
import Foundation
import Guestfs
import Inspection
import ProcessRunner
import Testing
@testable import VMSerialKit

/// Every error type a module of vmserial declares reaches the command line with an exit code
/// chosen on purpose: 2 for what the user can fix in the input, 1 for what failed.
@Suite("Exit codes by error type")
struct ExitCodeTests {
    static let volume = VolumeIdentity("vm1/data")

    /// One value of each public error type, with the exit code it must give.
    static func samples() -> [(type: String, error: Error, status: Int32)] {
        var s: [(String, Error, Int32)] = [
            ("VMSerialError", VMSerialError.badInput("x"), 2),
            ("VMSerialError", VMSerialError.failed("x"), 1),
            ("VMSerialError", VMSerialError.interrupted, 130),
            ("VMSerialError", VMSerialError.noRecord(vm: "vm1", registry: "/r.sqlite"), 2),
            ("VMSerialError", VMSerialError.noDomain("vm1", uri: "test:///default"), 2),
            ("SpecError", SpecError.unreadable(path: "vm.json", reason: "missing"), 2),
            ("SpecError", SpecError.invalid(path: "vm.json", problems: []), 2),
            ("ScenarioError", ScenarioError.unreadable(path: "s.json", reason: "missing"), 2),
            ("PerturbationError", PerturbationError("no such disk"), 2),
            ("RegistryError", RegistryError.duplicateSerial(serial: "S", volume: volume, heldBy: VolumeIdentity("vm2/data")), 2),
            ("RegistryError", RegistryError.notFound(vm: "vm1"), 2),
            ("RegistryError", RegistryError.storage("disk full"), 1),
            ("RegistryError", RegistryError.commitUnknown("connection lost during COMMIT"), 1),
            ("RegistryError", RegistryError.generationExhausted(attempts: 8), 1),
            ("LibvirtError", LibvirtError(kind: .noDomain, message: "no domain"), 2),
            ("LibvirtError", LibvirtError(kind: .connectionFailed, message: "no daemon"), 1),
            ("GuestfsError", GuestfsError(function: "guestfs_launch", message: "appliance failed"), 1),
            ("ProbeReportError", ProbeReportError.noReport, 1),
            ("DomainLocations.Failure", DomainLocations.Failure.noAddress(disk: "vda"), 1),
            ("SMBIOSError", SMBIOSError.truncated("type 1"), 1),
            ("HiveFileError", HiveFileError.malformed("bad cell"), 1),
            ("ProcessError", ProcessError.notFound("qemu-img"), 1),
        ]
        // Built the way they arise: libvirt XML vmserial cannot read.
        do { _ = try Domain(xml: "<domain") } catch { s.append(("XMLParseError", error, 1)) }
        do { _ = try Domain(xml: "<network/>") } catch { s.append(("DomainXMLError", error, 1)) }
        return s
    }

    @Test func eachErrorMapsToItsCode() {
        for (type, error, status) in Self.samples() {
            #expect(ExitStatus.of(error) == status, "\(type): \(error)")
        }
    }

    @Test func anErrorOfNoModuleIsAFailure() {
        #expect(ExitStatus.of(CocoaError(.fileNoSuchFile)) == ExitStatus.failed)
    }

    /// A new error type in Sources must be given its exit code here (and an ExitCoded conformance):
    /// otherwise it would fall to 1 by accident.
    @Test func noErrorTypeIsForgotten() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources").standardized
        let declared = try declaredPublicErrorTypes(under: sources)
        let covered = Set(Self.samples().map(\.type))
        // The scan itself must see the declarations (one per module that has errors, at least).
        #expect(declared.count >= 12, "found only \(declared.sorted())")
        #expect(declared.contains("DomainLocations.Failure"))
        #expect(declared.subtracting(covered).isEmpty, "error types without an exit code test: \(declared.subtracting(covered).sorted())")
        #expect(Set(["XMLParseError", "DomainXMLError"]).isSubset(of: covered))
    }

    /// `public (struct|enum) Name: …Error…` declarations; a nested `enum Failure` is named with its parent.
    /// The command line's own and the fuzz targets' (test-only) are left out.
    func declaredPublicErrorTypes(under dir: URL) throws -> Set<String> {
        var out: Set<String> = []
        let files = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)!
        let decl = try Regex(#"public (?:struct|enum) (\w+): ([^{]*)\{"#)
        for case let url as URL in files where url.pathExtension == "swift" && !url.path.contains("/vmserial/") && !url.path.contains("/FuzzTargets/") {
            let text = try String(contentsOf: url, encoding: .utf8)
            var parent: String?
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if let m = line.firstMatch(of: try Regex(#"^public (?:struct|enum) (\w+)"#)) { parent = String(m.output[1].substring ?? "") }
                guard let m = line.firstMatch(of: decl),
                      let name = m.output[1].substring, let conformances = m.output[2].substring,
                      conformances.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == "Error" }) else { continue }
                let nested = line.hasPrefix(" ")
                out.insert(nested ? "\(parent ?? "?").\(name)" : String(name))
            }
        }
        return out
    }
}

/// The VM resolver every command uses: a missing registry record or libvirt domain is bad input
/// with its own case, so callers and tests match on the value.
@Suite("Resolving a VM: registry record and libvirt domain")
struct ResolveTests {
    @Test func recordAndDomainEachMissing() throws {
        let box = try TestDriverVM(prefix: "rs")
        defer { box.remove() }
        let (name, spec, connection) = (box.name, box.spec, box.connection)
        let registry = try SQLiteRegistry(path: ":memory:")
        #expect(throws: VMSerialError.noRecord(vm: name, registry: registry.path)) {
            try ResolvedVM.resolve(name, connection: connection, registry: registry)
        }
        let launched = try Launcher(connection: connection, registry: registry).launch(spec, options: LaunchOptions(start: false))
        let vm = try ResolvedVM.resolve(name, connection: connection, registry: registry)
        #expect(vm.assignment == launched.assignment)
        #expect(vm.expected.disks.map(\.serial) == launched.assignment.disks.map(\.serial))
        #expect(vm.expected.disks.first?.bus == .virtio)
        try connection.lookupDomain(name: name).undefine()
        #expect(throws: VMSerialError.noDomain(name, uri: connection.uri)) {
            try ResolvedVM.resolve(name, connection: connection, registry: registry)
        }
        #expect(ExitStatus.of(VMSerialError.noDomain(name, uri: connection.uri)) == ExitStatus.badInput)
    }
}
