import FuzzTargets
import Foundation

/// The parser this process fuzzes, from VMSERIAL_FUZZ_TARGET (read once: libFuzzer calls the
/// entry point millions of times).
let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["VMSERIAL_FUZZ_TARGET"] ?? ""
    guard let t = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("VMSERIAL_FUZZ_TARGET must be one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    return t
}()

/// libFuzzer's entry point: a finding (an untyped error, a document that does not read back) aborts, as a crash does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let finding = target.run(bytes) {
        FileHandle.standardError.write(Data("vmserial-fuzz finding: \(finding)\n".utf8))
        abort()
    }
    return 0
}

/// Before the first input: with VMSERIAL_FUZZ_SEED_DIR set, writes the target's built-in seeds
/// there (scripts/fuzz.sh adds them to the corpus).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    if let dir = ProcessInfo.processInfo.environment["VMSERIAL_FUZZ_SEED_DIR"], !dir.isEmpty {
        for (i, seed) in target.builtInSeeds.enumerated() {
            FileManager.default.createFile(atPath: "\(dir)/builtin-\(i)", contents: Data(seed))
        }
    }
    return 0
}
