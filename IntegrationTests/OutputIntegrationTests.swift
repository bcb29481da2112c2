import Foundation
import Testing

/// The global options `--quiet` and `--verbose`, on the real binary: what each prints on
/// standard error. `registry import` of an empty export needs no libvirt and prints one
/// progress line.
extension Integration {
@Suite
struct OutputIntegrationTests {
    let dir: String
    let export: String

    init() throws {
        dir = NSTemporaryDirectory() + "vmserial-output-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        export = dir + "/empty-export.json"
        try #"{"format":1,"instances":[],"volumes":[],"attachments":[],"moves":[]}"#
            .write(toFile: export, atomically: true, encoding: .utf8)
    }

    func vmserial(_ args: [String], registry: String) throws -> RunResult {
        try run(try vmserialBinary(), args, env: ["VMSERIAL_REGISTRY": registry])
    }

    @Test("--quiet drops the progress line, --verbose adds the registry used, by default only the progress line")
    func levels() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let normal = try vmserial(["registry", "import", export], registry: dir + "/normal.sqlite")
        #expect(normal.status == 0, "\(normal.all)")
        #expect(normal.stderr.hasPrefix("vmserial: imported 0 VMs"), "\(normal.stderr)")
        #expect(!normal.stderr.contains("vmserial: registry:"), "\(normal.stderr)")

        for args in [["--quiet", "registry", "import", export], ["registry", "import", export, "--quiet"]] {
            let quiet = try vmserial(args, registry: dir + "/quiet.sqlite")
            #expect(quiet.status == 0, "\(args): \(quiet.all)")
            #expect(quiet.stderr.isEmpty, "\(args): \(quiet.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: dir + "/quiet.sqlite"), "--quiet still did the work")

        let verbose = try vmserial(["--verbose", "registry", "import", export], registry: dir + "/verbose.sqlite")
        #expect(verbose.status == 0, "\(verbose.all)")
        let lines = verbose.stderr.split(separator: "\n").map(String.init)
        #expect(lines.first == "vmserial: registry: \(dir)/verbose.sqlite", "\(verbose.stderr)")
        #expect(lines.count == 2 && lines[1].hasPrefix("vmserial: imported 0 VMs"), "\(verbose.stderr)")
    }

    @Test("--quiet still prints the error and exits with its status")
    func quietError() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let missing = dir + "/no-such-export.json"
        let r = try vmserial(["--quiet", "registry", "import", missing], registry: dir + "/r.sqlite")
        #expect(r.status == 2, "\(r.all)")
        #expect(r.stderr.hasPrefix("vmserial: error: cannot read \(missing)"), "\(r.stderr)")
    }
}
}
