import Foundation
import SerialPolicy
import Testing
@testable import VMSpec

@Suite("Resolving paths, targets and formats")
struct ResolutionTests {
    @Test func relativePathsResolveAgainstTheSpecFolder() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("specs/vmlinuz", "k")
        try dir.write("specs/disks/root.img", [0])
        try dir.write("images/data.img", [0])
        try dir.write("abs.img", [0])
        let json = """
            { "name": "vm1", "boot": { "kernel": "vmlinuz" },
              "disks": [ { "name": "root", "source": "disks/root.img" },
                         { "name": "data", "source": "../images/data.img" },
                         { "name": "abs", "source": "\(dir.file("abs.img"))" } ] }
            """
        let specPath = try dir.write("specs/vm1.json", json)
        // Loaded from another working directory: the spec's folder decides, not the cwd.
        let r = try SpecLoader.load(path: specPath)
        #expect(r.disks.map(\.source) == [dir.file("specs/disks/root.img"), dir.file("images/data.img"), dir.file("abs.img")])
        #expect(r.boot == .kernel(kernel: dir.file("specs/vmlinuz"), initrd: nil, cmdline: nil))
        #expect(FileManager.default.currentDirectoryPath != dir.file("specs"))
    }

    @Test func resolveWithoutFileChecksUsesTheBaseDirectory() throws {
        let r = try resolve(spec(disks: [#"{ "name": "a", "source": "x/a.img" }"#]), base: "/srv/vms")
        #expect(r.disks.first?.source == "/srv/vms/x/a.img")
    }

    private func targets(_ buses: [(String, String?)]) throws -> [String] {
        let disks = buses.enumerated().map { i, b in
            let target = b.1.map { #", "target": "\#($0)""# } ?? ""
            return #"{ "name": "d\#(i)", "source": "/d\#(i).img", "bus": "\#(b.0)"\#(target) }"#
        }
        return try resolve(spec(disks: disks)).disks.map(\.target)
    }

    @Test func virtioDisksGetVdaVdb() throws {
        #expect(try targets([("virtio", nil), ("virtio", nil)]) == ["vda", "vdb"])
    }

    @Test func scsiAndSataShareTheSdLetters() throws {
        #expect(try targets([("scsi", nil), ("sata", nil), ("scsi", nil)]) == ["sda", "sdb", "sdc"])
        #expect(try targets([("sata", nil), ("scsi", nil)]) == ["sda", "sdb"])
    }

    /// NVMe disks are virtio disks to libvirt (their frontend is overridden), so they share vd*.
    @Test func nvmeDisksShareTheVdLetters() throws {
        #expect(try targets([("nvme", nil), ("nvme", nil)]) == ["vda", "vdb"])
        #expect(try targets([("virtio", nil), ("nvme", nil), ("virtio", nil)]) == ["vda", "vdb", "vdc"])
    }

    @Test func vdAndSdCountSeparately() throws {
        #expect(try targets([("virtio", nil), ("scsi", nil), ("nvme", nil), ("virtio", nil), ("sata", nil)])
                == ["vda", "sda", "vdb", "vdc", "sdb"])
    }

    @Test func explicitTargetIsRespectedAndSkipped() throws {
        #expect(try targets([("virtio", nil), ("virtio", "vda"), ("virtio", nil)]) == ["vdb", "vda", "vdc"])
        #expect(try targets([("virtio", nil), ("virtio", "vdb"), ("virtio", nil)]) == ["vda", "vdb", "vdc"])
        #expect(try targets([("scsi", nil), ("sata", "sda")]) == ["sdb", "sda"])
        #expect(try targets([("nvme", nil), ("virtio", "vda")]) == ["vdb", "vda"])
    }

    @Test(arguments: [(0, "a"), (1, "b"), (25, "z"), (26, "aa"), (27, "ab"), (51, "az"), (52, "ba"), (701, "zz"), (702, "aaa")])
    func driveLettersCountLikeLibvirt(n: Int, letters: String) {
        #expect(SpecValidator.driveLetters(n) == letters)
    }

    @Test func twentySeventhVirtioDiskIsVdaa() throws {
        let t = try targets(Array(repeating: ("virtio", nil), count: 27))
        #expect(t[25] == "vdz")
        #expect(t[26] == "vdaa")
    }

    @Test func formatIsDetectedFromTheMagic() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let q = try dir.write("a.qcow2", qcow2Magic + [UInt8](repeating: 0, count: 100))
        let raw = try dir.write("b.img", [UInt8](repeating: 0, count: 100))
        let almost = try dir.write("c.img", [0x51, 0x46, 0x49, 0xfa, 0, 0])   // QFI\xfa
        let short = try dir.write("d.img", [0x51, 0x46, 0x49])
        let named = try dir.write("e.qcow2", Array("raw data, despite the name".utf8))
        #expect(SpecValidator.detectFormat(path: q) == .qcow2)
        #expect(SpecValidator.detectFormat(path: raw) == .raw)
        #expect(SpecValidator.detectFormat(path: almost) == .raw)
        #expect(SpecValidator.detectFormat(path: short) == .raw)
        #expect(SpecValidator.detectFormat(path: named) == .raw)
        #expect(SpecValidator.detectFormat(path: dir.file("missing")) == .raw)
    }

    @Test func loadDetectsFormatsButKeepsAnExplicitOne() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("k", "k")
        try dir.write("a.qcow2", qcow2Magic)
        try dir.write("b.img", [0, 0, 0, 0])
        try dir.write("c.qcow2", qcow2Magic)
        let path = try dir.write("vm.json", """
            { "name": "vm1", "boot": { "kernel": "k" }, "disks": [
              { "name": "a", "source": "a.qcow2" }, { "name": "b", "source": "b.img" },
              { "name": "c", "source": "c.qcow2", "format": "raw" } ] }
            """)
        let r = try SpecLoader.load(path: path)
        #expect(r.disks.map(\.format) == [.qcow2, .raw, .raw])
    }

    @Test func volumeIdentityComesFromVolumeOrVMAndDisk() throws {
        let r = try resolve(spec(disks: [
            #"{ "name": "root", "source": "/r.img" }"#,
            #"{ "name": "share", "volume": "team-share", "source": "/s.img", "format": "raw", "shareable": true }"#,
        ]))
        #expect(r.disks.map(\.volume) == [VolumeIdentity("vm1/root"), VolumeIdentity("team-share")])
        #expect(r.disks[1].shareable)
    }
}
