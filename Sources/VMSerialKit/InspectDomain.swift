import DomainXML
import Foundation
import Guestfs
import Inspection
import Libvirt
import SerialRegistry

/// `vmserial inspect`: looks into a domain's disks offline, read-only, with one libguestfs
/// appliance, and compares what each operating system recorded about disk and machine
/// identity with the registry.
public struct DomainInspector: ContextHolder {
    public var context: Context

    public init(connection: Connection, registry: any Registry) {
        context = Context(connection: connection, registry: registry)
    }

    /// The identity the registry says the VM presents.
    public static func current(from a: Assignment) -> CurrentIdentity {
        CurrentIdentity(uuid: a.uuid, smbiosSerial: a.smbiosSerial, disks: a.disks.map {
            CurrentDisk(name: $0.name, bus: $0.bus, target: $0.target, serial: $0.serial)
        })
    }

    public func inspect(domain name: String) throws -> InspectReport {
        let vm = try context.resolve(name)
        let (assignment, dom) = (vm.assignment, vm.domain)
        let running = try dom.isActive
        var warnings: [String] = []
        if running {
            warnings.append("\(name) is running: its disks were read while the guest may be writing them, so what was read can be inconsistent (nothing was written: the disks were opened read-only). Shut it down for a reliable inspection")
        }
        let def = try DomainDefinition(xml: dom.xmlDesc(inactive: true))
        // The same drives, in the same order, that GuestSession adds: index i is appliance disk i.
        let drives = try GuestSession.drives(of: def)
        let withSource = def.devices.disks.filter { $0.source != nil }
        let disks: [InspectReport.Disk] = withSource.map { d in
            let assigned = assignment.disks.first { $0.target == d.targetDev }
            return InspectReport.Disk(name: assigned?.name ?? d.targetDev, target: d.targetDev, bus: assigned?.bus.rawValue ?? d.targetBus,
                                      serial: assigned?.serial, source: d.source ?? "", format: d.driverType ?? "raw", systems: [])
        }
        let forceTCG = try AccelResolver(connection: connection, log: progress).domainType(for: .auto, mayProbe: false) != "kvm"
        let all = drives.map { (path: $0.path, format: $0.format, readonly: true) }
        var records: [SystemRecord]
        var retry: [Int]?
        // Index i: domain disk i (the same order as `all`).
        var tables: [PartitionTable?] = Array(repeating: nil, count: all.count)
        do {
            let session = try GuestSession(domain: name, drives: all, writable: false, forceTCG: forceTCG, progress: progress)
            defer { session.close() }
            progress("inspecting the disks of \(name)")
            do {
                records = try GuestInspector.inspect(session.handle)
                tables = try GuestInspector.partitionTables(session.handle)
            } catch let e as GuestfsError where GuestInspector.isUnlabelledDiskFailure(e) {
                let keep = try session.guestfs {
                    GuestInspector.partitionedDisks(devices: try session.handle.listDevices(), partitions: try session.handle.listPartitions())
                }
                guard keep.count < all.count, !keep.isEmpty else { throw VMSerialError.failed("libguestfs, on the disks of \(name): \(e)") }
                records = []
                retry = keep
                // Read here, from every disk: the disks left out of the retry have no partition table.
                tables = try session.guestfs { try GuestInspector.partitionTables(session.handle) }
            } catch let e as GuestfsError {
                throw VMSerialError.failed("libguestfs, on the disks of \(name): \(e.function): \(e.message)")
            }
        }
        if let keep = retry {
            let left = all.indices.filter { !keep.contains($0) }.map { disks[$0] }.map { "\($0.name) (\($0.target))" }
            warnings.append("libguestfs 1.48 cannot inspect Windows next to a disk without a partition table (it runs parted on every disk to map MountedDevices); inspected again without \(left.joined(separator: ", "))")
            progress("inspecting again without the disks that have no partition table: \(left.joined(separator: ", "))")
            let session = try GuestSession(domain: name, drives: keep.map { all[$0] }, writable: false, forceTCG: forceTCG, progress: progress)
            defer { session.close() }
            records = try session.guestfs { try GuestInspector.inspect(session.handle) }
            // Back to the domain's disk numbering.
            for i in records.indices { records[i].disk = records[i].disk.map { keep[$0] } }
        }
        var current = Self.current(from: assignment)
        var reportDisks = disks
        for (i, table) in tables.enumerated() where i < disks.count {
            reportDisks[i].partitionTable = table
            if let j = current.disks.firstIndex(where: { $0.target == disks[i].target }) { current.disks[j].layout = table }
        }
        return Self.report(domain: name, running: running, warnings: warnings, disks: reportDisks, records: records, current: current)
    }

    /// Puts records and disks together: each system under the disk that holds its root.
    static func report(domain: String, running: Bool, warnings: [String], disks: [InspectReport.Disk], records: [SystemRecord],
                       current: CurrentIdentity) -> InspectReport {
        var disks = disks
        var warnings = warnings
        let systems = records.map { r -> InspectReport.System in
            let disk = r.disk.flatMap { $0 < disks.count ? disks[$0].name : nil }
            if let i = r.disk, i < disks.count { disks[i].systems.append(r.root) }
            return InspectReport.System(root: r.root, disk: disk, type: r.type, distro: r.distro, productName: r.productName,
                                        version: r.version, hostname: r.hostname, findings: r.findings(current: current),
                                        entries: r.tables, windows: r.windows)
        }
        if systems.isEmpty {
            warnings.append("libguestfs found no operating system on the disks of \(domain): nothing recorded to compare")
        }
        return InspectReport(domain: domain, running: running, warnings: warnings, disks: disks, systems: systems)
    }
}
