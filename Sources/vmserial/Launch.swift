import ArgumentParser
import Foundation
import VMSerialKit
import SerialRegistry
import VMSpec

struct Launch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a VM spec into a libvirt domain with registered disk serials and an SMBIOS serial, and start it.",
        discussion: """
        Every disk without a "serial" gets a generated one (20 characters, A-Z and
        0-9, unique across every volume in the registry). A disk shared by two VMs
        ("volume") has one serial. The spec file is never written; the assignment
        lives in the registry and in the domain's <metadata>. Launching the same
        spec again keeps every serial and the UUID.

        Nothing is half-done: if the spec, the registry or libvirt refuses, no
        domain is defined and the registry is unchanged.

        EXAMPLES:
          vmserial launch vm1.json
          vmserial launch vm1.json --no-start --json
          vmserial launch vm1.json --dry-run > vm1.xml
          virt-xml-validate vm1.xml domain
        """)

    @Argument(help: ArgumentHelp("The VM spec (JSON). Relative paths in it resolve against its folder.", valueName: "spec"))
    var spec: String

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var registry: RegistryOptions

    @Flag(name: .long, help: "Define (or redefine) the domain but do not start it.")
    var noStart = false

    @Flag(name: .long, help: "Print the domain XML vmserial would define; write nothing (no registry row, no libvirt change).")
    var dryRun = false

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func run() throws {
        try guarded {
            let resolved = try SpecLoader.load(path: spec)
            let conn = try Connect.open(connection.connect)
            // A dry run must not create a registry file either.
            // A dry run reads an existing registry (SQLite or PostgreSQL) but never creates one.
            let location = HostPaths.registry(registry.registry)
            let reg: any Registry = dryRun
                ? try RegistryFactory.openExisting(location) ?? SQLiteRegistry(path: ":memory:")
                : try registry.open()
            var launcher = Launcher(connection: conn, registry: reg)
            launcher.log = { progress($0) }
            let r = try launcher.launch(resolved, options: LaunchOptions(start: !noStart, dryRun: dryRun))
            for w in r.assignment.warnings { progress("warning: \(w)") }
            if json {
                print(JSONOutput.encode(LaunchView(r, uri: conn.uri)))
            } else if dryRun {
                print(r.xml, terminator: "")
            } else {
                let state = r.started ? "defined and started" : (r.wasRunning ? "redefined (running: the new definition applies at its next boot)" : "\(r.action), not started")
                print("\(r.assignment.vm): \(state) on \(conn.uri) (\(r.domainType == "kvm" ? "KVM" : "TCG"))")
                print(AssignmentView(r.assignment).table(), terminator: "")
            }
        }
    }
}

struct LaunchView: Encodable {
    var action: String
    var started: Bool
    var connection: String
    var accel: String
    var assignment: AssignmentView
    var warnings: [String]
    var xml: String?

    init(_ r: LaunchResult, uri: String) {
        action = r.action
        started = r.started
        connection = uri
        accel = r.domainType == "kvm" ? "kvm" : "tcg"
        assignment = AssignmentView(r.assignment)
        warnings = r.assignment.warnings
        xml = r.action == "dry-run" ? r.xml : nil
    }
}
