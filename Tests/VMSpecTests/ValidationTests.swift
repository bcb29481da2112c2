import Foundation
import SerialPolicy
import Testing
@testable import VMSpec

@Suite("Validating specs")
struct ValidationTests {
    @Test func emptyName() throws {
        let p = try #require(problem(#"{ "name": "", "boot": { "kernel": "/k" } }"#))
        #expect(p.field == "name")
        #expect(p.message.contains("empty"))
    }

    @Test(arguments: ["vm 1", "vm/1", ".hidden", "-x", "vmé"])
    func badName(name: String) throws {
        let p = try #require(problem(#"{ "name": "\#(name)", "boot": { "kernel": "/k" } }"#))
        #expect(p.field == "name")
        #expect(p.message.contains(name))
    }

    @Test func badUUID() throws {
        let p = try #require(problem(spec(disks: [], extra: #""uuid": "not-a-uuid""#)))
        #expect(p.field == "uuid")
        #expect(p.message.contains("not-a-uuid"))
    }

    @Test func negativeMemory() throws {
        let p = try #require(problem(spec(disks: [], extra: #""memoryMiB": -512"#)))
        #expect(p.field == "memoryMiB")
        #expect(p.message.contains("-512"))
        #expect(p.message.contains("16"))
    }

    @Test func zeroVCPUs() throws {
        let p = try #require(problem(spec(disks: [], extra: #""vcpus": 0"#)))
        #expect(p.field == "vcpus")
        #expect(p.message.contains("0 is not between 1 and 1024"))
    }

