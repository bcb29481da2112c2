import Foundation
import Testing
@testable import Inspection
import ProcessRunner
import TestSupport

@Suite("empty registry hive file (regf)")
struct RegistryHiveFileTests {
    static func u32(_ b: [UInt8], _ at: Int) -> UInt32 { RegistryHiveFile.get32(b, at) }
    static func i32(_ b: [UInt8], _ at: Int) -> Int32 { Int32(bitPattern: u32(b, at)) }

    @Test("base block: magic, equal sequence numbers, version 1.3, root offset, bins size, checksum")
    func baseBlock() {
        let f = RegistryHiveFile.empty(rootName: "ROOT", fileName: "SYSTEM")
        #expect(f.count == 0x2000, "hivex refuses files under 8 KiB")
        #expect(Array(f[0..<4]) == Array("regf".utf8))
        #expect(Self.u32(f, 0x04) == Self.u32(f, 0x08))
        #expect(Self.u32(f, 0x14) == 1 && Self.u32(f, 0x18) == 3)
        #expect(Self.u32(f, 0x24) == 0x20)
        #expect(Self.u32(f, 0x28) == 0x1000)
        #expect(Self.u32(f, 0x1FC) == RegistryHiveFile.checksum(f))
        #expect(Array(f[0x30..<0x3C]) == [0x53, 0, 0x59, 0, 0x53, 0, 0x54, 0, 0x45, 0, 0x4D, 0])
    }

    @Test("the hive bin is a chain of cells: the root nk, its sk, one free cell filling the bin")
    func cells() {
        let f = RegistryHiveFile.empty(rootName: "CMI-CreateHive{2A7FB991-7BBE-4F9D-B91E-7CB51D4737F5}")
        #expect(Array(f[0x1000..<0x1004]) == Array("hbin".utf8))
        #expect(Self.u32(f, 0x1008) == 0x1000)
        var at = 0x20
        var kinds: [String] = []
        var used: [Bool] = []
        while at < 0x1000 {
            let size = Self.i32(f, 0x1000 + at)
            #expect(size != 0 && abs(size) % 8 == 0, "cell at \(at) has size \(size)")
            used.append(size < 0)
            kinds.append(String(decoding: f[(0x1000 + at + 4)..<(0x1000 + at + 6)], as: UTF8.self))
            at += Int(abs(size))
        }
        #expect(at == 0x1000, "cells end exactly at the end of the bin")
        #expect(Array(kinds.prefix(2)) == ["nk", "sk"])
        #expect(used == [true, true, false])

        let nk = 0x1000 + 0x20
        #expect(Self.u32(f, nk + 0x18) == 0, "no subkeys")
        #expect(Self.u32(f, nk + 0x20) == 0xFFFF_FFFF)
        #expect(Self.u32(f, nk + 0x2C) == 0xFFFF_FFFF)
        let sk = Int(Self.u32(f, nk + 0x30))
        #expect(String(decoding: f[(0x1000 + sk + 4)..<(0x1000 + sk + 6)], as: UTF8.self) == "sk")
        #expect(Self.u32(f, 0x1000 + sk + 0x08) == UInt32(sk), "flink to itself")
        #expect(Self.u32(f, 0x1000 + sk + 0x0C) == UInt32(sk), "blink to itself")
        #expect(Self.u32(f, 0x1000 + sk + 0x10) == 1)
        let nameLength = Int(f[nk + 0x4C]) | Int(f[nk + 0x4D]) << 8
        #expect(String(decoding: f[(nk + 0x50)..<(nk + 0x50 + nameLength)], as: UTF8.self) == "CMI-CreateHive{2A7FB991-7BBE-4F9D-B91E-7CB51D4737F5}")
    }

    @Test("the checksum is never 0 or 0xFFFFFFFF, whatever the timestamp", arguments: 0..<64)
    func checksumNeverSpecial(seed: UInt64) {
        let f = RegistryHiveFile.empty(timestamp: 133_485_408_000_000_000 &+ seed &* 0x1_0000_0001)
        let sum = Self.u32(f, 0x1FC)
        #expect(sum == RegistryHiveFile.checksum(f))
        #expect(sum != 0 && sum != 0xFFFF_FFFF)
    }

    /// hivex itself (through hivexregedit, Debian's libwin-hivex-perl) merges keys and values
    /// into the empty hive and reads them back; the integration tests do the same through
    /// libguestfs' appliance.
    @Test("hivex adds keys and values to the empty hive and reads them back",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/hivexregedit"), "needs hivexregedit (libwin-hivex-perl)"))
    func hivexAcceptsIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vmserial-hive-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let hive = dir.appendingPathComponent("SYSTEM").path
        try Data(RegistryHiveFile.empty(fileName: "SYSTEM")).write(to: URL(fileURLWithPath: hive))
        let reg = dir.appendingPathComponent("in.reg").path
        try """
        Windows Registry Editor Version 5.00

        [\\Select]
        "Current"=dword:00000001

        [\\ControlSet001]

        [\\ControlSet001\\Services]

        [\\ControlSet001\\Services\\mssmbios]

        [\\ControlSet001\\Services\\mssmbios\\Data]
        "SMBiosData"=hex:00,02,08,00,00,00,00,00

        """.write(toFile: reg, atomically: true, encoding: .utf8)
        let merge = try Self.run("/usr/bin/hivexregedit", ["--merge", hive, reg])
        #expect(merge.status == 0, "hivexregedit --merge: \(merge.output)")
        let export = try Self.run("/usr/bin/hivexregedit", ["--export", hive, "\\"])
        #expect(export.status == 0, "hivexregedit --export: \(export.output)")
        #expect(export.output.contains("[\\Select]"))
        #expect(export.output.contains("\"Current\"=dword:00000001"))
        #expect(export.output.contains("[\\ControlSet001\\Services\\mssmbios\\Data]"))
        #expect(export.output.contains("\"SMBiosData\"=hex(3):00,02,08,00,00,00,00,00"), "REG_BINARY, exported with its type")
    }

    static func run(_ tool: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let result = try Command(tool, args).run()
        return (result.status, result.output + result.errorOutput)
    }
}
