import ArgumentParser
import Foundation
import VMSerialKit

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Move a disk to a new file, offline or live, and keep its serial.",
        discussion: """
        The serial belongs to the volume, not the file: after a migration the guest
        sees the same serial, the registry records the move (old path, new path,
        when), and `vmserial serials` shows the new source. All or nothing: if the
        copy fails or is interrupted, the domain still points at the original, which
        is untouched, the registry is unchanged and the partial target is removed.

        Offline (domain shut off): qemu-img copies the data, then the domain is
        redefined. With --backing BASE the target becomes a qcow2 overlay on BASE
        that holds the same guest-visible data (a move to a new backing chain). Live
        (--live, domain running): libvirt block copy, then a pivot when in sync.

        EXAMPLES:
          vmserial migrate --domain vm1 --disk data --to /srv/new/data.qcow2
          vmserial migrate --domain vm1 --disk root --to /srv/new/root.qcow2 \\
              --backing /srv/base.qcow2
          vmserial migrate --domain vm1 --disk vda --to /srv/new/root.raw \\
              --format raw --live --remove-source
        """)

    @Option(name: .long, help: ArgumentHelp("The domain.", valueName: "name")) var domain: String
    @Option(name: .long, help: ArgumentHelp("The disk: its spec name (root) or libvirt target (vda).", valueName: "disk")) var disk: String
    @Option(name: .long, help: ArgumentHelp("The new file (must not exist).", valueName: "path")) var to: String
    @Option(name: .long, help: "qcow2 or raw (default: the source's; qcow2 with --backing).") var format: String?
    @Option(name: .long, help: ArgumentHelp("Make the target a qcow2 overlay on this base file.", valueName: "base")) var backing: String?
    @Flag(name: .long, help: "Copy while the domain runs (libvirt block copy and pivot).") var live = false
    @Flag(name: .long, help: "Delete the old file once the domain and the registry point at the new one.") var removeSource = false
    @Flag(name: .long, help: "Print the result as JSON (no progress line).") var json = false
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var registry: RegistryOptions

    func validate() throws {
        if let format, !["qcow2", "raw"].contains(format) { throw ValidationError("--format must be qcow2 or raw, not \(format)") }
        if backing != nil && format == "raw" { throw ValidationError("--backing makes a qcow2 overlay; it cannot go with --format raw") }
    }

    func run() throws {
        try guarded {
            let reg = try registry.openExisting()
            let conn = try connection.open()
            var m = Migrator(connection: conn, registry: reg)
            let meter = ProgressLine(enabled: !json && Verbosity.current != .quiet && isatty(STDERR_FILENO) == 1)
            m.progress = meter.update
            m.log = { progress($0) }
            let r = try m.migrate(domain: domain, MigrateOptions(disk: disk, to: to, format: format, backing: backing, live: live,
                                                               removeSource: removeSource))
            meter.finish()
            if json {
                print(JSONOutput.encode(r))
            } else {
                print("\(r.domain): disk \(r.disk) (volume \(r.volume), serial \(r.serial ?? "none")) moved \(r.live ? "live " : "")from \(r.from) to \(r.to) (\(r.format)\(r.backing.map { ", backing \($0)" } ?? "")) in \(String(format: "%.1f", r.seconds)) s\(r.sourceRemoved ? "; old file removed" : "")")
            }
        }
    }
}

/// A one-line progress meter on a terminal, shown only for copies longer than a second.
final class ProgressLine: @unchecked Sendable {
    let enabled: Bool
    let started = Date()
    var last = Date.distantPast
    var shown = false
    init(enabled: Bool) { self.enabled = enabled }

    func update(_ done: UInt64, _ total: UInt64) {
        guard enabled, Date().timeIntervalSince(started) > 1, Date().timeIntervalSince(last) > 0.2, total > 0 else { return }
        last = Date()
        shown = true
        let pct = Double(done) / Double(total) * 100
        FileHandle.standardError.write(Data(String(format: "\rvmserial: copied %@ of %@ (%.0f%%)   ", mib(done), mib(total), pct).utf8))
    }

    func finish() { if shown { FileHandle.standardError.write(Data("\n".utf8)) } }

    func mib(_ n: UInt64) -> String { String(format: "%.1f MiB", Double(n) / 1048576) }
}
