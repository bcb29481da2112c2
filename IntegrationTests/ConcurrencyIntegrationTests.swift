import Foundation
import SerialPolicy
import Testing

/// Several vmserial processes allocating from one registry at once never hand out a serial twice.
extension Integration {
@Suite
final class ConcurrencyIntegrationTests {
    let box: Sandbox

    init() throws { box = try Sandbox() }

    @Test("4 processes × 25 launches with 3 disks each: 300 distinct serials, 100 distinct UUIDs, every launch exits 0")
    func concurrentLaunches() throws {
        let workers = 4, perWorker = 25
        try box.disk("d.qcow2")
        var specs: [[String]] = Array(repeating: [], count: workers)
        for w in 0..<workers {
            for i in 0..<perWorker {
                let vm = "cc-\(w)-\(i)"
                let spec = """
                {"name":"\(vm)","accel":"tcg","boot":{"kernel":"\(packageRoot)/images/build/probe-vmlinuz"},
                 "disks":[{"name":"a","source":"d.qcow2","bus":"virtio"},{"name":"b","source":"d.qcow2","bus":"scsi"},
                          {"name":"c","source":"d.qcow2","bus":"sata"}]}
                """
                let path = "\(box.dir)/\(vm).json"
                try spec.write(toFile: path, atomically: true, encoding: .utf8)
                specs[w].append(path)
            }
        }
        let binary = try vmserialBinary()
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        for w in 0..<workers {
            let mine = specs[w]
            let registry = box.registry
            group.enter()
            Thread {
                for spec in mine {
                    // test:///default keeps domains in memory per process: the registry is what is shared.
                    let r = try? run(binary, ["launch", spec, "--no-start", "--connect", "test:///default"],
                                     env: ["VMSERIAL_REGISTRY": registry])
                    if r?.status != 0 { failures.mutate { $0.append("\(spec): \(r?.stderr ?? "did not run")") } }
                }
                group.leave()
            }.start()
        }
        group.wait()
        #expect(failures.value.isEmpty, "\(failures.value.joined(separator: "\n"))")

        let out = try box.vmserial("serials", "--json")
        let all = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]])
        #expect(all.count == workers * perWorker)
        let serials = all.flatMap { $0.disks.compactMap { $0["serial"] as? String } }
        #expect(serials.count == workers * perWorker * 3, "no lost assignment")
        #expect(Set(serials).count == serials.count, "no serial handed out twice")
        #expect(serials.allSatisfy(SerialGenerator.looksGenerated))
        let uuids = all.compactMap { $0["uuid"] as? String }
        #expect(Set(uuids).count == workers * perWorker)
    }
}

/// A value shared between threads under a lock.
final class Locked<T>: @unchecked Sendable {
    private var v: T
    private let lock = NSLock()
    init(_ v: T) { self.v = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return v }
    func mutate(_ f: (inout T) -> Void) { lock.lock(); f(&v); lock.unlock() }
}
}
