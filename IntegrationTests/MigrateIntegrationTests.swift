import DomainXML
import Foundation
import Libvirt
import SerialRegistry
import Testing
import ProcessRunner

/// `vmserial migrate` and `verify --migrate-to`: the serial stays with the volume when its data moves.
extension Integration {
@Suite
final class MigrateIntegrationTests {
    let box: Sandbox
    var mounts: [String] = []

    init() throws { box = try Sandbox() }

    deinit {
        for m in mounts { _ = try? run("/bin/umount", [m]) }
    }

    /// A 3-disk VM whose guest (the probe with after=stay) keeps running once started.
    func threeDiskVM(_ base: String) throws -> (vm: String, spec: String) {
        let vm = box.name(base)
        let spec = try box.spec(vm, disks: LaunchIntegrationTests.threeDisks)
        var text = try String(contentsOfFile: spec, encoding: .utf8)
        text = text.replacingOccurrences(of: "vmserial.after=poweroff", with: "vmserial.after=stay")
        try text.write(toFile: spec, atomically: true, encoding: .utf8)
        // Recognisable data in every image, so a copy that loses any shows in qemu-img compare.
        for (i, d) in LaunchIntegrationTests.threeDisks.enumerated() {
            let file = "\(box.dir)/\(vm)-\(d.name).\(d.format == "raw" ? "img" : "qcow2")"
            let w = try run("qemu-io", ["-f", d.format, "-c", "write -P 0x\(String(0x41 + i, radix: 16)) 1M 3M", file])
            #expect(w.status == 0, "qemu-io: \(w.all)")
        }
        let r = try box.vmserial("launch", spec, "--no-start")
        #expect(r.status == 0, "\(r.all)")
        return (vm, spec)
    }

    func source(_ vm: String, _ target: String) throws -> String? {
        try box.definition(vm).devices.disks.first { $0.targetDev == target }?.source
    }

    func same(_ a: String, _ b: String) throws -> Bool {
        let r = try run("qemu-img", ["compare", "-U", a, b])
        return r.status == 0
    }

    @Test("offline, --backing and live moves keep every serial, the data and the verify result")
    func migrations() throws {
        let (vm, _) = try threeDiskVM("mig")
        let before = try box.json(try box.vmserial("serials", "--domain", vm, "--json"))
        let serials = before.disks.compactMap { $0["serial"] as? String }
        #expect(serials.count == 3)
        let v0 = try box.vmserial("verify", "--domain", vm)
        #expect(v0.status == 0, "\(v0.all)")

        // Offline.
        let oldRoot = try #require(try source(vm, "vda"))
        let newRoot = box.dir + "/moved-root.qcow2"
        let m1 = try box.vmserial("migrate", "--domain", vm, "--disk", "root", "--to", newRoot, "--json")
        #expect(m1.status == 0, "\(m1.all)")
        #expect(try source(vm, "vda") == newRoot)
        #expect(try same(oldRoot, newRoot), "guest-visible data intact")

        // Offline onto a new backing chain.
        let base = box.dir + "/base.qcow2"
        _ = try run("qemu-img", ["create", "-q", "-f", "qcow2", base, "16M"])
        _ = try run("qemu-io", ["-f", "qcow2", "-c", "write -P 0x11 0 2M", base])
        let oldData = try #require(try source(vm, "sda"))
        let newData = box.dir + "/moved-data.qcow2"
        let m2 = try box.vmserial("migrate", "--domain", vm, "--disk", "data", "--to", newData, "--backing", base)
        #expect(m2.status == 0, "\(m2.all)")
        #expect(try same(oldData, newData))
        #expect(try run("qemu-img", ["info", "-U", newData]).stdout.contains("backing file: \(base)"))

        // Live, while the guest runs.
        let dom = try box.connection.lookupDomain(name: vm)
        try dom.start()
        let oldShare = try #require(try source(vm, "sdb"))
        let newShare = box.dir + "/moved-share.img"
        let m3 = try box.vmserial("migrate", "--domain", vm, "--disk", "share", "--to", newShare, "--live")
        #expect(m3.status == 0, "\(m3.all)")
        #expect(try source(vm, "sdb") == newShare, "the persistent definition follows the pivot")
        let liveXML = try DomainXML.Domain(xml: dom.xmlDesc())
        #expect(liveXML.devices.disks.first { $0.targetDev == "sdb" }?.source == newShare, "the running guest uses the new file")
        try dom.destroy()
        #expect(try same(oldShare, newShare))

        // The registry followed, kept the history, and the guest still sees the same serials.
        let after = try box.json(try box.vmserial("serials", "--domain", vm, "--json"))
        #expect(after.disks.compactMap { $0["serial"] as? String } == serials)
        #expect(after.disks.compactMap { $0["source"] as? String } == [newRoot, newData, newShare])
        let reg = try SQLiteRegistry(path: box.registry)
        #expect(try reg.moves(volume: .init("\(vm)/root")).map(\.newPath) == [newRoot])
        let v1 = try box.vmserial("verify", "--domain", vm, "--json")
        #expect(v1.status == 0, "\(v1.all)")
        #expect(v1.stdout.contains(serials[0]) && v1.stdout.contains(serials[2]))
    }

