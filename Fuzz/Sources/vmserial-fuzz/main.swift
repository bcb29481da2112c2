import Foundation
import FuzzTargets

// libFuzzer's driver for one parser of untrusted input (scripts/fuzz.sh, `make fuzz`). SwiftPM
// gives an executable its own `main`, so this one hands over to libFuzzer (LLVMFuzzerRunDriver).

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// The parser this process fuzzes, from VMSERIAL_FUZZ_TARGET.
nonisolated(unsafe) var target = FuzzTarget.spec

/// One input: a finding (an untyped error, a document that does not read back) aborts, as a crash does.
let fuzzOne: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let finding = target.run(bytes) {
        FileHandle.standardError.write(Data("vmserial-fuzz finding: \(finding)\n".utf8))
        abort()
    }
    return 0
}

let env = ProcessInfo.processInfo.environment
guard let chosen = FuzzTarget(rawValue: env["VMSERIAL_FUZZ_TARGET"] ?? "") else {
    FileHandle.standardError.write(Data("VMSERIAL_FUZZ_TARGET must be one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
    exit(2)
}
target = chosen
// The built-in seeds into the seed corpus folder, when scripts/fuzz.sh names one.
if let dir = env["VMSERIAL_FUZZ_SEED_DIR"], !dir.isEmpty {
    for (i, seed) in target.builtInSeeds.enumerated() {
        _ = FileManager.default.createFile(atPath: "\(dir)/builtin-\(i)", contents: Data(seed))
    }
}
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(runDriver(&argc, &argv, fuzzOne))