    @Test func missingImageNamesDiskAndPath() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("vmlinuz", "kernel")
        try dir.write("root.img", [0, 0, 0, 0])
        let specPath = try dir.write("vm.json", spec(disks: [
            #"{ "name": "root", "source": "root.img" }"#,
            #"{ "name": "data", "source": "data.img" }"#,
        ]).replacingOccurrences(of: "/boot/vmlinuz", with: "vmlinuz"))
        let e = #expect(throws: SpecError.self) { try SpecLoader.load(path: specPath, checkFiles: true) }
        let problems = try #require(e?.problems)
        #expect(problems.count == 1)
        let p = try #require(problems.first)
        #expect(p.field == "disks[1].source")
        #expect(p.message.contains("disk \"data\""))
        #expect(p.message.contains(dir.file("data.img")))
        #expect(p.message.contains("does not exist"))
    }

    @Test func missingKernel() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let specPath = try dir.write("vm.json", #"{ "name": "vm1", "boot": { "kernel": "vmlinuz", "initrd": "initrd.img" } }"#)
        let e = #expect(throws: SpecError.self) { try SpecLoader.load(path: specPath, checkFiles: true) }
        #expect(e?.problems.map(\.field) == ["boot.kernel", "boot.initrd"])
        #expect(e?.problems.first?.message.contains(dir.file("vmlinuz")) == true)
    }

    @Test func imageThatIsAFolder() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("k", "k")
        try FileManager.default.createDirectory(atPath: dir.file("root.img"), withIntermediateDirectories: true)
        let specPath = try dir.write("vm.json", #"{ "name": "vm1", "boot": { "kernel": "k" }, "disks": [ { "name": "root", "source": "root.img" } ] }"#)
        let e = #expect(throws: SpecError.self) { try SpecLoader.load(path: specPath, checkFiles: true) }
        #expect(e?.problems.map(\.field) == ["disks[0].source"])
        #expect(e?.problems.first?.message.contains("is a folder") == true)
    }

    @Test func duplicateDiskName() throws {
        let p = try #require(problem(spec(disks: [
            #"{ "name": "root", "source": "/a.img" }"#,
            #"{ "name": "root", "source": "/b.img" }"#,
        ])))
        #expect(p.field == "disks[1].name")
        #expect(p.message.contains("\"root\""))
        #expect(p.message.contains("disks[0]"))
    }

    @Test func duplicateTarget() throws {
        let p = try #require(problem(spec(disks: [
            #"{ "name": "a", "source": "/a.img", "target": "vdb" }"#,
            #"{ "name": "b", "source": "/b.img", "target": "vdb" }"#,
        ])))
        #expect(p.field == "disks[1].target")
        #expect(p.message.contains("vdb"))
        #expect(p.message.contains("disks[0]"))
    }

    @Test func duplicateVolume() throws {
        let p = try #require(problem(spec(disks: [
            #"{ "name": "a", "volume": "team", "source": "/a.img" }"#,
            #"{ "name": "b", "volume": "team", "source": "/b.img" }"#,
        ])))
        #expect(p.field == "disks[1].volume")
        #expect(p.message.contains("\"team\""))
    }

    /// A disk without "volume" is volume "<vm>/<disk>": naming that volume on another disk of the
    /// same VM would put one serial on two devices.
    @Test func namedVolumeClashingWithADefaultIdentity() throws {
        let p = try #require(problem(spec(disks: [
            #"{ "name": "data", "source": "/a.img" }"#,
            #"{ "name": "copy", "volume": "vm1/data", "source": "/b.img" }"#,
        ])))
        #expect(p.field == "disks[1].volume")
        #expect(p.message.contains("\"vm1/data\""))
        #expect(p.message.contains("disks[0]"))
        let q = try #require(problem(spec(disks: [
            #"{ "name": "copy", "volume": "vm1/data", "source": "/b.img" }"#,
            #"{ "name": "data", "source": "/a.img" }"#,
        ])))
        #expect(q.field == "disks[1].volume")
    }

    /// Another VM's default identity may be named on purpose: that is how a disk is shared.
    @Test func namingAnotherVMsDiskIsSharing() throws {
        let r = try resolve(spec(disks: [#"{ "name": "data", "volume": "vm0/data", "source": "/a.img" }"#]))
        #expect(r.disks.first?.volume == VolumeIdentity("vm0/data"))
    }

    @Test func repeatedDiskNameIsReportedOnce() throws {
        let p = problems(spec(disks: [#"{ "name": "a", "source": "/a.img" }"#, #"{ "name": "a", "source": "/b.img" }"#]))
        #expect(p.map(\.field) == ["disks[1].name"])
    }

    @Test(arguments: [("virtio", "sda"), ("scsi", "vda"), ("sata", "sd1"), ("nvme", "sda"), ("nvme", "nvme0"), ("virtio", "vd")])
    func targetThatDoesNotFitTheBus(bus: String, target: String) throws {
        let p = try #require(problem(spec(disks: [#"{ "name": "a", "source": "/a.img", "bus": "\#(bus)", "target": "\#(target)" }"#])))
        #expect(p.field == "disks[0].target")
        #expect(p.message.contains(target))
    }

    @Test(arguments: [(" ", "' ' (space)"), ("/", "'/'"), ("é", "'é'"), ("#", "'#'")])
    func serialWithBadCharacter(c: String, shown: String) throws {
        let p = try #require(problem(spec(disks: [#"{ "name": "data", "source": "/d.img", "bus": "scsi", "serial": "AB\#(c)CD" }"#])))
        #expect(p.field == "disks[0].serial")
        #expect(p.message.contains("disk \"data\""))
        #expect(p.message.contains("scsi"))
        #expect(p.message.contains(shown))
    }

    @Test func emptySerial() throws {
        let p = try #require(problem(spec(disks: [#"{ "name": "data", "source": "/d.img", "serial": "" }"#])))
        #expect(p.field == "disks[0].serial")
        #expect(p.message.contains("empty"))
    }

    @Test(arguments: [("virtio", 21, 20), ("sata", 21, 20), ("nvme", 21, 20), ("scsi", 37, 36)])
    func serialOneOverTheLimit(bus: String, length: Int, limit: Int) throws {
        let serial = String(repeating: "S", count: length)
        let p = try #require(problem(spec(disks: [#"{ "name": "data", "source": "/d.img", "bus": "\#(bus)", "serial": "\#(serial)" }"#])))
        #expect(p.field == "disks[0].serial")
        #expect(p.message.contains("disk \"data\""))
        #expect(p.message.contains("\(bus) bus keeps at most \(limit)"))
        #expect(p.message.contains("\(length) characters"))
        #expect(p.fix.contains("at most \(limit)"))
    }

    @Test(arguments: [("virtio", 20), ("sata", 20), ("nvme", 20), ("scsi", 36)])
    func serialExactlyAtTheLimitIsAccepted(bus: String, limit: Int) throws {
        let serial = String(repeating: "S", count: limit)
        let r = try resolve(spec(disks: [#"{ "name": "data", "source": "/d.img", "bus": "\#(bus)", "serial": "\#(serial)" }"#]))
        #expect(r.disks.first?.serial == serial)
        #expect(r.disks.first?.bus.rawValue == bus)
    }

    @Test func duplicateSerialBetweenDisks() throws {
        let p = try #require(problem(spec(disks: [
            #"{ "name": "a", "source": "/a.img", "serial": "SAME-1" }"#,
            #"{ "name": "b", "source": "/b.img", "bus": "scsi", "serial": "SAME-1" }"#,
        ])))
        #expect(p.field == "disks[1].serial")
        #expect(p.message.contains("SAME-1"))
        #expect(p.message.contains("disks[0]"))
    }

    @Test func customSMBIOSWithoutSerial() throws {
        let p = try #require(problem(spec(disks: [], extra: #""smbios": { "mode": "custom" }"#)))
        #expect(p.field == "smbios.serial")
        #expect(p.message.contains("custom"))
    }

    @Test(arguments: ["", String(repeating: "x", count: 65), "bell\u{07}"])
    func customSMBIOSWithBadSerial(serial: String) throws {
        let s = VMSpec(name: "vm1", boot: .kernel(kernel: "/k", initrd: nil, cmdline: nil),
                       smbios: .init(mode: .custom, serial: serial), disks: [])
        let e = #expect(throws: SpecError.self) {
            try SpecValidator.resolve(s, specPath: nil, baseDirectory: "/", checkFiles: false)
        }
        #expect(e?.problems.map(\.field) == ["smbios.serial"])
    }

    @Test func customSMBIOSSerialIsKept() throws {
        let r = try resolve(spec(disks: [], extra: #""smbios": { "mode": "custom", "serial": "Asset Tag 42" }"#))
        #expect(r.spec.smbios == VMSpec.SMBIOS(mode: .custom, serial: "Asset Tag 42"))
    }

    @Test(arguments: ["unique", "none", "host"])
    func serialWithAModeOtherThanCustom(mode: String) throws {
        let p = try #require(problem(spec(disks: [], extra: #""smbios": { "mode": "\#(mode)", "serial": "ASSET-1" }"#)))
        #expect(p.field == "smbios.serial")
        #expect(p.message.contains("\"\(mode)\""))
    }

    @Test func shareableQcow2IsRefused() throws {
        let json = exampleSpec.replacingOccurrences(of: "/boot/", with: "/nonexistent/")
        let spec = try SpecLoader.decode(Data(json.utf8))
        var withFormat = spec
        withFormat.disks[2].format = .qcow2
        let e = #expect(throws: SpecError.self) {
            try SpecValidator.resolve(withFormat, specPath: "/specs/vm1.json", baseDirectory: "/specs", checkFiles: false)
        }
        #expect(e?.problems.count == 1)
        let p = try #require(e?.problems.first)
        #expect(p.field == "disks[2].shareable")
        #expect(p.message.contains("disk \"share\""))
        #expect(p.message.contains("qcow2"))
    }

    /// The format comes from the file when the spec leaves it out: a shareable image that is
    /// really qcow2 is refused even though the spec says nothing about its format.
    @Test func shareableQcow2DetectedFromTheFile() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("k", "k")
        try dir.write("share.qcow2", qcow2Magic)
        let path = try dir.write("vm.json", #"{ "name": "vm1", "boot": { "kernel": "k" }, "disks": [ { "name": "share", "source": "share.qcow2", "shareable": true } ] }"#)
        let e = #expect(throws: SpecError.self) { try SpecLoader.load(path: path) }
        #expect(e?.problems.map(\.field) == ["disks[0].shareable"])
    }

    @Test func firmwareBootWithoutDisks() throws {
        let p = try #require(problem(#"{ "name": "vm1", "boot": { "firmware": "bios" } }"#))
        #expect(p.field == "boot.firmware")
    }

    @Test func cmdlineWithNewline() throws {
        let p = try #require(problem(#"{ "name": "vm1", "boot": { "kernel": "/k", "cmdline": "a\nb" } }"#))
        #expect(p.field == "boot.cmdline")
    }

    @Test func everyProblemIsReportedAtOnce() throws {
        let p = problems("""
            { "name": "", "uuid": "xyz", "memoryMiB": -1, "vcpus": 0, "boot": { "kernel": "/k" },
              "smbios": { "mode": "custom" },
              "disks": [
                { "name": "a", "source": "/a.img", "serial": "TOO-LONG-FOR-VIRTIO-123" },
                { "name": "a", "source": "/b.img", "bus": "scsi", "serial": "bad serial" },
                { "name": "c", "source": "/c.img", "format": "qcow2", "shareable": true, "target": "sda" }
              ] }
            """)
        #expect(p.map(\.field) == [
            "name", "uuid", "memoryMiB", "vcpus", "smbios.serial",
            "disks[0].serial", "disks[1].name", "disks[1].serial", "disks[2].target", "disks[2].shareable",
        ])
        let e = SpecError.invalid(path: "vm.json", problems: p)
        #expect(e.description.hasPrefix("spec vm.json has 10 problems:"))
        #expect(e.description.contains("disks[0].serial: disk \"a\" on bus virtio"))
    }

    /// The issue's example with the shared disk as a raw image: valid.
    @Test func exampleSpecWithRawShareResolves() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("boot/vmlinuz", "kernel")
        try dir.write("boot/initrd.img", "initrd")
        try dir.write("root.qcow2", qcow2Magic)
        try dir.write("data.qcow2", qcow2Magic)
        try dir.write("share.img", [UInt8](repeating: 0, count: 512))
        let json = exampleSpec
            .replacingOccurrences(of: "/boot/vmlinuz-6.1.0-amd64", with: "boot/vmlinuz")
            .replacingOccurrences(of: "/boot/initrd.img-6.1.0-amd64", with: "boot/initrd.img")
            .replacingOccurrences(of: #""source": "share.qcow2", "bus""#, with: #""source": "share.img", "format": "raw", "bus""#)
        let path = try dir.write("vm1.json", json)
        let r = try SpecLoader.load(path: path)
        #expect(r.name == "vm1")
        #expect(r.specPath == path)
        #expect(r.boot == .kernel(kernel: dir.file("boot/vmlinuz"), initrd: dir.file("boot/initrd.img"), cmdline: "console=ttyS0"))
        #expect(r.disks == [
            ResolvedDisk(name: "root", volume: VolumeIdentity("vm1/root"), source: dir.file("root.qcow2"), format: .qcow2,
                         bus: .virtio, target: "vda", serial: nil, shareable: false),
            ResolvedDisk(name: "data", volume: VolumeIdentity("vm1/data"), source: dir.file("data.qcow2"), format: .qcow2,
                         bus: .scsi, target: "sda", serial: "MANUAL-0001", shareable: false),
            ResolvedDisk(name: "share", volume: VolumeIdentity("team-share"), source: dir.file("share.img"), format: .raw,
                         bus: .sata, target: "sdb", serial: nil, shareable: true),
        ])
    }
}
