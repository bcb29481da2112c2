import DomainXML
import Foundation
import Libvirt
import SerialRegistry
import Testing
import VMSpec
@testable import VMSerialKit

/// `registry check` and `--repair` on libvirt's in-memory driver and a SQLite registry: each
/// disagreement a kill or an edit can leave is named, and the repair settles it without
/// changing a serial, or leaves it with the command that does.
@Suite(.serialized) final class RegistryCheckTests {
    let dir: String
    let connection: Connection
    let registry: SQLiteRegistry
    let name: String

    init() throws {
        dir = NSTemporaryDirectory() + "vmserial-check-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        connection = try Connection(uri: "test:///default")
        registry = try SQLiteRegistry(path: dir + "/registry.sqlite")
        name = "chk-\(UInt32.random(in: 0...UInt32.max))"
    }

    deinit {
        for n in [name, name + "-other"] {
            if let d = try? connection.lookupDomain(name: n) {
                if (try? d.isActive) == true { try? d.destroy() }
                try? d.undefine()
            }
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A VM with two raw disks of 1 MiB, launched (defined, not started) through the registry.
    func launch(_ vm: String? = nil, into reg: (any Registry)? = nil) throws -> Assignment {
        let vm = vm ?? name
        for f in ["vmlinuz", "\(vm)-root.img", "\(vm)-data.img"] where !FileManager.default.fileExists(atPath: dir + "/" + f) {
            #expect(FileManager.default.createFile(atPath: dir + "/" + f, contents: Data(count: 1 << 20)))
        }
        let json = """
        {"name": "\(vm)", "memoryMiB": 64, "vcpus": 1, "accel": "tcg", "boot": {"kernel": "vmlinuz"},
         "disks": [{"name": "root", "source": "\(vm)-root.img", "bus": "virtio", "format": "raw"},
                   {"name": "data", "source": "\(vm)-data.img", "bus": "scsi", "format": "raw"}]}
        """
        let spec = try SpecValidator.resolve(SpecLoader.decode(Data(json.utf8)), specPath: nil, baseDirectory: dir)
        return try Launcher(connection: connection, registry: reg ?? registry).launch(spec, options: LaunchOptions(start: false)).assignment
    }

    func redefine(_ change: (inout DomainDefinition) -> Void) throws {
        var def = try DomainDefinition(xml: connection.lookupDomain(name: name).xmlDesc(inactive: true))
        change(&def)
        _ = try connection.defineDomain(xml: def.xml())
    }

    func mine(_ found: [Disagreement]) -> [Disagreement] { found.filter { $0.vm == name } }

    func serials() throws -> [String?] { try #require(try registry.assignment(vm: name)).disks.map(\.serial) }

    @Test("a domain launched through the registry agrees with it")
    func agreement() throws {
        _ = try launch()
        #expect(mine(try RegistryCheck(registry: registry, connection: connection).disagreements()).isEmpty)
    }

    @Test("a serial the definition lost is named, and the repair puts the registered one back")
    func lostSerial() throws {
        let a = try launch()
        let data = try #require(a.disk(named: "data"))
        let lost = try #require(data.serial)
        try redefine { def in def.devices.disks[def.devices.disks.firstIndex { $0.targetDev == data.target }!].serial = nil }
        let check = RegistryCheck(registry: registry, connection: connection)
        #expect(mine(try check.disagreements()) == [.serial(vm: name, target: data.target, volume: "\(name)/data", libvirt: nil, registry: lost)])
        let outcomes = try check.repair().filter { $0.disagreement.vm == name }
        #expect(outcomes.map(\.result) == [.repaired])
        let def = try DomainDefinition(xml: connection.lookupDomain(name: name).xmlDesc(inactive: true))
        #expect(def.devices.disks.first { $0.targetDev == data.target }?.serial == lost)
        #expect(try serials() == a.disks.map(\.serial), "no serial invented or dropped")
        #expect(mine(try check.disagreements()).isEmpty)
    }

    @Test("a domain that uses a copy of the data: the registry is re-pointed, the serial stays, the move is recorded")
    func repointToCopy() throws {
        let a = try launch()
        let old = try #require(a.disk(named: "root")).source
        let copy = dir + "/moved-root.img"
        try FileManager.default.copyItem(atPath: old, toPath: copy)
        try redefine { def in def.devices.disks[def.devices.disks.firstIndex { $0.targetDev == "vda" }!].source = copy }
        let check = RegistryCheck(registry: registry, connection: connection)
        #expect(mine(try check.disagreements()) == [.source(vm: name, target: "vda", volume: "\(name)/root", libvirt: copy, registry: old)])
        #expect(try check.repair().filter { $0.disagreement.vm == name }.map(\.result) == [.repaired])
        #expect(try registry.assignment(vm: name)?.disk(named: "root")?.source == copy)
        #expect(try registry.moves(volume: .init("\(name)/root")).map(\.newPath) == [copy])
        #expect(try serials() == a.disks.map(\.serial))
        #expect(mine(try check.disagreements()).isEmpty)
    }

    @Test("a file that is not there, or not the same disk, is not taken: the repair says what settles it", arguments: ["missing", "other-size"])
    func unsettled(_ how: String) throws {
        let a = try launch()
        let old = try #require(a.disk(named: "root")).source
        let other = dir + "/other.img"
        if how == "other-size" { #expect(FileManager.default.createFile(atPath: other, contents: Data(count: 3 << 20))) }
        try redefine { def in def.devices.disks[def.devices.disks.firstIndex { $0.targetDev == "vda" }!].source = other }
        let outcomes = try RegistryCheck(registry: registry, connection: connection).repair().filter { $0.disagreement.vm == name }
        try #require(outcomes.count == 1)
        #expect(outcomes[0].result == .unresolved)
        #expect(outcomes[0].command?.contains("vmserial launch") == true, "\(outcomes[0])")
        #expect(try registry.assignment(vm: name)?.disk(named: "root")?.source == old, "the registry keeps its path")
        #expect(try serials() == a.disks.map(\.serial))
    }

    @Test("a domain with vmserial's metadata that this registry does not know is named when asked about, never undefined by the repair")
    func unregistered() throws {
        let elsewhere = try SQLiteRegistry(path: dir + "/other.sqlite")
        _ = try launch(name + "-other", into: elsewhere)
        // Not named in a check of the whole registry (the host may hold other registries' domains)...
        #expect(try !RegistryCheck(registry: registry, connection: connection).disagreements().contains(.unregistered(vm: name + "-other")))
        // ...but named when asked about.
        var check = RegistryCheck(registry: registry, connection: connection)
        check.only = name + "-other"
        #expect(try check.disagreements() == [.unregistered(vm: name + "-other")])
        let outcome = try #require(try check.repair().first { $0.disagreement == .unregistered(vm: name + "-other") })
        #expect(outcome.result == .unresolved)
        #expect(outcome.command?.contains("virsh undefine \(name)-other") == true)
        #expect(try connection.domainExists(name: name + "-other"))
    }
}

/// What the run after a kill finds in the run folders' base, and what it does about it.
@Suite struct StaleStateTests {
    /// A pid that certainly ran and is gone: a child that exited and was reaped.
    static func deadPID() throws -> pid_t {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    /// The stale folder names the short socket folder it made under /tmp; the sweep removes it
    /// whole, so a name that is not one DiskServers makes must be left alone.
    @Test("a dead process's socket folder under /tmp goes; any other path written in its place stays")
    func shortFolderOnlyItsOwn() throws {
        let base = NSTemporaryDirectory() + "vmserial-stale-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        var template = Array("/tmp/vmserial-nbd.XXXXXX".utf8CString)
        let own = String(cString: try #require(mkdtemp(&template)))
        let elsewhere = base + "/precious"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: own) }
        let dead = try Self.deadPID()
        for (label, named) in [("verify-a", own), ("verify-b", elsewhere)] {
            let folder = "\(base)/\(label)-\(dead)-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            try Data(named.utf8).write(to: URL(fileURLWithPath: folder + "/" + DiskServers.shortFolderFile))
        }
        StaleState.sweep(connection: try Connection(uri: "test:///default"), base: base) { _ in }
        #expect(!FileManager.default.fileExists(atPath: own), "the socket folder DiskServers made is removed")
        #expect(FileManager.default.fileExists(atPath: elsewhere), "a path that is not a socket folder of vmserial's stays")
        #expect(StaleState.staleFolders(in: base).isEmpty)
    }

    @Test("the folder of a dead process goes, with the partial copy its migration made; a live process's folder stays")
    func deadMigration() throws {
        let base = NSTemporaryDirectory() + "vmserial-stale-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let target = base + "/partial.qcow2", foreign = base + "/foreign.qcow2"
        let claim = try TargetClaim(target)
        #expect(FileManager.default.createFile(atPath: foreign, contents: Data("not ours".utf8)))
        let dead = try Self.deadPID()
        for (label, path) in [("migrate-a", target), ("migrate-b", foreign)] {
            let folder = "\(base)/\(label)-\(dead)-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            // The foreign file's journal names the claim's inode: the file at that path is not the one it made.
            let j = Journal(kind: .migrate, domain: "nowhere-\(UUID())", disk: "vda", volume: "v", target: path, device: claim.device,
                            inode: claim.inode, live: false)
            try JSONEncoder().encode(j).write(to: URL(fileURLWithPath: folder + "/" + Journal.fileName))
        }
        let live = "\(base)/verify-x-\(getpid())-1"
        try FileManager.default.createDirectory(atPath: live, withIntermediateDirectories: false)
        #expect(StaleState.staleFolders(in: base).count == 2)
        var lines: [String] = []
        StaleState.sweep(connection: try Connection(uri: "test:///default"), base: base) { lines.append($0) }
        #expect(!FileManager.default.fileExists(atPath: target), "the partial copy was removed")
        #expect(FileManager.default.fileExists(atPath: foreign), "a file that is not the one the migration made stays")
        #expect(FileManager.default.fileExists(atPath: live), "a running process's folder stays")
        #expect(StaleState.staleFolders(in: base).isEmpty)
        #expect(lines.count == 2 && lines.allSatisfy { $0.contains("pid \(dead)") }, "\(lines)")
        #expect(lines.contains { $0.contains("removed the partial copy \(target)") }, "\(lines)")
    }

    @Test("a qemu-nbd server a dead guest-mode run left (its socket in that run's folder, or in the short folder it names) is stopped")
    func orphanedDiskServers() throws {
        let base = NSTemporaryDirectory() + "vmserial-stale-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let dead = try Self.deadPID()
        let folder = "\(base)/guest-vm-\(dead)-7"
        var template = Array("/tmp/vmserial-nbd.XXXXXX".utf8CString)
        try #require(mkdtemp(&template) != nil)
        let short = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        try Data(short.utf8).write(to: URL(fileURLWithPath: folder + "/" + DiskServers.shortFolderFile))
        let image = base + "/disk.img"
        #expect(FileManager.default.createFile(atPath: image, contents: Data(count: 1 << 20)))
        var servers: [Process] = []
        for socket in [folder + "/disk0.sock", short + "/disk1.sock"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-nbd")
            p.arguments = ["--persistent", "--shared=0", "--format=raw", "--read-only", "--socket=\(socket)", image]
            try p.run()
            servers.append(p)
            for _ in 0..<200 where !FileManager.default.fileExists(atPath: socket) { Thread.sleep(forTimeInterval: 0.02) }
            try #require(FileManager.default.fileExists(atPath: socket), "qemu-nbd serves \(socket)")
        }
        defer { for p in servers where p.isRunning { p.terminate() } }
        var lines: [String] = []
        StaleState.sweep(connection: try Connection(uri: "test:///default"), base: base) { lines.append($0) }
        for p in servers {
            for _ in 0..<100 where p.isRunning { Thread.sleep(forTimeInterval: 0.05) }
            #expect(!p.isRunning, "the orphaned qemu-nbd was stopped")
        }
        #expect(!FileManager.default.fileExists(atPath: folder))
        #expect(!FileManager.default.fileExists(atPath: short), "the short socket folder went too")
        #expect(lines.count == 1 && lines[0].contains("stopped 2 qemu-nbd servers"), "\(lines)")
    }

    /// Found by the kill test: a kill between the claim of the target and the journal's record of it.
    @Test("a migration killed while claiming its target: the empty file it made goes, a file with data stays")
    func killedWhileClaiming() throws {
        let base = NSTemporaryDirectory() + "vmserial-stale-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let empty = base + "/claimed.img", full = base + "/data.img"
        #expect(FileManager.default.createFile(atPath: empty, contents: nil))
        #expect(FileManager.default.createFile(atPath: full, contents: Data("data".utf8)))
        let dead = try Self.deadPID()
        for (i, target) in [empty, full].enumerated() {
            let folder = "\(base)/migrate-vm-\(dead)-\(i)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            let j = Journal(kind: .migrate, domain: "nowhere-\(UUID())", disk: "vda", volume: "v", target: target, live: false)
            try JSONEncoder().encode(j).write(to: URL(fileURLWithPath: folder + "/" + Journal.fileName))
        }
        StaleState.sweep(connection: try Connection(uri: "test:///default"), base: base) { _ in }
        #expect(!FileManager.default.fileExists(atPath: empty))
        #expect(FileManager.default.fileExists(atPath: full))
        #expect(StaleState.staleFolders(in: base).isEmpty)
    }

    @Test("a launch that died before the registry recorded it is undone; one the registry recorded is kept")
    func deadLaunch() throws {
        let base = NSTemporaryDirectory() + "vmserial-stale-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let connection = try Connection(uri: "test:///default")
        let registry = try SQLiteRegistry(path: ":memory:")
        var names: [String] = []
        defer { for n in names { try? connection.lookupDomain(name: n).undefine() } }
        let dead = try Self.deadPID()
        for recorded in [false, true] {
            let vm = "stale-\(recorded)-\(UInt32.random(in: 0...UInt32.max))"
            names.append(vm)
            let uuid = UUID().uuidString.lowercased()
            if recorded {
                let a = try registry.assign(AssignmentRequest(vm: vm, uuid: uuid, smbiosMode: "unique", smbiosSerial: nil,
                                                              generateDiskSerials: true, disks: [])) { _ in }
                #expect(a.uuid == uuid)
            }
            _ = try connection.defineDomain(xml: "<domain type='test'><name>\(vm)</name><uuid>\(uuid)</uuid><memory>65536</memory><os><type>hvm</type></os></domain>")
            let folder = "\(base)/launch-\(vm)-\(dead)-1"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            try JSONEncoder().encode(Journal(kind: .launch, domain: vm, uuid: uuid)).write(to: URL(fileURLWithPath: folder + "/" + Journal.fileName))
        }
        var lines: [String] = []
        StaleState.sweep(connection: connection, registry: registry, base: base) { lines.append($0) }
        #expect(try !connection.domainExists(name: names[0]), "the unrecorded launch is undone")
        #expect(try connection.domainExists(name: names[1]), "the recorded one stays")
        #expect(lines.contains { $0.contains("undefined \(names[0])") }, "\(lines)")
    }
}
