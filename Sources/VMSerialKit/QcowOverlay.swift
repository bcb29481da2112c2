import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes an empty qcow2 (version 3) image over a backing file, in this process: what
/// `qemu-img create -f qcow2 -F <format> -b <backing> <overlay>` writes, without starting a
/// process for each disk of each verify (about 25 ms apiece here).
///
/// The layout is qemu-img's: the header in cluster 0 (with the backing format extension and
/// the backing file's name), the refcount table in cluster 1, one refcount block in cluster 2,
/// the L1 table from cluster 3, 64 KiB clusters, 16-bit refcounts. Only qcow2 and raw backing
/// files are written here; for any other format `make` says nil and the caller runs qemu-img.
public enum QcowOverlay {
    static let clusterBits: UInt32 = 16
    static let clusterSize = 1 << 16

    /// Creates `overlay` (which must not exist) over `backing` of `format`. Returns false when
    /// this writer does not know the format or cannot read the backing file's size: qemu-img
    /// then does it (and says what is wrong).
    public static func make(overlay: String, backing: String, format: String) throws -> Bool {
        guard format == "qcow2" || format == "raw", let size = virtualSize(of: backing, format: format) else { return false }
        guard let image = image(size: size, backing: backing, format: format) else { return false }
        let fd = open(overlay, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw VMSerialError.failed("cannot create the overlay \(overlay): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let written = image.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == image.count else {
            let why = written < 0 ? String(cString: strerror(errno)) : "short write"
            unlink(overlay)
            throw VMSerialError.failed("cannot write the overlay \(overlay): \(why)")
        }
        return true
    }

    /// The guest-visible size of `path`: a qcow2 header's size field, or a raw file's (or block
    /// device's) length. Nil when it cannot be read.
    public static func virtualSize(of path: String, format: String) -> UInt64? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if format == "raw" {
            let end = lseek(fd, 0, SEEK_END)
            return end > 0 ? UInt64(end) : nil
        }
        var header = [UInt8](repeating: 0, count: 32)
        guard pread(fd, &header, 32, 0) == 32, header[0..<4] == [0x51, 0x46, 0x49, 0xFB] else { return nil }
        let size = header[24..<32].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return size > 0 ? size : nil
    }

    /// The whole overlay file, or nil when the backing name does not fit in the header cluster.
    static func image(size: UInt64, backing: String, format: String) -> [UInt8]? {
        let perL2 = UInt64(clusterSize / 8) * UInt64(clusterSize)
        let l1Entries = (size + perL2 - 1) / perL2
        let l1Clusters = max(1, Int((l1Entries * 8 + UInt64(clusterSize) - 1) / UInt64(clusterSize)))
        let clusters = 3 + l1Clusters
        // One refcount block holds clusterSize / 2 entries.
        guard clusters <= clusterSize / 2, l1Entries <= UInt64(UInt32.max) else { return nil }

        var h = [UInt8](repeating: 0, count: 112)
        func put(_ value: UInt64, at offset: Int, bytes: Int) {
            for i in 0..<bytes { h[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(bytes - 1 - i))) }
        }
        let formatName = Array(format.utf8)
        let padded = (formatName.count + 7) / 8 * 8
        let backingName = Array(backing.utf8)
        let backingOffset = 112 + 8 + padded + 8
        guard backingOffset + backingName.count <= clusterSize, backingName.count <= 1023 else { return nil }
        h[0..<4] = [0x51, 0x46, 0x49, 0xFB]                          // magic "QFI\xfb"
        put(3, at: 4, bytes: 4)                                        // version
        put(UInt64(backingOffset), at: 8, bytes: 8)
        put(UInt64(backingName.count), at: 16, bytes: 4)
        put(UInt64(clusterBits), at: 20, bytes: 4)
        put(size, at: 24, bytes: 8)
        put(l1Entries, at: 36, bytes: 4)                               // l1_size
        put(UInt64(3 * clusterSize), at: 40, bytes: 8)                 // l1_table_offset
        put(UInt64(clusterSize), at: 48, bytes: 8)                     // refcount_table_offset
        put(1, at: 56, bytes: 4)                                       // refcount_table_clusters
        put(4, at: 96, bytes: 4)                                       // refcount_order: 16-bit
        put(112, at: 100, bytes: 4)                                    // header_length
        // Header extensions: the backing file's format, then the end mark.
        h += [0xE2, 0x79, 0x2A, 0xCA] + be32(UInt32(formatName.count)) + formatName
        h += [UInt8](repeating: 0, count: padded - formatName.count)
        h += [UInt8](repeating: 0, count: 8)
        h += backingName

        var file = [UInt8](repeating: 0, count: 3 * clusterSize + Int(l1Entries * 8))
        file.replaceSubrange(0..<h.count, with: h)
        // Refcount table: its one entry points at the refcount block in cluster 2.
        file.replaceSubrange(clusterSize..<clusterSize + 8, with: be64(UInt64(2 * clusterSize)))
        // Refcount block: each cluster in use (header, table, block, L1) is referenced once.
        for c in 0..<clusters {
            file[2 * clusterSize + 2 * c + 1] = 1
        }
        return file
    }

    static func be32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * (3 - $0))) } }
    static func be64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * (7 - $0))) } }
}
