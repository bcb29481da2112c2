import ArgumentParser
import Foundation
import VMSerialKit

struct Launch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
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
            let conn = try connection.open()
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

extension Launch {
    /// The plain forms, `SPEC [--connect URI] [--registry LOCATION] [--no-start] [--dry-run] [--json]`
    /// in any order (`--option=value` too), read without ArgumentParser's reflection (see
    /// `VMSerial.parseLaunchAlone`). nil for anything else: help, `--`, an unknown or repeated
    /// option, a missing or empty value, a value or spec that starts with `-`. ArgumentParser then
    /// parses those and reports what is wrong. An option added to `Launch` or to its option
    /// groups is unknown here, so it goes the full way when given; it must still be set below,
    /// because ArgumentParser traps when an unset one is read (LaunchCommandLineIntegrationTests
    /// run these forms).
    static func plain(_ arguments: [String]) -> Launch? {
        var spec: String?
        var values: [String: String] = [:]
        var flags: Set<String> = []
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            i += 1
            let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            switch name {
            case "--no-start", "--dry-run", "--json":
                guard parts.count == 1, flags.insert(name).inserted else { return nil }
            case "--connect", "--registry":
                guard values[name] == nil else { return nil }
                var value = parts.count == 2 ? String(parts[1]) : nil
                if value == nil, i < arguments.count {
                    value = arguments[i]
                    i += 1
                }
                guard let value, !value.isEmpty, !value.hasPrefix("-") else { return nil }
                values[name] = value
            default:
                guard spec == nil, !argument.isEmpty, !argument.hasPrefix("-") else { return nil }
                spec = argument
            }
        }
        guard let spec else { return nil }
        var launch = Launch()
        launch.spec = spec
        var connection = ConnectionOptions()
        connection.connect = values["--connect"]
        launch.connection = connection
        var registry = RegistryOptions()
        registry.registry = values["--registry"]
        launch.registry = registry
        launch.noStart = flags.contains("--no-start")
        launch.dryRun = flags.contains("--dry-run")
        launch.json = flags.contains("--json")
        return launch
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
