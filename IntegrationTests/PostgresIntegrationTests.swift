import DomainXML
import Foundation
import SerialPolicy
import SerialRegistry
import Testing
import ProcessRunner

/// The registry on PostgreSQL (the private cluster `make test` starts, VMSERIAL_TEST_POSTGRES)
/// and on SQLite, driven through the vmserial binary: concurrent launches from several
/// processes, export and import between the backends, `registry check`, a server that is gone.
extension Integration {
@Suite
final class PostgresIntegrationTests {
    let box: Sandbox
    /// Schemas made by this test, dropped afterwards.
    private var schemas: [String] = []

    init() throws { box = try Sandbox() }

    deinit {
        for url in schemas {
            if let l = try? PostgresLocation(url: url), let schema = l.schema {
                var base = l
                base.schema = nil
                _ = try? run("/usr/bin/psql", [base.display, "-qc", "DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE"])
            }
        }
    }

    /// `make test` starts a private PostgreSQL cluster and sets VMSERIAL_TEST_POSTGRES; without
    /// it the postgres cases are skipped, visibly (`make integration` does not start one).
    static let postgresConfigured = !(ProcessInfo.processInfo.environment["VMSERIAL_TEST_POSTGRES"] ?? "").isEmpty
    static let needsPostgres = "VMSERIAL_TEST_POSTGRES is not set: PostgreSQL was NOT tested; run `make test`, or `scripts/test-postgres.sh run swift test …`"

    enum Store: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case sqlite, postgres
        var testDescription: String { rawValue }
        static var allCases: [Store] { PostgresIntegrationTests.postgresConfigured ? [.sqlite, .postgres] : [.sqlite] }
    }

    /// A fresh, empty registry location of the given kind.
    func location(_ store: Store) throws -> String {
        switch store {
        case .sqlite:
            return "sqlite:\(box.dir)/registry-\(UUID().uuidString.prefix(8)).sqlite"
        case .postgres:
            guard let url = ProcessInfo.processInfo.environment["VMSERIAL_TEST_POSTGRES"], !url.isEmpty else {
                Issue.record("VMSERIAL_TEST_POSTGRES is not set: run through `make test` (it starts a private PostgreSQL cluster), or `scripts/test-postgres.sh run swift test …`")
                throw CancellationError()
            }
            let l = url + "?schema=it_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            schemas.append(l)
            return l
        }
    }

    func vmserial(_ registry: String, _ args: [String]) throws -> RunResult {
        try run(try vmserialBinary(), args, env: ["VMSERIAL_REGISTRY": registry])
    }

