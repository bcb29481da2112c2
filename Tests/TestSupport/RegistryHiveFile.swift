/// Writes an empty Windows registry hive file (the "regf" format): enough for hivex to open
/// it for writing and add keys and values, so that tests can build SYSTEM and SOFTWARE hives
/// without a Windows machine.
///
/// Layout (all integers little-endian; cell offsets count from the first hive bin, 0x1000):
/// - a 4096-byte base block: "regf", two equal sequence numbers (the hive was synced),
///   a timestamp, version 1.3, type 0 (primary file), format 1, the root cell's offset, the
///   size of the hive bins, clustering factor 1, the file name (UTF-16LE), and at 0x1FC the
///   XOR of the 127 dwords before it;
/// - one 4096-byte "hbin" holding the root key ("nk", flags: hive entry, no delete,
///   compressed name), the security cell ("sk") the root points to (a self-relative
///   descriptor: owner Administrators, group SYSTEM, no DACL), and one free cell for the rest.
public enum RegistryHiveFile {
    public static let baseBlockSize = 0x1000
    public static let hiveBinSize = 0x1000

    /// The bytes of an empty hive whose root key is `rootName` (ASCII). `fileName` goes into
    /// the base block (Windows writes a path such as `\SystemRoot\System32\Config\SYSTEM`).
    /// `timestamp` is a FILETIME (100 ns since 1601); the default is 2024-01-01.
    public static func empty(rootName: String = "ROOT", fileName: String = "", timestamp: UInt64 = 133_485_408_000_000_000) -> [UInt8] {
        precondition(!rootName.isEmpty && rootName.utf8.count < 256 && rootName.allSatisfy(\.isASCII), "the root key name must be short ASCII")
        var file = [UInt8](repeating: 0, count: baseBlockSize + hiveBinSize)

        // Hive bin header.
        let bin = baseBlockSize
        put(&file, bin, Array("hbin".utf8))
        put32(&file, bin + 0x04, 0)                       // offset of this bin
        put32(&file, bin + 0x08, UInt32(hiveBinSize))     // size of this bin
        put64(&file, bin + 0x14, timestamp)

        // Root key cell at offset 0x20 of the bin.
        let rootOffset = 0x20
        let sd = securityDescriptor()
        let nkSize = align8(0x50 + rootName.utf8.count)
        let skOffset = rootOffset + nkSize
        let skSize = align8(0x18 + sd.count)
        let nk = bin + rootOffset
        putCellSize(&file, nk, used: nkSize)
        put(&file, nk + 0x04, Array("nk".utf8))
        put16(&file, nk + 0x06, 0x2C)                     // KEY_HIVE_ENTRY | KEY_NO_DELETE | KEY_COMP_NAME
        put64(&file, nk + 0x08, timestamp)
        put32(&file, nk + 0x14, 0xFFFF_FFFF)              // parent: none
        put32(&file, nk + 0x18, 0)                        // subkeys
        put32(&file, nk + 0x1C, 0)                        // volatile subkeys
        put32(&file, nk + 0x20, 0xFFFF_FFFF)              // subkey list
        put32(&file, nk + 0x24, 0xFFFF_FFFF)              // volatile subkey list
        put32(&file, nk + 0x28, 0)                        // values
        put32(&file, nk + 0x2C, 0xFFFF_FFFF)              // value list
        put32(&file, nk + 0x30, UInt32(skOffset))         // security cell
        put32(&file, nk + 0x34, 0xFFFF_FFFF)              // class name
        put16(&file, nk + 0x4C, UInt16(rootName.utf8.count))
        put(&file, nk + 0x50, Array(rootName.utf8))

        // Security cell: a one-element circular list (flink and blink point to itself).
        let sk = bin + skOffset
        putCellSize(&file, sk, used: skSize)
        put(&file, sk + 0x04, Array("sk".utf8))
        put32(&file, sk + 0x08, UInt32(skOffset))
        put32(&file, sk + 0x0C, UInt32(skOffset))
        put32(&file, sk + 0x10, 1)                        // reference count: the root key
        put32(&file, sk + 0x14, UInt32(sd.count))
        put(&file, sk + 0x18, sd)

        // The rest of the bin is one free cell (positive size).
        let freeOffset = skOffset + skSize
        put32(&file, bin + freeOffset, UInt32(hiveBinSize - freeOffset))

        // Base block.
        put(&file, 0, Array("regf".utf8))
        put32(&file, 0x04, 1)                             // primary sequence number
        put32(&file, 0x08, 1)                             // secondary: equal, so no log to replay
        put32(&file, 0x14, 1)                             // major version
        put32(&file, 0x18, 3)                             // minor version
        put32(&file, 0x1C, 0)                             // file type: primary
        put32(&file, 0x20, 1)                             // file format: direct memory load
        put32(&file, 0x24, UInt32(rootOffset))
        put32(&file, 0x28, UInt32(hiveBinSize))
        put32(&file, 0x2C, 1)                             // clustering factor
        let name = fileName.utf16.prefix(31).flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }
        put(&file, 0x30, name)
        // The checksum must be neither 0 nor 0xFFFFFFFF: Windows writes 1 and 0xFFFFFFFE for those,
        // hivex compares the plain XOR. Nudge the timestamp until both agree.
        var stamp = timestamp
        while true {
            put64(&file, 0x0C, stamp)
            let sum = checksum(file)
            if sum != 0 && sum != 0xFFFF_FFFF {
                put32(&file, 0x1FC, sum)
                break
            }
            stamp += 1
        }
        return file
    }

    /// XOR of the base block's first 127 dwords.
    public static func checksum(_ file: [UInt8]) -> UInt32 {
        (0..<127).reduce(UInt32(0)) { sum, i in sum ^ get32(file, i * 4) }
    }

    /// A self-relative security descriptor: owner BUILTIN\Administrators (S-1-5-32-544), group
    /// NT AUTHORITY\SYSTEM (S-1-5-18), no DACL present (everyone has access).
    static func securityDescriptor() -> [UInt8] {
        let administrators: [UInt8] = [1, 2, 0, 0, 0, 0, 0, 5, 0x20, 0, 0, 0, 0x20, 0x02, 0, 0]
        let system: [UInt8] = [1, 1, 0, 0, 0, 0, 0, 5, 0x12, 0, 0, 0]
        var sd: [UInt8] = [1, 0, 0x00, 0x80]              // revision 1, control SE_SELF_RELATIVE
        sd += le32(20)                                    // owner
        sd += le32(UInt32(20 + administrators.count))    // group
        sd += le32(0)                                     // SACL
        sd += le32(0)                                     // DACL
        return sd + administrators + system
    }

    static func align8(_ n: Int) -> Int { (n + 7) & ~7 }

    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * UInt32($0)) & 0xff) } }

    static func put(_ b: inout [UInt8], _ at: Int, _ bytes: [UInt8]) {
        b.replaceSubrange(at..<(at + bytes.count), with: bytes)
    }

    static func put16(_ b: inout [UInt8], _ at: Int, _ v: UInt16) {
        b[at] = UInt8(v & 0xff)
        b[at + 1] = UInt8(v >> 8)
    }

    static func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) { put(&b, at, le32(v)) }

    static func put64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) {
        put(&b, at, (0..<8).map { UInt8(v >> (8 * UInt64($0)) & 0xff) })
    }

    /// A used cell stores its size negated.
    static func putCellSize(_ b: inout [UInt8], _ at: Int, used size: Int) {
        put32(&b, at, UInt32(bitPattern: Int32(-size)))
    }

    public static func get32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }
}
