import Foundation
import SerialPolicy
import Testing
@testable import SerialRegistry

/// `sslmode` as libpq means it, against private clusters: the shared test cluster (no TLS) and
/// one this suite starts with a certificate from a CA it makes with openssl.
@Suite("PostgreSQL TLS (sslmode, sslrootcert)", .serialized)
struct PostgresTLSTests {
    static var canRun: Bool {
        Backend.postgresConfigured && geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")
    }

    @Test(arguments: [
        ("postgres://vm@db/x", PostgresLocation.SSLMode.prefer),
        ("postgres://vm@db/x?sslmode=disable", .disable),
        ("postgres://vm@db/x?sslmode=require", .require),
        ("postgres://vm@db/x?schema=a&sslmode=verify-full", .verifyFull),
    ])
    func modes(url: String, mode: PostgresLocation.SSLMode) throws {
        #expect(try PostgresLocation(url: url).sslMode == mode)
    }

    @Test func unknownModeOrSettingIsBadInput() {
        for url in ["postgres://vm:pw@db/x?sslmode=verify-ca", "postgres://vm:pw@db/x?sslmode=on",
                    "postgres://vm:pw@db/x?sslrootcert=/nonexistent.pem", "postgres://vm:pw@db/x?sslcert=/x"] {
            let e = #expect(throws: RegistryError.self, "\(url)") { try PostgresLocation(url: url) }
            guard case let .badLocation(m)? = e else {
                Issue.record("\(url): expected .badLocation, got \(String(describing: e))")
                continue
            }
            #expect(!m.contains("pw"), "\(m)")
        }
    }

    @Test(.enabled(if: canRun, "needs VMSERIAL_TEST_POSTGRES, root and openssl"))
    func requireAgainstAServerWithoutTLS() throws {
        // The shared test cluster runs without ssl.
        let url = try Backend.freshPostgresLocation() + "&sslmode=require"
        let e = #expect(throws: RegistryError.self) { try RegistryFactory.open(url) }
        guard case let .storage(m)? = e else {
            Issue.record("expected .storage, got \(String(describing: e))")
            return
        }
        #expect(m.contains("does not offer TLS") && m.contains("sslmode=require"), "\(m)")
        // prefer (the default) still connects to it, in plain.
        let plain = try Backend.freshPostgresLocation()
        _ = try RegistryFactory.open(plain)
        Backend.dropSchema(of: plain)
    }

    @Test(.enabled(if: canRun, "needs VMSERIAL_TEST_POSTGRES, root and openssl"))
    func verifyFull() throws {
        let c = try TLSCluster()
        defer { c.stop() }
        let base = "postgres://postgres:p%40ss%3Aw%2Frd@localhost:\(c.port)/postgres?schema=t_tls"
        // The right CA and host name: connected, over TLS.
        let reg = try RegistryFactory.open(base + "&sslmode=verify-full&sslrootcert=\(c.dir)/ca.pem")
        #expect(reg.path.contains("sslmode=verify-full"))
        _ = try reg.assignments()
        // A CA that did not sign the server's certificate.
        let wrongCA = #expect(throws: RegistryError.self) { try RegistryFactory.open(base + "&sslmode=verify-full&sslrootcert=\(c.dir)/other-ca.pem") }
        guard case let .storage(m)? = wrongCA else {
            Issue.record("expected .storage, got \(String(describing: wrongCA))")
            return
        }
        #expect(m.contains("TLS") && m.contains("sslrootcert"), "\(m)")
        #expect(!m.contains("w/rd") && !m.contains("p@ss"), "\(m)")
        // require does not check the certificate (libpq's meaning): it connects with the other CA too.
        _ = try RegistryFactory.open(base + "&sslmode=require&sslrootcert=\(c.dir)/other-ca.pem")
        // An IP address cannot be checked against the certificate's name: refused before connecting.
        #expect(throws: RegistryError.self) {
            try RegistryFactory.open("postgres://postgres@127.0.0.1:\(c.port)/postgres?sslmode=verify-full&sslrootcert=\(c.dir)/ca.pem")
        }
        // A certificate for another host name, same CA: refused.
        try c.useCertificate(for: "db.wrong.example")
        let wrongHost = #expect(throws: RegistryError.self) { try RegistryFactory.open(base + "&sslmode=verify-full&sslrootcert=\(c.dir)/ca.pem") }
        guard case let .storage(h)? = wrongHost else {
            Issue.record("expected .storage, got \(String(describing: wrongHost))")
            return
        }
        #expect(h.contains("TLS"), "\(h)")
    }
}

