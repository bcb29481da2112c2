import Foundation
import Testing
@testable import VMSerialKit

@Suite struct ProbeImageLookupTests {
    @Test("the probe kernel is never looked for in the current folder")
    func noCurrentFolder() throws {
        let dir = NSTemporaryDirectory() + "vmserial-cwdtest-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir + "/images/build", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for f in ["probe-vmlinuz", "probe-initrd.img"] {
            #expect(FileManager.default.createFile(atPath: dir + "/images/build/" + f, contents: Data("planted".utf8)))
        }
        let before = FileManager.default.currentDirectoryPath
        #expect(FileManager.default.changeCurrentDirectoryPath(dir))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(before) }
        let candidates = HostPaths.probeImageCandidates()
        #expect(candidates.allSatisfy { $0.hasPrefix("/") })
        #expect(!candidates.contains { $0.hasPrefix(dir) || $0.hasPrefix("/private" + dir) }, "\(candidates)")
        if ProcessInfo.processInfo.environment["VMSERIAL_IMAGES"] == nil, let found = try? HostPaths.probeImages() {
            #expect(!found.initrd.hasPrefix(dir), "booted the planted kernel: \(found.initrd)")
        }
    }
}