    /// The Migrator's live wait on the events themselves: READY once the copy is in sync, and
    /// CANCELED after an abort without pivot. Only an event can say CANCELED (reading the job
    /// shows no job), so this also proves the events reach the loop.
    @Test("block job events: READY for a copy in sync, CANCELED after an abort without pivot")
    func blockJobEvents() throws {
        let (vm, _) = try threeDiskVM("bjev")
        let dom = try box.connection.lookupDomain(name: vm)
        try dom.start()
        defer { try? dom.destroy() }
        // A raw copy of the raw shared disk's size, made here as the Migrator makes its targets.
        let copy = box.dir + "/bjev-copy.img"
        let share = try #require(try source(vm, "sdb"))
        #expect(try run("truncate", ["-r", share, copy]).status == 0)
        let events = BlockJobEvents(dom, disk: "sdb")
        defer { events.stop() }
        try #require(events.eventDriven, "the event loop took the BLOCK_JOB_2 callback")
        let dest = "<disk type='file'><source file='\(copy)'/><driver name='qemu' type='raw'/></disk>"
        try dom.blockCopy(disk: "sdb", destinationXML: dest, reuseExternal: true, transientJob: true)
        var readings = 0
        let ready = try events.wait(for: [.ready], timeout: .seconds(300)) { _ in readings += 1 }
        try #require(ready == .ready, "got \(ready.map(\.description) ?? "no job and no event")")
        #expect(readings >= 1, "the job was read for progress")
        try dom.blockJobAbort(disk: "sdb", pivot: false)
        #expect(try events.wait(for: [.canceled], timeout: .seconds(60)) == .canceled)
        #expect(try dom.blockJobInfo(disk: "sdb") == nil)
    }

    @Test("verify --migrate-to moves every disk between two verified cycles, offline and live")
    func verifyMigrateTo() throws {
        let (vm, _) = try threeDiskVM("vmt")
        for (live, folder) in [(false, "offline"), (true, "live")] {
            let dir = box.dir + "/" + folder
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var args = ["verify", "--domain", vm, "--migrate-to", dir, "--json"]
            if live { args.append("--live") }
            let r = try run(try vmserialBinary(), args, env: ["VMSERIAL_REGISTRY": box.registry, "VMSERIAL_ACCEL": "tcg"])
            #expect(r.status == 0, "\(r.all)")
            let out = try box.json(r)
            let kinds = ((out["cycles"] as? [[String: Any]]) ?? []).map { $0["kind"] as? String ?? "" }
            #expect(kinds == ["boot", live ? "migrate-live" : "migrate-offline"])
            let sources = try box.definition(vm).devices.disks.compactMap(\.source)
            #expect(sources.allSatisfy { $0.hasPrefix(dir + "/") }, "\(sources)")
        }
    }

    func mountTmpfs(_ path: String, options: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let r = try run("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", path])
        try #require(r.status == 0, "mount tmpfs (needs root): \(r.all)")
        mounts.append(path)
    }