/// A PostgreSQL cluster of its own with ssl on, a CA made by openssl and a server certificate
/// for `localhost` signed by it; a second CA that signed nothing of this server.
final class TLSCluster {
    let dir: String
    let port: Int
    let bin: String

    init() throws {
        dir = "/tmp/vmserial-tls-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        chmod(dir, 0o755)
        bin = try #require(try FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }.last.map { "/usr/lib/postgresql/\($0)/bin" })
        port = Int.random(in: 20000...29999)
        for ca in ["ca", "other-ca"] {
            try sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=vmserial test \(ca)' -keyout \(dir)/\(ca).key -out \(dir)/\(ca).pem")
        }
        try makeServerCertificate(for: "localhost")
        // The server writes its log and socket here; root still writes the certificates.
        try sh("chown postgres: \(dir) && mkdir -m 700 \(dir)/data && chown postgres: \(dir)/data")
        try sh("runuser -u postgres -- \(bin)/initdb -D \(dir)/data --username=postgres --auth=trust --no-sync >\(dir)/initdb.log 2>&1")
        try sh("runuser -u postgres -- \(bin)/pg_ctl -D \(dir)/data -l \(dir)/server.log -w -t 60 -o \"-p \(port) -k \(dir) -c listen_addresses=localhost -c ssl=on -c ssl_cert_file=\(dir)/server.crt -c ssl_key_file=\(dir)/server.key\" start >/dev/null 2>&1 </dev/null")
    }

    func makeServerCertificate(for host: String) throws {
        try "subjectAltName=DNS:\(host)\n".write(toFile: "\(dir)/san.ext", atomically: true, encoding: .utf8)
        try sh("openssl req -newkey rsa:2048 -nodes -subj '/CN=\(host)' -keyout \(dir)/server.key -out \(dir)/server.csr")
        try sh("openssl x509 -req -in \(dir)/server.csr -CA \(dir)/ca.pem -CAkey \(dir)/ca.key -CAcreateserial -days 2 -extfile \(dir)/san.ext -out \(dir)/server.crt")
        try sh("chown postgres: \(dir)/server.key \(dir)/server.crt && chmod 600 \(dir)/server.key")
    }

    /// A new server certificate (same CA) naming `host`, taken by the running server (reload).
    func useCertificate(for host: String) throws {
        try makeServerCertificate(for: host)
        try sh("runuser -u postgres -- \(bin)/pg_ctl -D \(dir)/data reload >/dev/null")
        Thread.sleep(forTimeInterval: 1)
    }

    func stop() {
        _ = try? sh("runuser -u postgres -- \(bin)/pg_ctl -D \(dir)/data -m immediate -w stop >/dev/null 2>&1")
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Runs a shell command through posix_spawn and waitpid, output to a file: the server it may
    /// start keeps every inherited descriptor open, so a pipe (or Foundation's Process) would
    /// never see the command end.
    @discardableResult
    func sh(_ command: String) throws -> String {
        let log = "\(dir)/sh.log"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let args = ["/bin/sh", "-c", command]
        let cArgs = args.map { strdup($0) } + [nil]
        let cEnv = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        try #require(posix_spawn(&pid, "/bin/sh", &actions, nil, cArgs, cEnv) == 0, "posix_spawn /bin/sh")
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        try #require(status == 0, "\(command): \(text)")
        return text
    }
}
