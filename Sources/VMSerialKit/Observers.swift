import DomainXML
import Foundation
import Inspection
import Libvirt
import Scenario
import SerialPolicy
import SerialRegistry
import Verifier

/// One way of booting a VM and reading what its guest saw: the strategy the scenario runner
/// holds. Probe and guest observations are one-cycle runs of the verify engines (ProbeVerifier,
/// GuestVerifier); boot-inspect boots the guest's own OS unchanged and inspects its disks after.
protocol Observer {
    /// Boots the domain once (twice with `reboot`: the guest reboots itself and is observed after)
    /// and returns every fact the mode yields, read against the domain's current definition.
    func observe(domain: String, reboot: Bool, targets: [(name: String, target: String)]) throws -> (facts: Facts, detail: String?)
    /// Lets go of whatever the observer keeps between observations (guest mode: its appliance and
    /// disk servers, which hold the images open). Before a step that copies or moves the images, and at the end.
    func release()
}

extension Observer {
    func release() {}
}

enum Observers {
    static func make(_ mode: ObserveMode, connection: Connection, registry: any Registry, timeout: Double, settle: Double,
                     progress: @escaping (String) -> Void) -> any Observer {
        switch mode {
        case .probe, .guest:
            return VerifyObserver(guest: mode == .guest, connection: connection, registry: registry, timeout: timeout, progress: progress)
        case .bootInspect:
            return BootInspectObserver(connection: connection, registry: registry, settle: settle, shutdownGrace: timeout, progress: progress)
        }
    }

    static func definition(_ connection: Connection, _ name: String) throws -> DomainDefinition {
        try DomainDefinition(xml: connection.lookupDomain(name: name).xmlDesc(inactive: true))
    }
}

/// probe and guest: one verify run of one cycle (two with a reboot), its last report turned into facts.
struct VerifyObserver: Observer {
    let guest: Bool
    let connection: Connection
    let registry: any Registry
    let timeout: Double
    let progress: (String) -> Void
    /// Guest mode: one appliance for all the observations of a scenario.
    let kept = KeptAppliance()

    func release() {
        kept.close()
    }

    func observe(domain: String, reboot: Bool, targets: [(name: String, target: String)]) throws -> (facts: Facts, detail: String?) {
        let options = VerifyOptions(reboots: reboot ? 1 : 0, timeout: timeout)
        let report: VerifyReport
        if guest {
            var v = GuestVerifier(connection: connection, registry: registry)
            v.progress = progress
            report = try v.verify(domain: domain, options: options, keeping: kept)
        } else {
            var v = ProbeVerifier(connection: connection, registry: registry)
            v.progress = progress
            report = try v.verify(domain: domain, options: options)
        }
        if let e = report.error { throw VMSerialError.failed(e) }
        guard let last = report.reports.last else { throw VMSerialError.failed("the guest of \(domain) sent no report") }
        let def = try Observers.definition(connection, domain)
        var notes: [String] = []
        if reboot { notes.append("after a reboot the guest made itself") }
        if let a = report.appliance {
            notes.append(a.starts == 0 ? "the appliance of the previous observation (no new start)" : "libguestfs appliance started (\(a.diskAccess) disks)")
        }
        return (Facts.from(report: last, domain: def, targets: targets, byID: guest), notes.isEmpty ? nil : notes.joined(separator: "; "))
    }
}

/// boot-inspect: the guest's own OS boots from its definition as it is, runs until it has settled
/// (or powers itself off), is shut down by ACPI (destroyed when it does not go within the grace
/// time, which the detail reports), and `inspect` reads what it recorded. Nothing is installed in
/// the guest, so this works for any OS libguestfs can inspect, Windows included.
struct BootInspectObserver: Observer {
    let connection: Connection
    let registry: any Registry
    let settle: Double
    /// Seconds an ACPI shutdown may take before the guest is destroyed (the scenario's `timeout`).
    let shutdownGrace: Double
    let progress: (String) -> Void

    func observe(domain: String, reboot: Bool, targets: [(name: String, target: String)]) throws -> (facts: Facts, detail: String?) {
        let dom = try connection.lookupDomain(name: domain)
        // Ctrl-C while the guest runs: stop it before the scenario's own clean-up undefines it.
        let token = Interrupts.shared.onInterrupt { if (try? dom.isActive) == true { try? dom.destroy() } }
        defer { Interrupts.shared.remove(token) }
        var notes: [String] = []
        for boot in 1...(reboot ? 2 : 1) {
            progress("booting \(domain)'s own OS (boot \(boot)); letting it settle for up to \(Int(settle)) s")
            do {
                try dom.start()
            } catch let e as LibvirtError {
                throw VMSerialError.failed("\(domain) did not start: \(e.message)")
            }
            if try wait(dom, seconds: settle) {
                notes.append("boot \(boot): the guest powered itself off")
                continue
            }
            progress("shutting \(domain) down by ACPI (destroyed after \(Int(shutdownGrace)) s)")
            try? dom.shutdown()
            if try !wait(dom, seconds: shutdownGrace) {
                try? dom.destroy()
                notes.append("boot \(boot): the guest ignored the ACPI shutdown for \(Int(shutdownGrace)) s and was destroyed (what it had not written is lost)")
            } else {
                notes.append("boot \(boot): shut down by ACPI")
            }
        }
        var inspector = DomainInspector(connection: connection, registry: registry)
        inspector.progress = progress
        let report = try inspector.inspect(domain: domain)
        let def = try Observers.definition(connection, domain)
        return (Self.facts(report, domain: def, targets: targets), notes.joined(separator: "; "))
    }

    /// Waits until the domain is shut off; false when it still runs after `seconds`.
    func wait(_ dom: Libvirt.Domain, seconds: Double) throws -> Bool {
        try dom.waitUntilInactive(timeout: .milliseconds(Int(seconds * 1000)))
    }

    /// fstab: every by-id entry judged against the disks the definition presents now (not the
    /// registry: a serial changed behind its back must show); windows.*: what the hive recorded.
    static func facts(_ r: InspectReport, domain: DomainDefinition, targets: [(name: String, target: String)]) -> Facts {
        var v: [FactName: String] = [:]
        let current = CurrentIdentity(uuid: domain.uuid ?? "", smbiosSerial: domain.sysinfo?[system: "serial"], disks: targets.compactMap { t in
            // A disk on a bus that carries no serial vmserial knows (ide, usb) cannot be named by one.
            guard let d = domain.devices.disks.first(where: { $0.targetDev == t.target }),
                  let bus = domain.serialBus(of: d) else { return nil }
            return CurrentDisk(name: t.name, bus: bus, target: d.targetDev, serial: d.serial)
        })
        let linux = r.systems.filter { $0.type == "linux" }
        let fstab = linux.flatMap { IdentityComparison.linux($0.entries, current: current) }.filter { !$0.info }
        v[.fstab] = fstab.isEmpty ? Facts.none : fstab.map { "\($0.what) \($0.seen): \($0.ok ? "resolves" : "does not resolve")" }.sorted().joined(separator: "; ")
        // What Windows recorded, as `inspect` summarises it (WindowsSummary): the machine it last booted on,
        // the disk instances the VM's buses can have produced, and the drive letters' disks.
        let w = r.windows
        func list(_ l: [String]?) -> String { (l ?? []).isEmpty ? Facts.none : l!.joined(separator: "; ") }
        v[.windowsMachine] = w?.machineLastConfig ?? Facts.none
        v[.windowsDisks] = list(w?.diskInstances)
        v[.windowsMounted] = list(w?.mountedDevices)
        return Facts(v)
    }
}
