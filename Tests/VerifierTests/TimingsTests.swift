import Foundation
import Testing
@testable import Verifier

/// `verify --timings`: each lap gives the time since the last one to its stage, laps of one
/// stage add up, stages come out in run order, and `skip` drops time that is no stage's.
@Suite struct TimingsTests {
    @Test func lapsSplitTheRun() {
        let t = StageTimer()
        Thread.sleep(forTimeInterval: 0.05)
        t.lap(.libvirtCreate)
        Thread.sleep(forTimeInterval: 0.05)
        t.skip()
        t.lap(.registryRead)
        t.lap(.libvirtCreate)
        let times = t.times
        // Stage order, not lap order.
        #expect(times.map(\.stage) == [.registryRead, .libvirtCreate])
        let create = times[1], registry = times[0]
        #expect(create.count == 2 && registry.count == 1)
        // The first lap holds at least the 50 ms slept before it (a monotonic clock never runs short);
        // the skipped 50 ms reach neither stage.
        #expect(create.seconds >= 0.05)
        #expect(registry.seconds < 0.05)
        #expect(StageTimer.table(times).contains("libvirt create"))
    }

    @Test("a report without timings encodes no \"timings\" key; with them it round-trips")
    func json() throws {
        var r = VerifyReport(domain: "vm1")
        #expect(!r.json().contains("timings"))
        r.timings = [StageTime(stage: .destroy, seconds: 0.25, count: 1)]
        let back = try JSONDecoder().decode(VerifyReport.self, from: Data(r.json().utf8))
        #expect(back.timings == r.timings)
        #expect(r.json().contains("\"stage\" : \"destroy\""))
    }
}
