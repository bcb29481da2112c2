#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Ownership of what libguestfs returns: every `char *` and every NULL-terminated
// `char **` (and each string in it) belongs to the caller, who frees it with free().

/// Takes ownership of a C string returned by libguestfs: copies it and frees it.
func takeString(_ pointer: UnsafeMutablePointer<CChar>) -> String {
    defer { free(pointer) }
    return String(cString: pointer)
}

/// Takes ownership of a NULL-terminated string list returned by libguestfs.
func takeStringList(_ list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> [String] {
    defer { free(list) }
    var strings: [String] = []
    var index = 0
    while let element = list[index] {
        strings.append(String(cString: element))
        free(element)
        index += 1
    }
    return strings
}

/// Takes ownership of a buffer with an explicit length (guestfs_read_file and the like:
/// binary data that may hold NULs).
func takeBytes(_ pointer: UnsafeMutablePointer<CChar>, count: Int) -> [UInt8] {
    defer { free(pointer) }
    return [UInt8](UnsafeRawBufferPointer(start: pointer, count: count))
}

/// Pairs up a flat list `[k1, v1, k2, v2, …]`, the shape libguestfs uses for hashes
/// (list_filesystems, inspect_get_mountpoints). An odd last element is dropped.
func pairs(_ flat: [String]) -> [(String, String)] {
    stride(from: 0, to: flat.count - 1, by: 2).map { (flat[$0], flat[$0 + 1]) }
}

/// Calls `body` with a C string for `string`, or with nil when `string` is nil.
func withOptionalCString<Result>(
    _ string: String?, _ body: (UnsafePointer<CChar>?) throws -> Result
) rethrows -> Result {
    guard let string else { return try body(nil) }
    return try string.withCString { try body($0) }
}

/// Calls `body` with `bytes` as a `const char *` and its length; an empty array still
/// gets a valid pointer, since libguestfs rejects NULL buffers.
func withCBuffer<Result>(
    _ bytes: [UInt8], _ body: (UnsafePointer<CChar>, Int) throws -> Result
) rethrows -> Result {
    try bytes.withUnsafeBytes { raw in
        if let base = raw.baseAddress, raw.count > 0 {
            return try body(base.assumingMemoryBound(to: CChar.self), raw.count)
        }
        var empty: CChar = 0
        return try withUnsafePointer(to: &empty) { try body($0, 0) }
    }
}
