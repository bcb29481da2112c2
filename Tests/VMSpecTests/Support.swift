import Foundation
import Testing
@testable import VMSpec

/// A fresh folder under the system temporary directory, removed by `remove()`.
struct TempDir {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("vmspec-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = file(name)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The first four bytes of every qcow2 image.
let qcow2Magic: [UInt8] = [0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]

/// Decodes and validates `json` without looking at the file system.
func resolve(_ json: String, base: String = "/specs") throws -> ResolvedSpec {
    let spec = try SpecLoader.decode(Data(json.utf8))
    return try SpecValidator.resolve(spec, specPath: nil, baseDirectory: base, checkFiles: false)
}

/// The problems `json` has; records an issue when it has none.
func problems(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> [SpecProblem] {
    do {
        _ = try resolve(json)
        Issue.record("the spec was accepted but should not be", sourceLocation: sourceLocation)
        return []
    } catch let e as SpecError {
        return e.problems
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        return []
    }
}

/// The one problem `json` has; records an issue when there are none or several.
func problem(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> SpecProblem? {
    let p = problems(json, sourceLocation: sourceLocation)
    if p.count != 1 { Issue.record("expected one problem, got \(p.count): \(p)", sourceLocation: sourceLocation) }
    return p.first
}

/// A minimal valid spec with `disks` (JSON objects) and extra top-level members.
func spec(disks: [String], extra: String = "") -> String {
    """
    { "name": "vm1", "boot": { "kernel": "/boot/vmlinuz" }\(extra.isEmpty ? "" : ", " + extra),
      "disks": [ \(disks.joined(separator: ",\n")) ] }
    """
}
