import Foundation
import Testing
@testable import Inspection
import TestSupport

/// Inputs the fuzzers (`make fuzz`, Tests/FuzzTests) found that broke `HiveFile`, each kept as a
/// test; the inputs themselves are in Fuzz/seeds/hive, which every fuzz run starts from.
@Suite("HiveFile: fuzzing regressions")
struct HiveFileFuzzRegressionTests {
    /// A hive whose root key claims `count` values in a value list at `list` (a cell offset).
    static func hive(valueCount count: UInt32, list: UInt32) -> [UInt8] {
        var file = RegistryHiveFile.empty()
        let root = RegistryHiveFile.baseBlockSize + 0x20 + 4
        for i in 0..<4 {
            file[root + 0x24 + i] = UInt8(truncatingIfNeeded: count >> (8 * UInt32(i)))
            file[root + 0x28 + i] = UInt8(truncatingIfNeeded: list >> (8 * UInt32(i)))
        }
        return file
    }

    @Test("a value count larger than the file is an error, not a 58 GB allocation (libFuzzer: out-of-memory in values)",
          arguments: [UInt32.max, 0x7FFF_FFFF, 2048])
    func hugeValueCount(_ count: UInt32) throws {
        let hive = try HiveFile(bytes: Self.hive(valueCount: count, list: 0x20))
        #expect(throws: HiveFileError.self) { try hive.values(try hive.root()) }
    }

    @Test("the input libFuzzer found is rejected with HiveFileError or read")
    func foundInput() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/seeds/hive/regression-value-count-oom").path
        let bytes = try #require(FileManager.default.contents(atPath: path), "the input is kept in Fuzz/seeds/hive")
        // Every key within reach, as the fuzz target walks them: each one read or rejected with HiveFileError.
        do {
            let hive = try HiveFile(bytes: Array(bytes))
            var todo = [try hive.root()]
            var seen = 0
            while let node = todo.popLast(), seen < 200 {
                seen += 1
                _ = try hive.values(node)
                todo += try hive.children(node).map(\.node)
            }
        } catch is HiveFileError {
        }
    }
}