    /// Writes `count` three-disk specs named PREFIX-i.
    func specs(_ prefix: String, count: Int) throws -> [String] {
        try box.disk("d.qcow2")
        return try (0..<count).map { i in
            let vm = "\(prefix)-\(i)"
            let spec = """
            {"name":"\(vm)","accel":"tcg","boot":{"kernel":"\(packageRoot)/images/build/probe-vmlinuz"},
             "disks":[{"name":"a","source":"d.qcow2","bus":"virtio"},{"name":"b","source":"d.qcow2","bus":"scsi"},
                      {"name":"c","source":"d.qcow2","bus":"sata"}]}
            """
            let path = "\(box.dir)/\(vm).json"
            try spec.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    static let env = ProcessInfo.processInfo.environment
    /// The issue's load: 8 processes × 250 launches × 3 disks = 6 000 serials per backend
    /// (about 80 s on SQLite and 120 s on PostgreSQL on 2 cores). VMSERIAL_STRESS_PROCESSES /
    /// VMSERIAL_STRESS_LAUNCHES change it for a quick local run.
    static let processes = env["VMSERIAL_STRESS_PROCESSES"].flatMap(Int.init) ?? 8
    static let launches = env["VMSERIAL_STRESS_LAUNCHES"].flatMap(Int.init) ?? 250

    @Test("N processes × M launches with 3 disks each, one registry: no serial twice, no lost assignment, every process exits 0",
          arguments: Store.allCases)
    func concurrentLaunches(store: Store) throws {
        let registry = try location(store)
        let workers = Self.processes, perWorker = Self.launches
        // The schema first, so the workers measure allocation, not a race to create tables.
        #expect(try vmserial(registry, ["registry", "import", try emptyExport()]).status == 0)
        var lists: [[String]] = []
        for w in 0..<workers { lists.append(try specs("pc-\(store.rawValue)-\(w)", count: perWorker)) }
        let binary = try vmserialBinary()
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        let started = Date()
        for w in 0..<workers {
            let mine = lists[w]
            group.enter()
            Thread {
                // One process per worker launching its VMs in turn, as a host's own vmserial would.
                let script = mine.map { "\(binary) launch '\($0)' --no-start --connect test:///default >/dev/null || exit 1" }.joined(separator: "\n")
                let r = try? run("/bin/sh", ["-c", script], env: ["VMSERIAL_REGISTRY": registry])
                if r?.status != 0 { failures.mutate { $0.append("worker \(w): \(r?.stderr ?? "did not run")") } }
                group.leave()
            }.start()
        }
        group.wait()
        let seconds = Date().timeIntervalSince(started)
        print("concurrency \(store.rawValue): \(workers) processes × \(perWorker) launches × 3 disks in \(String(format: "%.1f", seconds)) s (\(String(format: "%.1f", Double(workers * perWorker) / seconds)) launches/s)")
        #expect(failures.value.isEmpty, "\(failures.value.joined(separator: "\n"))")

        let out = try vmserial(registry, ["serials", "--json"])
        let all = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]], "\(out.all)")
        #expect(all.count == workers * perWorker)
        let serials = all.flatMap { $0.disks.compactMap { $0["serial"] as? String } }
        #expect(serials.count == workers * perWorker * 3, "no lost assignment")
        #expect(Set(serials).count == serials.count, "no serial handed out twice")
        #expect(serials.allSatisfy(SerialGenerator.looksGenerated))
        #expect(Set(all.compactMap { $0["uuid"] as? String }).count == workers * perWorker)
        // Every disk here is one file (d.qcow2) under 3 × N volume names: that is the only finding.
        let check = try vmserial(registry, ["registry", "check"])
        let findings = check.stdout.split(separator: "\n")
        #expect(check.status == 1)
        #expect(findings.count == 1 && findings.allSatisfy { $0.hasPrefix("path \(box.dir)/d.qcow2 is bound to \(workers * perWorker * 3) volumes") },
                "\(check.all.prefix(2000))")
    }

    @Test("8 processes whose first launch finds no registry at all: one creates it, none fails, 8 VMs recorded",
          arguments: Store.allCases)
    func concurrentFirstOpen(store: Store) throws {
        let binary = try vmserialBinary()
        var specs: [String] = []
        for w in 0..<8 { specs += try self.specs("first-\(store.rawValue)-\(w)", count: 1) }
        // The race is a matter of microseconds: several rounds, each on a registry of its own.
        for _ in 0..<10 { try firstOpenRound(registry: try location(store), specs: specs, binary: binary) }
    }

    func firstOpenRound(registry: String, specs: [String], binary: String) throws {
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        for spec in specs {
            group.enter()
            Thread {
                let r = try? run(binary, ["launch", spec, "--no-start", "--connect", "test:///default"], env: ["VMSERIAL_REGISTRY": registry])
                if r?.status != 0 { failures.mutate { $0.append("\(spec): \(r?.all ?? "did not run")") } }
                group.leave()
            }.start()
        }
        group.wait()
        #expect(failures.value.isEmpty, "\(failures.value.joined(separator: "\n"))")
        let out = try vmserial(registry, ["serials", "--json"])
        let all = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]], "\(out.all)")
        #expect(all.count == 8)
    }

    /// A file holding an empty export: importing it creates the schema and nothing else.
    func emptyExport() throws -> String {
        let path = "\(box.dir)/empty-\(UUID().uuidString.prefix(8)).json"
        try #"{"format":1}"#.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("export from SQLite, import into PostgreSQL and back: the same VMs, UUIDs and serials; a second import of a conflicting file is refused and names the conflict", .enabled(if: PostgresIntegrationTests.postgresConfigured, Comment(rawValue: PostgresIntegrationTests.needsPostgres)))
    func exportAndImportAcrossBackends() throws {
        let sqlite = try location(.sqlite), postgres = try location(.postgres), back = try location(.sqlite)
        for spec in try specs("mv", count: 3) {
            let r = try vmserial(sqlite, ["launch", spec, "--no-start", "--connect", "test:///default"])
            #expect(r.status == 0, "\(r.all)")
        }
        let exported = try vmserial(sqlite, ["registry", "export"])
        #expect(exported.status == 0, "\(exported.stderr)")
        let file = "\(box.dir)/export.json"
        try exported.stdout.write(toFile: file, atomically: true, encoding: .utf8)

        let imported = try vmserial(postgres, ["registry", "import", file])
        #expect(imported.status == 0, "\(imported.all)")
        #expect(imported.stderr.contains("imported 3 VMs"))
        let original = try vmserial(sqlite, ["serials", "--json"]).stdout
        #expect(try vmserial(postgres, ["serials", "--json"]).stdout == original)
        // Importing the same file again changes nothing and is not a conflict.
        #expect(try vmserial(postgres, ["registry", "import", file]).status == 0)
        #expect(try vmserial(postgres, ["serials", "--json"]).stdout == original)

        // …and back into a new SQLite file, from PostgreSQL's export.
        let again = try vmserial(postgres, ["registry", "export"])
        try again.stdout.write(toFile: "\(box.dir)/again.json", atomically: true, encoding: .utf8)
        #expect(try vmserial(back, ["registry", "import", "\(box.dir)/again.json"]).status == 0)
        #expect(try vmserial(back, ["serials", "--json"]).stdout == original)

        // A registry where mv-0 has another UUID: the import is refused, names it, writes nothing.
        let other = try location(.postgres)
        let spec = "\(box.dir)/mv-0.json"
        #expect(try vmserial(other, ["launch", spec, "--no-start", "--connect", "test:///default"]).status == 0)
        let before = try vmserial(other, ["serials", "--json"]).stdout
        let refused = try vmserial(other, ["registry", "import", file])
        #expect(refused.status == 2, "\(refused.all)")
        #expect(refused.stderr.contains("VM mv-0 has UUID"))
        #expect(refused.stderr.contains("nothing was written"))
        #expect(try vmserial(other, ["serials", "--json"]).stdout == before)
    }

    @Test("a launch killed (SIGKILL) at any moment leaves no half-written VM; running the launches again completes them",
          arguments: Store.allCases)
    func killedLaunchesLeaveTheRegistryConsistent(store: Store) throws {
        let registry = try location(store)
        #expect(try vmserial(registry, ["registry", "import", try emptyExport()]).status == 0)
        let binary = try vmserialBinary()
        let list = try specs("kill-\(store.rawValue)", count: 12)
        var env = ProcessInfo.processInfo.environment
        env["VMSERIAL_REGISTRY"] = registry
        for (i, spec) in list.enumerated() {
            let p = try Command(binary, ["launch", spec, "--no-start", "--connect", "test:///default"], environment: env,
                                standardOutput: .discard, standardError: .discard).start()
            // From before the registry is open to after it committed, over the twelve launches.
            usleep(useconds_t(i * 15_000))
            p.signal(SIGKILL)
            p.wait()
        }
        // Whatever was recorded is whole: every VM the registry holds has its three disks.
        let partial = try #require(try JSONSerialization.jsonObject(with: Data(vmserial(registry, ["serials", "--json"]).stdout.utf8)) as? [[String: Any]])
        #expect(partial.allSatisfy { $0.disks.count == 3 && $0.disks.allSatisfy { $0["serial"] is String } })
        for spec in list {
            let r = try vmserial(registry, ["launch", spec, "--no-start", "--connect", "test:///default"])
            #expect(r.status == 0, "\(r.all)")
        }
        let all = try #require(try JSONSerialization.jsonObject(with: Data(vmserial(registry, ["serials", "--json"]).stdout.utf8)) as? [[String: Any]])
        #expect(all.count == list.count)
        let serials = all.flatMap { $0.disks.compactMap { $0["serial"] as? String } }
        #expect(serials.count == list.count * 3)
        #expect(Set(serials).count == serials.count)
        // What survived a kill kept its identity: the re-run gave those VMs the same serials.
        for vm in partial {
            let after = all.first { $0["domain"] as? String == vm["domain"] as? String }
            #expect(after?["uuid"] as? String == vm["uuid"] as? String)
            #expect(after?.disks.compactMap { $0["serial"] as? String } == vm.disks.compactMap { $0["serial"] as? String })
        }
        print("SIGKILL \(store.rawValue): \(partial.count) of \(list.count) launches had committed before their kill")
    }

    @Test("registry check --connect finds a domain whose disk serial disagrees with the registry, and exits 1", .enabled(if: PostgresIntegrationTests.postgresConfigured, Comment(rawValue: PostgresIntegrationTests.needsPostgres)))
    func checkFindsADisagreeingDomain() throws {
        let registry = try location(.postgres)
        let vm = box.name("pgcheck")
        let spec = try box.spec(vm, disks: [.init(name: "root", bus: "virtio"), .init(name: "data", bus: "scsi")])
        let launched = try vmserial(registry, ["launch", spec, "--no-start", "--connect", libvirtURI])
        #expect(launched.status == 0, "\(launched.all)")
        let clean = try vmserial(registry, ["registry", "check", "--connect", libvirtURI])
        #expect(clean.status == 0, "\(clean.all)")
        // Someone edits the domain behind vmserial's back.
        var d = try box.definition(vm)
        let i = try #require(d.devices.disks.firstIndex { $0.targetDev == "vda" })
        let registered = d.devices.disks[i].serial
        d.devices.disks[i].serial = "EDITED-BY-HAND"
        _ = try box.connection.defineDomain(xml: d.xml())
        let found = try vmserial(registry, ["registry", "check", "--connect", libvirtURI])
        #expect(found.status == 1, "\(found.all)")
        #expect(found.stdout.contains("domain \(vm) disk vda"))
        #expect(found.stdout.contains("EDITED-BY-HAND"))
        #expect(found.stdout.contains(registered ?? "?"))
    }

    @Test("a dry run refuses a user serial another VM's volume holds, with the launch's own error, and writes nothing",
          arguments: Store.allCases)
    func dryRunRefusesASerialHeldByAnotherVM(store: Store) throws {
        let registry = try location(store)
        let a = box.name("held-a"), b = box.name("held-b")
        let specA = try box.spec(a, disks: [.init(name: "root", bus: "virtio", serial: "HELD-0001")])
        let launched = try vmserial(registry, ["launch", specA, "--no-start", "--connect", libvirtURI])
        #expect(launched.status == 0, "\(launched.all)")
        // b's second disk is new and claims a's serial.
        let specB = try box.spec(b, disks: [.init(name: "root", bus: "virtio"), .init(name: "data", bus: "scsi", serial: "HELD-0001")])
        let before = try vmserial(registry, ["registry", "export"]).stdout

        let dry = try vmserial(registry, ["launch", specB, "--dry-run", "--connect", libvirtURI])
        #expect(dry.status == 2, "\(dry.all)")
        #expect(dry.stdout.isEmpty, "no XML for a launch that would fail")
        #expect(dry.stderr.contains("serial HELD-0001 for volume \(b)/data is already held by volume \(a)/root"), "\(dry.stderr)")
        let real = try vmserial(registry, ["launch", specB, "--no-start", "--connect", libvirtURI])
        #expect(real.status == 2, "\(real.all)")
        #expect(dry.stderr == real.stderr, "the dry run and the launch refuse alike")
        #expect(!box.exists(b))
        #expect(try vmserial(registry, ["registry", "export"]).stdout == before, "neither wrote anything")
    }

    @Test("a PostgreSQL server that does not answer: launch fails with exit 1 naming host:port and the fix, and defines nothing")
    func serverGone() throws {
        let vm = box.name("pggone")
        let spec = try box.spec(vm, disks: [.init(name: "root", bus: "virtio")])
        let r = try vmserial("postgres://vmserial@127.0.0.1:1/fleet", ["launch", spec, "--no-start", "--connect", libvirtURI])
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stderr.contains("127.0.0.1:1"))
        #expect(r.stderr.contains("start the server"))
        #expect(!box.exists(vm))
    }
}
}

