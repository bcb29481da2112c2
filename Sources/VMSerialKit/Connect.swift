import Foundation
import Libvirt

/// Chooses and opens the libvirt connection the way users expect:
/// `--connect`, else `LIBVIRT_DEFAULT_URI`, else qemu:///system when its daemon answers,
/// else qemu:///session (which spawns a private daemon on first use).
public enum Connect {
    public static func open(_ flag: String?) throws -> Connection {
        let env = ProcessInfo.processInfo.environment
        if let uri = flag ?? env["LIBVIRT_DEFAULT_URI"].flatMap({ $0.isEmpty ? nil : $0 }) {
            prepareSession(uri)
            return try wrap(uri) { try Connection(uri: uri) }
        }
        let sockets = ["/run/libvirt/virtqemud-sock", "/run/libvirt/libvirt-sock", "/var/run/libvirt/libvirt-sock"]
        if sockets.contains(where: { FileManager.default.fileExists(atPath: $0) }),
           let c = try? Connection(uri: "qemu:///system") {
            return c
        }
        prepareSession("qemu:///session")
        return try wrap("qemu:///session") { try Connection(uri: "qemu:///session") }
    }

    /// qemu:///session needs an XDG_RUNTIME_DIR that exists with mode 0700 (root has none without systemd).
    static func prepareSession(_ uri: String) {
        guard uri.hasPrefix("qemu:///session") || uri.hasPrefix("qemu+unix:///session") else { return }
        let fm = FileManager.default
        if let d = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], fm.fileExists(atPath: d) { return }
        let dir = "/tmp/vmserial-runtime-\(geteuid())"
        try? fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(dir, 0o700)
        setenv("XDG_RUNTIME_DIR", dir, 1)
    }

    static func wrap(_ uri: String, _ body: () throws -> Connection) throws -> Connection {
        do {
            return try body()
        } catch let e as LibvirtError {
            throw VMSerialError.failed("\(e.message); check that libvirt is installed and its daemon runs (`make deps`), or pass --connect URI")
        }
    }
}
