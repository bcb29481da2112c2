import Testing
@testable import Inspection
import TestSupport

@Suite("SMBIOS table (Windows' RawSMBIOSData)")
struct SMBIOSTests {
    /// A table laid out as QEMU 7.2 builds it for `-machine pc` with a sysinfo serial: type 0
    /// (BIOS), type 1 (system), End-of-Table; SMBIOS 2.8.
    static func qemuTable() -> [UInt8] {
        var t: [UInt8] = []
        // Type 0: length 0x18, handle 0; vendor=1, version=2, start segment, date=3, ...
        t += [0x00, 0x18, 0x00, 0x00, 0x01, 0x02, 0x00, 0xE8, 0x03, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]
        t += Array("SeaBIOS".utf8) + [0] + Array("1.16.2-debian-1.16.2-1".utf8) + [0] + Array("04/01/2014".utf8) + [0, 0]
        // Type 1: length 0x1B, handle 0x0100; manufacturer=1, product=2, version=3, serial=4, UUID,
        // wake-up 6, SKU=0, family=0.
        t += [0x01, 0x1B, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04]
        // UUID 4f0fbb8c-3d52-4d6a-9a5e-0123456789ab, first three fields little-endian.
        t += [0x8c, 0xbb, 0x0f, 0x4f, 0x52, 0x3d, 0x6a, 0x4d, 0x9a, 0x5e, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab]
        t += [0x06, 0x00, 0x00]
        t += Array("QEMU".utf8) + [0] + Array("Standard PC (i440FX + PIIX, 1996)".utf8) + [0] + Array("pc-i440fx-7.2".utf8) + [0]
        t += Array("4f0fbb8c-3d52-4d6a-9a5e-0123456789ab".utf8) + [0, 0]
        // End of table.
        t += [0x7F, 0x04, 0x00, 0x7F, 0x00, 0x00]
        let n = UInt32(t.count)
        return [0, 2, 8, 0, UInt8(n & 0xff), UInt8(n >> 8), 0, 0] + t
    }

    @Test("parses QEMU's table: type 1 strings, the UUID little-endian from SMBIOS 2.6 on")
    func parsesQEMUTable() throws {
        let table = try SMBIOSTable(rawSMBIOSData: Self.qemuTable())
        #expect(table.majorVersion == 2 && table.minorVersion == 8)
        #expect(table.structures.map(\.type) == [0, 1, 127])
        #expect(table.structures[0].strings == ["SeaBIOS", "1.16.2-debian-1.16.2-1", "04/01/2014"])
        let s = try #require(table.system)
        #expect(s.manufacturer == "QEMU")
        #expect(s.productName == "Standard PC (i440FX + PIIX, 1996)")
        #expect(s.version == "pc-i440fx-7.2")
        #expect(s.serialNumber == "4f0fbb8c-3d52-4d6a-9a5e-0123456789ab")
        #expect(s.uuid == "4f0fbb8c-3d52-4d6a-9a5e-0123456789ab")
        #expect(s.skuNumber == nil)
        #expect(s.family == nil)
    }

    @Test("before SMBIOS 2.6 the UUID bytes are taken as stored")
    func oldUUIDByteOrder() throws {
        var raw = Self.qemuTable()
        raw[2] = 5  // SMBIOS 2.5
        let s = try #require(try SMBIOSTable(rawSMBIOSData: raw).system)
        #expect(s.uuid == "8cbb0f4f-523d-6a4d-9a5e-0123456789ab")
    }

    @Test("a UUID of all 0x00 or all 0xFF is 'not present'", arguments: [UInt8(0x00), 0xFF])
    func absentUUID(fill: UInt8) throws {
        var raw = Self.qemuTable()
        let start = raw.firstIndex(of: 0x8c)!
        for i in start..<(start + 16) { raw[i] = fill }
        #expect(try SMBIOSTable(rawSMBIOSData: raw).system?.uuid == nil)
    }

    @Test("the writer's blob parses back to the same values", arguments: [true, false])
    func roundTrip(newUUIDOrder: Bool) throws {
        let info = SystemInformation(manufacturer: "QEMU", productName: "Standard PC (Q35 + ICH9, 2009)", version: "pc-q35-7.2",
                                     serialNumber: "VS-SERIAL-0001", uuid: "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
                                     skuNumber: "SKU", family: "Virtual Machine")
        let table = SMBIOSTable(majorVersion: 2, minorVersion: newUUIDOrder ? 8 : 4,
                                structures: [info.structure(littleEndianUUID: newUUIDOrder), .endOfTable(handle: 0xFEFF)])
        let blob = table.rawSMBIOSData()
        let back = try SMBIOSTable(rawSMBIOSData: blob)
        #expect(back == table)
        #expect(back.system == info)
        #expect(Array(blob[4..<8]) == [UInt8(blob.count - 8), 0, 0, 0])
    }

    @Test("empty strings are index 0 and a structure without strings ends in two NULs")
    func noStrings() throws {
        let info = SystemInformation(uuid: "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9")
        let s = info.structure()
        #expect(s.strings.isEmpty)
        #expect(Array(s.encoded().suffix(2)) == [0, 0])
        let back = try SMBIOSTable(rawSMBIOSData: SMBIOSTable(structures: [s, .endOfTable(handle: 1)]).rawSMBIOSData())
        #expect(back.structures.count == 2)
        #expect(back.system?.serialNumber == nil)
        #expect(back.system?.uuid == info.uuid)
    }

    @Test("padding after the declared length is ignored")
    func trailingBytesIgnored() throws {
        let raw = Self.qemuTable() + [0, 0, 0, 0]
        #expect(try SMBIOSTable(rawSMBIOSData: raw).system?.serialNumber == "4f0fbb8c-3d52-4d6a-9a5e-0123456789ab")
    }

    @Test("a short header, a length past the value, and a cut structure are errors")
    func truncated() {
        #expect(throws: SMBIOSError.self) { try SMBIOSTable(rawSMBIOSData: [0, 2, 8]) }
        var long = Self.qemuTable()
        long[4] = 0xFF
        long[5] = 0xFF
        #expect(throws: SMBIOSError.self) { try SMBIOSTable(rawSMBIOSData: long) }
        // Cut in the middle of type 1's strings: the header's length shrinks with it.
        let full = Self.qemuTable()
        let cut = Array(full.prefix(full.count - 30))
        var shortened = cut
        let n = UInt32(cut.count - 8)
        shortened[4] = UInt8(n & 0xff)
        shortened[5] = UInt8(n >> 8)
        #expect(throws: SMBIOSError.self) { try SMBIOSTable(rawSMBIOSData: shortened) }
    }

    @Test("a structure whose length is under 4 is malformed")
    func malformedLength() {
        let raw: [UInt8] = [0, 2, 8, 0, 6, 0, 0, 0, 1, 2, 0, 0, 0, 0]
        #expect(throws: SMBIOSError.malformed("structure type 1 at offset 0 declares length 2, less than its 4-byte header")) {
            try SMBIOSTable(rawSMBIOSData: raw)
        }
    }

    @Test("a string index past the string set reads as no string")
    func badStringIndex() {
        let s = SMBIOSStructure(type: 1, handle: 0, formatted: [9, 0, 0, 0], strings: ["only"])
        #expect(s.string(at: 4) == nil)
        #expect(s.string(at: 5) == nil)
        #expect(s.string(at: 40) == nil)
    }
}