extension Integration {
/// The PostgreSQL server going away: a clear error, nothing defined in libvirt, and the
/// next launch after the server is back succeeds with the identities it had.
@Suite
final class PostgresOutageIntegrationTests {
    let box: Sandbox
    let pgDir: String
    /// Below Linux's ephemeral range (32768-60999): a port in it may be the local end of one of the
    /// thousands of client connections earlier tests made (seen: "Address already in use" on 56276).
    let port = freeLoopbackPort(in: 20000...29999)

    init() throws {
        box = try Sandbox()
        pgDir = box.dir + "/pg"
    }

    deinit { _ = try? cluster("stop") }

    /// scripts/test-postgres.sh with this test's own folder and port, through posix_spawn and
    /// waitpid: Foundation's Process never sees this script end, because it leaves a daemon
    /// (the server) behind. Output goes to a file, never a pipe the server would keep open.
    @discardableResult
    func cluster(_ verb: String) throws -> (status: Int32, output: String) {
        let log = box.dir + "/pg-\(verb).log"
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var env = ProcessInfo.processInfo.environment
        env["VMSERIAL_PG_DIR"] = pgDir
        env["VMSERIAL_PG_PORT"] = "\(port)"
        let args = ["/bin/bash", "\(packageRoot)/scripts/test-postgres.sh", verb]
        let cArgs = args.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/bash", &actions, nil, cArgs, cEnv)
        try #require(rc == 0, "posix_spawn failed: \(rc)")
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// psql on the test's cluster, for the test's own statements.
    @discardableResult
    func psql(_ url: String, _ sql: String) throws -> String {
        let r = try run("/usr/bin/psql", [url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        try #require(r.status == 0, "psql: \(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops the cluster at once, as a crash or `kill -9` of the server would: no checkpoint, and
    /// every backend killed mid-statement (scripts/test-postgres.sh stops it politely).
    func crashCluster() throws {
        let bin = try #require(try FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }.last.map { "/usr/lib/postgresql/\($0)/bin/pg_ctl" })
        // test-postgres.sh moves the cluster under /tmp when the postgres user cannot reach pgDir.
        let data = try #require(["\(pgDir)/data", "/tmp/vmserial-pg-\(port)/data"].first { FileManager.default.fileExists(atPath: "\($0)/PG_VERSION") })
        let args = ["-D", data, "-m", "immediate", "-w", "stop"]
        let r = geteuid() == 0 ? try run("/usr/sbin/runuser", ["-u", "postgres", "--", bin] + args) : try run(bin, args)
        try #require(r.status == 0, "pg_ctl stop -m immediate: \(r.all)")
    }

    /// Starts the test's private cluster and returns its URL.
    func startCluster() throws -> String {
        let started = try cluster("start")
        try #require(started.status == 0, "cannot start a private PostgreSQL: \(started.output)")
        let url = try #require(started.output.split(separator: "\n").last.map(String.init), "no URL printed")
        try #require(url.hasPrefix("postgres://"), "unexpected output: \(started.output)")
        return url
    }

    /// Makes every COMMIT of a transaction that wrote to `table` wait (a deferred trigger that
    /// sleeps), with nothing in vmserial made for tests.
    func holdCommits(_ url: String, writingTo table: String) throws {
        try psql(url, """
            CREATE FUNCTION it_hold() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(3600); RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER it_hold AFTER INSERT OR UPDATE ON \(table)
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION it_hold();
            """)
    }

    func releaseCommits(_ url: String, writingTo table: String) throws {
        try psql(url, "DROP TRIGGER it_hold ON \(table); DROP FUNCTION it_hold()")
    }

    /// Whether a session waits in COMMIT on `holdCommits`' trigger.
    func commitHeld(_ url: String) throws -> Bool {
        try psql(url, "SELECT count(*) FROM pg_stat_activity WHERE query = 'COMMIT' AND wait_event = 'PgSleep'") == "1"
    }

    /// Runs vmserial in the background, its standard error into a file of the sandbox.
    func startInBackground(_ binary: String, _ args: [String], env: [String: String], name: String) throws -> (RunningProcess, errPath: String) {
        let errPath = box.dir + "/\(name).err"
        let p = try Command(binary, args, environment: Command.environment(adding: env),
                            standardOutput: .discard, standardError: .file(errPath)).start()
        return (p, errPath)
    }

    /// Waits for `condition`; false when `deadline` seconds pass first. A guard against hanging,
    /// not a measurement: the tests assert what happened, never how long it took.
    func waitFor(upTo deadline: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(deadline)
        while Date() < end {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return try condition()
    }

    /// Where the launch is held inside its registry transaction while the server is stopped.
    enum Pause: String, CaseIterable, CustomTestStringConvertible, Sendable {
        /// Before anything is allocated: waiting for the registry's advisory lock, which the test holds.
        case waitingForTheRegistryLock
        /// After libvirt defined the domain: in COMMIT, where a deferred trigger the test added sleeps.
        case committingAfterTheDefinition
        var testDescription: String { rawValue }
    }

    @Test("the server stopped while a launch is inside its registry transaction: the launch fails naming the database, libvirt keeps nothing, the registry nothing; back again, the launch succeeds",
          arguments: Pause.allCases)
    func serverStopsDuringTheTransaction(pause: Pause) throws {
        let url = try startCluster()
        let env = ["VMSERIAL_REGISTRY": url]
        let binary = try vmserialBinary()

        // A launch before the outage: it creates the schema, and its identity must survive.
        let a = box.name("pgmid-a"), b = box.name("pgmid-b")
        let first = try run(binary, ["launch", try box.spec(a, disks: [.init(name: "root", bus: "virtio")]), "--no-start", "--connect", libvirtURI], env: env)
        try #require(first.status == 0, "\(first.all)")
        let serialA = try box.definition(a).devices.disks.first?.serial

        // Hold the launch at the pause, with nothing in vmserial made for tests.
        var holder: RunningProcess?
        defer { if let holder, holder.isRunning { holder.terminate(); holder.wait() } }
        switch pause {
        case .waitingForTheRegistryLock:
            holder = try Command("/usr/bin/psql", [url, "-c", "SELECT pg_advisory_lock(hashtext('vmserial:public'))", "-c", "SELECT pg_sleep(3600)"],
                                 standardOutput: .discard, standardError: .discard).start()
            let locked = try waitFor(upTo: 60) {
                try psql(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") == "1"
            }
            try #require(locked, "the test's psql never took the registry lock")
        case .committingAfterTheDefinition:
            try holdCommits(url, writingTo: "instance")
        }

        let specB = try box.spec(b, disks: [.init(name: "root", bus: "virtio"), .init(name: "data", bus: "scsi")])
        let (launch, errPath) = try startInBackground(binary, ["launch", specB, "--no-start", "--connect", libvirtURI], env: env, name: "launch-b")
        defer { if launch.isRunning { launch.terminate(); launch.wait() } }

        let paused = try waitFor(upTo: 120) {
            guard launch.isRunning else { return true }
            switch pause {
            case .waitingForTheRegistryLock:
                return try psql(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") == "1"
            case .committingAfterTheDefinition:
                return try commitHeld(url)
            }
        }
        try #require(paused && launch.isRunning,
                     "the launch never paused at \(pause.rawValue): \((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")")
        // Held before the allocation nothing is defined yet; held in COMMIT the domain is, and must go.
        #expect(box.exists(b) == (pause == .committingAfterTheDefinition))

        try crashCluster()
        let exit = launch.wait(timeout: .seconds(120))
        try #require(exit != nil, "the launch hung after the server went away")
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        #expect(exit?.status == 1, "\(stderr)")
        let database = "postgres://postgres@127.0.0.1:\(port)/vmserial_test"
        #expect(stderr.contains("the PostgreSQL server of \(database) went away"), "\(stderr)")
        #expect(stderr.contains(pause == .committingAfterTheDefinition ? "may or may not have recorded" : "nothing was recorded"), "\(stderr)")
        #expect(stderr.contains("once the server is back"), "\(stderr)")
        #expect(!box.exists(b), "libvirt keeps nothing of the launch")
        if pause == .committingAfterTheDefinition {
            #expect(stderr.contains("libvirt was put back: \(b) is not defined"), "\(stderr)")
        }
        if let holder { holder.wait() }

        try #require(try cluster("start").status == 0)
        if pause == .committingAfterTheDefinition {
            try releaseCommits(url, writingTo: "instance")
        }
        // The trigger held the commit back before its commit record: the registry has nothing of b.
        let serials = try run(binary, ["serials", "--json"], env: env)
        #expect(serials.status == 0, "\(serials.all)")
        #expect(!serials.stdout.contains(b), "\(serials.stdout)")
        let back = try run(binary, ["launch", specB, "--no-start", "--connect", libvirtURI], env: env)
        #expect(back.status == 0, "\(back.all)")
        #expect(box.exists(b))
        let again = try run(binary, ["launch", box.dir + "/\(a).json", "--no-start", "--connect", libvirtURI], env: env)
        #expect(again.status == 0, "\(again.all)")
        #expect(try box.definition(a).devices.disks.first?.serial == serialA, "the registry kept A's identity across the outage")
    }

    @Test("the server stopped while a migration commits: the domain uses its unchanged source again, the target is kept because the registry may name it, and following the message completes the move")
    func serverStopsWhileAMigrationCommits() throws {
        let url = try startCluster()
        let env = ["VMSERIAL_REGISTRY": url]
        let binary = try vmserialBinary()

        let vm = box.name("pgmove")
        let first = try run(binary, ["launch", try box.spec(vm, disks: [.init(name: "root", bus: "virtio")]), "--no-start", "--connect", libvirtURI], env: env)
        try #require(first.status == 0, "\(first.all)")
        let source = try #require(try box.definition(vm).devices.disks.first?.source)
        let serial = try box.definition(vm).devices.disks.first?.serial
        let before = try box.sha256(source)
        // COMMIT waits in a deferred trigger on the volume row the move updates.
        try holdCommits(url, writingTo: "volume")

        let target = box.dir + "/moved-root.qcow2"
        let (migrate, errPath) = try startInBackground(binary, ["migrate", "--domain", vm, "--disk", "root", "--to", target, "--connect", libvirtURI],
                                                       env: env, name: "migrate")
        defer { if migrate.isRunning { migrate.terminate(); migrate.wait() } }
        let paused = try waitFor(upTo: 120) {
            guard migrate.isRunning else { return true }
            return try commitHeld(url)
        }
        try #require(paused && migrate.isRunning, "the migration never paused in COMMIT: \((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")")
        // Inside the transaction libvirt already names the target.
        #expect(try box.definition(vm).devices.disks.first?.source == target)

        try crashCluster()
        let exit = migrate.wait(timeout: .seconds(120))
        try #require(exit != nil, "the migration hung after the server went away")
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        #expect(exit?.status == 1, "\(stderr)")
        #expect(stderr.contains("may or may not have recorded the move"), "\(stderr)")
        #expect(stderr.contains("\(target) holds the same data and is kept"), "\(stderr)")
        #expect(try box.definition(vm).devices.disks.first?.source == source, "the domain uses its source again")
        #expect(try box.definition(vm).devices.disks.first?.serial == serial)
        #expect(FileManager.default.fileExists(atPath: target), "the target is kept: the registry may name it")
        #expect(try box.sha256(source) == before, "the source is untouched")

        // Back again: the trigger held COMMIT before its record, so the registry has the source; as
        // the message says, delete the target and migrate again.
        try #require(try cluster("start").status == 0)
        try releaseCommits(url, writingTo: "volume")
        let shown = try run(binary, ["serials", "--domain", vm, "--json"], env: env)
        #expect(shown.status == 0, "\(shown.all)")
        #expect(try box.json(shown).disk("root")?["source"] as? String == source, "\(shown.all)")
        try FileManager.default.removeItem(atPath: target)
        let again = try run(binary, ["migrate", "--domain", vm, "--disk", "root", "--to", target, "--connect", libvirtURI], env: env)
        #expect(again.status == 0, "\(again.all)")
        #expect(try box.definition(vm).devices.disks.first?.source == target)
        #expect(try box.definition(vm).devices.disks.first?.serial == serial)
    }

    @Test("the server gone mid-way: launch fails clearly and defines nothing; back again, launch succeeds")
    func serverGoesAway() throws {
        let url = try startCluster()
        let env = ["VMSERIAL_REGISTRY": url]

        let a = box.name("pg-a"), b = box.name("pg-b")
        let first = try run(try vmserialBinary(), ["launch", try box.spec(a, disks: [.init(name: "root", bus: "virtio")]), "--no-start"], env: env)
        #expect(first.status == 0, "\(first.all)")
        let serialA = try box.definition(a).devices.disks.first?.serial

        try #require(try cluster("stop").status == 0)
        let specB = try box.spec(b, disks: [.init(name: "root", bus: "virtio")])
        let down = try run(try vmserialBinary(), ["launch", specB, "--no-start"], env: env)
        #expect(down.status == 1, "\(down.all)")
        #expect(down.stderr.contains("PostgreSQL") && down.stderr.contains("127.0.0.1:\(port)"), "\(down.stderr)")
        #expect(!box.exists(b), "nothing defined while the registry is gone")

        try #require(try cluster("start").status == 0)
        let back = try run(try vmserialBinary(), ["launch", specB, "--no-start"], env: env)
        #expect(back.status == 0, "\(back.all)")
        #expect(box.exists(b))
        let again = try run(try vmserialBinary(), ["launch", box.dir + "/\(a).json", "--no-start"], env: env)
        #expect(again.status == 0, "\(again.all)")
        #expect(try box.definition(a).devices.disks.first?.serial == serialA, "the registry kept A's identity across the outage")
    }
}
}

extension Integration {
/// `vmserial launch` reads its plain command lines without ArgumentParser (start-up time, see
/// `VMSerial.parseLaunchAlone`): every form must mean what ArgumentParser makes of it, and
/// anything else must still get ArgumentParser's messages. It sits here, next to the registry
/// tests whose `--registry` it checks, because the launch tests' file belongs to another change.
@Suite
final class LaunchCommandLineIntegrationTests {
    let box: Sandbox
    init() throws { box = try Sandbox() }

    enum Form: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case specFirst, optionsFirstWithEquals, specInTheMiddle, dryRun, table
        var testDescription: String { rawValue }

        /// The arguments after `launch`, for a spec and a registry path.
        func arguments(spec: String, registry: String) -> [String] {
            switch self {
            case .specFirst: [spec, "--no-start", "--json", "--connect", "test:///default", "--registry", registry]
            case .optionsFirstWithEquals: ["--registry=\(registry)", "--json", "--connect=test:///default", "--no-start", spec]
            case .specInTheMiddle: ["--json", "--no-start", spec, "--registry", registry, "--connect", "test:///default"]
            case .dryRun: [spec, "--dry-run", "--connect=test:///default", "--registry=\(registry)"]
            case .table: ["--connect", "test:///default", spec, "--registry", registry, "--no-start"]
            }
        }
    }

    @Test("every plain form of a launch command line means what it says", arguments: Form.allCases)
    func plainForms(form: Form) throws {
        let vm = box.name("cli")
        let spec = try box.spec(vm, disks: [.init(name: "root", bus: "virtio", serial: "CLI-0001")])
        // VMSERIAL_REGISTRY names another file: only --registry may be used.
        let flagged = box.dir + "/flagged.sqlite", unflagged = box.dir + "/unflagged.sqlite"
        let r = try run(try vmserialBinary(), ["launch"] + form.arguments(spec: spec, registry: flagged),
                        env: ["VMSERIAL_REGISTRY": unflagged, "LIBVIRT_DEFAULT_URI": "qemu:///nowhere"])
        #expect(r.status == 0, "\(r.all)")
        #expect(!FileManager.default.fileExists(atPath: unflagged))
        switch form {
        case .dryRun:
            #expect(r.stdout.hasPrefix("<domain"), "\(r.stdout)")
            #expect(r.stdout.contains("<serial>CLI-0001</serial>"))
            #expect(!FileManager.default.fileExists(atPath: flagged), "a dry run writes no registry")
        case .table:
            #expect(r.stdout.hasPrefix("\(vm): defined, not started on test:///default"), "\(r.stdout)")
            #expect(FileManager.default.fileExists(atPath: flagged))
        case .specFirst, .optionsFirstWithEquals, .specInTheMiddle:
            let json = try box.json(r)
            #expect(json["action"] as? String == "defined")
            #expect(json["started"] as? Bool == false)
            #expect(json["connection"] as? String == "test:///default")
            #expect(FileManager.default.fileExists(atPath: flagged))
        }
    }

    @Test("command lines outside the plain forms get ArgumentParser's own answers")
    func otherForms() throws {
        let spec = try box.spec(box.name("cli-other"), disks: [.init(name: "root", bus: "virtio")])
        let registry = box.dir + "/other.sqlite"
        let help = try run(try vmserialBinary(), ["launch", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: vmserial launch <spec>"), "\(help.all)")
        let missing = try run(try vmserialBinary(), ["launch", spec, "--connect"], env: ["VMSERIAL_REGISTRY": registry])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("Missing value for '--connect <uri>'"), "\(missing.all)")
        let unknown = try run(try vmserialBinary(), ["launch", spec, "--no-strat"], env: ["VMSERIAL_REGISTRY": registry])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("Unknown option '--no-strat'"), "\(unknown.all)")
        let twoSpecs = try run(try vmserialBinary(), ["launch", spec, spec, "--connect", "test:///default"], env: ["VMSERIAL_REGISTRY": registry])
        #expect(twoSpecs.status == 2)
        #expect(twoSpecs.stderr.contains("Unexpected argument"), "\(twoSpecs.all)")
        #expect(!FileManager.default.fileExists(atPath: registry), "none of them ran a launch")
        // A repeated flag is not a plain form; ArgumentParser accepts it.
        let twice = try run(try vmserialBinary(), ["launch", spec, "--json", "--json", "--no-start", "--connect", "test:///default"],
                            env: ["VMSERIAL_REGISTRY": registry])
        #expect(twice.status == 0, "\(twice.all)")
        #expect(try box.json(twice)["action"] as? String == "defined")
    }
}
}
