import Foundation
import Libvirt

/// Chooses and opens the libvirt connection the way users expect:
/// `--connect`, else `LIBVIRT_DEFAULT_URI`, else qemu:///system when its daemon answers,
/// else qemu:///session (which spawns a private daemon on first use).
public enum Connect {
    public static func open(_ flag: String?) throws -> Connection {
        let env = ProcessInfo.processInfo.environment
        if let uri = flag ?? env["LIBVIRT_DEFAULT_URI"].flatMap({ $0.isEmpty ? nil : $0 }) {
            try prepareSession(uri)
            return try wrap(uri) { try Connection(uri: uri) }
        }
        let sockets = ["/run/libvirt/virtqemud-sock", "/run/libvirt/libvirt-sock", "/var/run/libvirt/libvirt-sock"]
        if sockets.contains(where: { FileManager.default.fileExists(atPath: $0) }),
           let c = try? Connection(uri: "qemu:///system") {
            return c
        }
        try prepareSession("qemu:///session")
        return try wrap("qemu:///session") { try Connection(uri: "qemu:///session") }
    }

    /// qemu:///session needs an XDG_RUNTIME_DIR that exists with mode 0700 (root has none without
    /// systemd); the private libvirt daemon keeps its sockets there.
    static func prepareSession(_ uri: String) throws {
        guard uri.hasPrefix("qemu:///session") || uri.hasPrefix("qemu+unix:///session") else { return }
        if let d = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], !d.isEmpty, FileManager.default.fileExists(atPath: d) { return }
        setenv("XDG_RUNTIME_DIR", try runtimeDirectory(in: "/tmp"), 1)
    }

    /// `<tmp>/vmserial-runtime-<uid>`, made by mkdir(2) with mode 0700, or the one an earlier run
    /// made: a real folder (not a link), owned by this user, mode 0700. /tmp is everyone's, so
    /// anything else under that name (a planted symlink, another user's folder, wider
    /// permissions) is never used nor changed: a fresh folder with an unpredictable name (mkdtemp) is.
    static func runtimeDirectory(in tmp: String) throws -> String {
        let dir = "\(tmp)/vmserial-runtime-\(geteuid())"
        if mkdir(dir, 0o700) != 0, errno != EEXIST {
            return try freshRuntimeDirectory(in: tmp)
        }
        // Checked on the folder itself, never through a link: O_NOFOLLOW fails on a symlink.
        let fd = Glibc.open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return try freshRuntimeDirectory(in: tmp) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == geteuid() else {
            return try freshRuntimeDirectory(in: tmp)
        }
        // Ours: a umask may have left it narrower than 0700 (unusable), never wider.
        if st.st_mode & 0o777 != 0o700 {
            guard st.st_mode & 0o077 == 0, fchmod(fd, 0o700) == 0 else { return try freshRuntimeDirectory(in: tmp) }
        }
        return dir
    }

    static func freshRuntimeDirectory(in tmp: String) throws -> String {
        var template = Array("\(tmp)/vmserial-runtime-\(geteuid()).XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else {
            throw VMSerialError.failed("cannot create a private runtime folder for qemu:///session under \(tmp): \(String(cString: strerror(errno))); set XDG_RUNTIME_DIR to a folder of yours with mode 0700")
        }
        // mkdtemp makes it 0700.
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func wrap(_ uri: String, _ body: () throws -> Connection) throws -> Connection {
        do {
            return try body()
        } catch let e as LibvirtError {
            throw VMSerialError.failed("\(e.message); check that libvirt is installed and its daemon runs (`make deps`), or pass --connect URI")
        }
    }
}
