import Foundation
import FuzzTargets
import Testing

/// A short seeded mutation pass over every parser of untrusted input, in `make test`: seeds
/// from the repository (examples, scenarios, probe reports, real Windows hives) and each
/// parser's own, mutated for a few seconds per target. The seed is printed; set
/// VMSERIAL_FUZZ_SEED to replay a run, VMSERIAL_FUZZ_TEST_SECONDS to run longer. `make fuzz`
/// runs libFuzzer on the same targets.
@Suite("fuzz: seeded mutation pass")
struct MutationPassTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let env = ProcessInfo.processInfo.environment
    static let seed: UInt64 = env["VMSERIAL_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(UInt32.max))
    static let seconds = env["VMSERIAL_FUZZ_TEST_SECONDS"].flatMap { Double($0) } ?? 3
    /// One input taking longer than this is a hang.
    static let hang = 2.0

    /// The seed files `make fuzz` also starts from (scripts/fuzz.sh copies the same ones).
    static func seeds(_ target: FuzzTarget) -> [[UInt8]] {
        func files(_ dir: String, _ ext: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(dir)")) ?? []).filter { $0.hasSuffix(ext) }.sorted()
                .map { "\(root)/\(dir)/\($0)" }
        }
        var paths: [String]
        switch target {
        case .spec: paths = files("examples", ".json") + files("scenarios", "vm.json")
        case .scenario: paths = files("scenarios", ".json")
        case .report: paths = files("Tests/VerifierTests/Fixtures", ".txt")
        case .domainXML, .hive: paths = []
        }
        // Fuzz/seeds/<target>: inputs kept for the fuzzers (a domain libvirt dumped, one vmserial renders).
        paths += files("Fuzz/seeds/\(target.rawValue)", "")
        var seeds = target.builtInSeeds + paths.compactMap { FileManager.default.contents(atPath: $0).map { Array($0) } }
        if target == .hive { seeds += hives() }
        return seeds
    }

    /// The real SYSTEM hives of the inspection tests, decompressed with xz.
    static func hives() -> [[UInt8]] {
        let dir = "\(root)/Tests/InspectionTests/Fixtures/windows-hives"
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".xz") }.sorted().compactMap { name in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/xz")
            p.arguments = ["--decompress", "--stdout", "\(dir)/\(name)"]
            let out = Pipe()
            p.standardOutput = out
            guard (try? p.run()) != nil else { return nil }
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return p.terminationStatus == 0 ? Array(data) : nil
        }
    }

    @Test("no crash, no hang, every rejection the parser's own error", arguments: FuzzTarget.allCases)
    func mutationPass(_ target: FuzzTarget) throws {
        let seeds = Self.seeds(target)
        #expect(seeds.count >= (target == .hive ? 3 : 2), "the seeds of \(target.rawValue) are in the repository")
        // Every seed itself must be accepted or rejected cleanly.
        for s in seeds { #expect(target.run(s) == nil, "seed of \(target.rawValue) fails: \(target.run(s)!)") }
        let seed = Self.seed ^ UInt64(target.rawValue.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) })
        var rng = SeededGenerator(seed: seed)
        let mutator = Mutator(maxSize: target == .hive ? 16 << 20 : 1 << 16)
        let end = Date().addingTimeInterval(Self.seconds)
        var executions = 0
        var corpus = seeds
        while Date() < end {
            let base = corpus.randomElement(using: &rng)!
            let input = mutator.mutate(base, other: corpus.randomElement(using: &rng)!, using: &rng)
            let started = Date()
            let finding = target.run(input)
            let took = Date().timeIntervalSince(started)
            executions += 1
            if finding != nil || took > Self.hang {
                let file = NSTemporaryDirectory() + "vmserial-fuzz-\(target.rawValue)-\(Self.seed)-\(executions).bin"
                _ = FileManager.default.createFile(atPath: file, contents: Data(input))
                Issue.record("""
                    \(finding.map(\.description) ?? "\(target.rawValue): one input took \(String(format: "%.1f", took)) s (a hang)") \
                    (VMSERIAL_FUZZ_SEED=\(Self.seed), execution \(executions); input saved to \(file))
                    """)
                return
            }
            // Keep some mutants as bases, so mutations pile up (a crude stand-in for coverage feedback).
            if corpus.count < 256, Int.random(in: 0..<8, using: &rng) == 0 { corpus.append(input) }
        }
        print("fuzz \(target.rawValue): \(executions) executions in \(Self.seconds) s, 0 findings (VMSERIAL_FUZZ_SEED=\(Self.seed))")
        #expect(executions > 0)
    }
}
