import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a disk image holds, read on the host without starting a process.
public enum ImageContent {
    /// True only when the image surely reads as zeros from its first byte to its last, so no
    /// filesystem, partition table or volume signature can be on it; false when it holds data
    /// or this cannot tell.
    ///
    /// - qcow2 (version 2 or 3): no backing file, no external data file, not encrypted, not
    ///   marked corrupt, and every L1 entry zero: no cluster was ever allocated, so every read
    ///   returns zeros.
    /// - raw: a regular file whose data extents (`lseek(SEEK_DATA)`, `SEEK_HOLE`) hold only zeros
    ///   and add up to at most 1 MiB, all of which is read (`qemu-img create` writes the first
    ///   4 KiB of a raw image). A file system that cannot tell holes reports the whole file as
    ///   data; a block device is never taken as blank.
    /// - any other format: false.
    public static func readsAsZeros(path: String, format: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return false }
        switch format {
        case "raw":
            return rawReadsAsZeros(fd: fd)
        case "qcow2":
            return qcow2Unallocated(fd: fd, fileSize: UInt64(st.st_size))
        default:
            return false
        }
    }

    /// Linux's SEEK_DATA and SEEK_HOLE (Glibc exports them only under _GNU_SOURCE).
    static let seekData: Int32 = 3, seekHole: Int32 = 4
    /// The most data a raw image may hold and still be read through to find it all zeros.
    static let rawDataRead = 1 << 20

    static func rawReadsAsZeros(fd: Int32) -> Bool {
        var offset: off_t = 0
        var budget = rawDataRead
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            errno = 0
            let data = lseek(fd, offset, seekData)
            if data < 0 { return errno == ENXIO }   // no data after offset: the rest is a hole
            let hole = lseek(fd, data, seekHole)
            guard hole > data, hole - data <= budget else { return false }
            budget -= Int(hole - data)
            var at = data
            while at < hole {
                let n = pread(fd, &buffer, min(buffer.count, Int(hole - at)), at)
                guard n > 0, buffer[0..<n].allSatisfy({ $0 == 0 }) else { return false }
                at += off_t(n)
            }
            offset = hole
        }
    }

    /// The largest L1 table read (entries of 8 bytes; one entry maps 512 MiB with 64 KiB
    /// clusters, so 8 MiB of L1 covers 512 TiB).
    static let largestL1 = 8 << 20

    static func qcow2Unallocated(fd: Int32, fileSize: UInt64) -> Bool {
        var header = [UInt8](repeating: 0, count: 104)
        let got = pread(fd, &header, header.count, 0)
        guard got >= 72, header[0..<4] == [0x51, 0x46, 0x49, 0xFB] else { return false }
        func be(_ at: Int, _ n: Int) -> UInt64 { header[at..<(at + n)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        let version = be(4, 4)
        guard version == 2 || (version == 3 && got >= 80) else { return false }
        guard be(8, 8) == 0, be(32, 4) == 0 else { return false } // backing file offset, encryption method
        if version == 3 {
            // Incompatible features: 0 dirty (L1 and L2 stay valid), 1 corrupt, 2 external data file,
            // 3 compression type, 4 extended L2 entries. Corrupt, an external data file or a bit
            // this reader does not know: cannot tell.
            let incompatible = be(72, 8)
            guard incompatible & ~(UInt64(1) << 0 | UInt64(1) << 3 | UInt64(1) << 4) == 0 else { return false }
        }
        let l1Size = be(36, 4), l1Offset = be(40, 8)
        guard l1Size * 8 <= UInt64(largestL1) else { return false }
        if l1Size == 0 { return true }
        // Compared without adding: a header's offset may be anything, up to 2^64 - 1.
        guard l1Offset > 0, l1Offset <= fileSize, l1Size * 8 <= fileSize - l1Offset else { return false }
        var table = [UInt8](repeating: 0, count: Int(l1Size * 8))
        guard pread(fd, &table, table.count, off_t(l1Offset)) == table.count else { return false }
        return table.allSatisfy { $0 == 0 }
    }
}