    @Test("refused moves leave domain, registry and source as they were")
    func refusals() throws {
        let (vm, _) = try threeDiskVM("ref")
        let src = try #require(try source(vm, "vda"))
        let sum = try box.sha256(src)
        let registryBefore = try box.registrySnapshot()
        let ro = box.dir + "/ro", small = box.dir + "/small"
        try mountTmpfs(ro, options: "ro,size=1M")
        try mountTmpfs(small, options: "size=1M")
        let cases: [([String], String)] = [
            (["--disk", "root", "--to", ro + "/x.qcow2"], "not writable"),
            (["--disk", "root", "--to", small + "/x.qcow2"], "not enough free space"),
            (["--disk", "root", "--to", src], "is the disk's current source"),
            (["--disk", "root", "--to", try #require(try source(vm, "sda"))], "exists"),
            (["--disk", "nope", "--to", box.dir + "/x.qcow2"], "has no disk nope"),
            (["--disk", "root", "--to", box.dir + "/missing/x.qcow2"], "does not exist"),
            (["--disk", "root", "--to", box.dir + "/x.qcow2", "--backing", box.dir + "/no-base.qcow2"], "backing file"),
            (["--disk", "root", "--to", box.dir + "/x.qcow2", "--live"], "--live needs"),
        ]
        for (args, message) in cases {
            let r = try run(try vmserialBinary(), ["migrate", "--domain", vm] + args, env: ["VMSERIAL_REGISTRY": box.registry])
            #expect(r.status == 2, "\(args): \(r.all)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: box.dir + "/x.qcow2"))
        #expect(try source(vm, "vda") == src)
        #expect(try box.sha256(src) == sum)
        #expect(try box.registrySnapshot() == registryBefore)

        try box.connection.lookupDomain(name: vm).start()
        let running = try box.vmserial("migrate", "--domain", vm, "--disk", "root", "--to", box.dir + "/x.qcow2")
        #expect(running.status == 2)
        #expect(running.stderr.contains("is running"), "\(running.stderr)")
        try box.connection.lookupDomain(name: vm).destroy()
    }

    @Test("Ctrl-C during the copy stops qemu-img, removes the partial target and changes nothing")
    func interruptedCopy() throws {
        let vm = box.name("int")
        let big = box.dir + "/big.img"
        _ = try run("qemu-img", ["create", "-q", "-f", "raw", big, "3G"])
        let w = try run("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 0 1G", "-c", "write -P 0x5b 1G 1G", big])
        try #require(w.status == 0, "\(w.all)")
        let r = try box.vmserial("launch", try box.spec(vm, disks: [.init(name: "root", bus: "virtio", format: "raw", file: "big.img")]), "--no-start")
        #expect(r.status == 0, "\(r.all)")
        let before = try box.registrySnapshot()
        let target = box.dir + "/copy.qcow2"

        // qemu-img through a wrapper that records each run's pid and signal masks.
        let qemuImg = try RecordingTool("qemu-img", in: box.dir)
        let p = try startVmserial(["migrate", "--domain", vm, "--disk", "root", "--to", target],
                                  env: ["VMSERIAL_REGISTRY": box.registry, "PATH": qemuImg.path])
        let deadline = Date().addingTimeInterval(30)
        // A file appearing has no event to wait on: look every 20 ms, waiting on vmserial's exit meanwhile.
        while !FileManager.default.fileExists(atPath: target) && Date() < deadline && p.wait(timeout: .milliseconds(20)) == nil {}
        // Into the copy itself, past the target's creation.
        _ = p.wait(timeout: .milliseconds(200))
        try #require(p.isRunning, "the copy finished before it could be interrupted; make the image bigger")
        p.signal(SIGINT)
        #expect(p.wait().status == 130)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(!FileManager.default.fileExists(atPath: target), "the partial target is removed")
        #expect(try source(vm, "vda") == big)
        #expect(try box.registrySnapshot() == before)
        // Every qemu-img vmserial ran (the copy among them) started with SIGINT and SIGTERM at
        // their defaults, so the clean-up's SIGTERM stopped the copy: none outlives vmserial.
        let runs = qemuImg.runs()
        try #require(!runs.isEmpty, "vmserial ran qemu-img through the wrapper")
        for run in runs {
            let masks = try #require(run.masks, "qemu-img \(run.pid): its signal masks were recorded")
            #expect(!masks.ignores(SIGINT) && !masks.ignores(SIGTERM), "qemu-img \(run.pid) ignored SIGINT or SIGTERM")
            #expect(!masks.blocks(SIGINT) && !masks.blocks(SIGTERM), "qemu-img \(run.pid) had SIGINT or SIGTERM blocked")
            // The bound only ends a broken wait: an exited process is seen at once.
            #expect(waitForExit(run.pid, timeout: .seconds(30)), "qemu-img \(run.pid) still runs after vmserial exited")
        }
    }

    @Test("re-launch after a move: the new path keeps the serial; the old path warns")
    func relaunchAfterMove() throws {
        let vm = box.name("rel")
        let spec = try box.spec(vm, disks: [.init(name: "root", bus: "virtio")])
        _ = try box.vmserial("launch", spec, "--no-start")
        let serial = try #require(try box.definition(vm).devices.disks.first?.serial)
        let old = try #require(try source(vm, "vda"))
        let moved = box.dir + "/elsewhere.qcow2"
        #expect(try box.vmserial("migrate", "--domain", vm, "--disk", "root", "--to", moved).status == 0)

        let stale = try box.vmserial("launch", spec, "--no-start")
        #expect(stale.status == 0, "\(stale.all)")
        #expect(stale.stderr.contains("was migrated") && stale.stderr.contains(moved), "\(stale.stderr)")
        #expect(try box.definition(vm).devices.disks.first?.serial == serial)

        var text = try String(contentsOfFile: spec, encoding: .utf8)
        text = text.replacingOccurrences(of: (old as NSString).lastPathComponent, with: "elsewhere.qcow2")
        try text.write(toFile: spec, atomically: true, encoding: .utf8)
        let fresh = try box.vmserial("launch", spec, "--no-start")
        #expect(fresh.status == 0, "\(fresh.all)")
        #expect(!fresh.stderr.contains("warning"), "\(fresh.stderr)")
        #expect(try box.definition(vm).devices.disks.first?.serial == serial)
        #expect(try source(vm, "vda") == moved)
    }
}
}
