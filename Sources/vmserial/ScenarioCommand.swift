import ArgumentParser
import Foundation
import VMSerialKit

struct ScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario",
        abstract: "Make a serial-persistence bug happen on a copy of a VM, and see what the guest saw before and after.",
        discussion: """
        A scenario file names a VM spec, how to observe it (probe, guest or
        boot-inspect) and steps: observe it, change its libvirt definition behind
        vmserial's back the way another tool would (drop or swap a serial, move a
        disk to another bus, give it a new SMBIOS UUID, copy a disk without its
        serial), move a disk the vmserial way, reboot, re-launch or restore it, and
        state which facts must have changed or stayed the same since an earlier
        observation. It runs on a throw-away copy (<vm>-scn-<id>, overlays over
        the spec's images, a scratch registry): your domain, images and registry
        are never touched. The format, the facts and the bundled scenarios are
        described in README.md ("Scenarios").

        EXAMPLES:
          vmserial scenario list
          vmserial scenario run serial-dropped
          vmserial scenario run scenarios/bus-changed.json --json
          vmserial scenario run my.json --observe probe --junit scenario.xml --keep

        EXIT CODES: 0 every expectation held, 1 one did not or a step failed,
        2 a bad scenario (every problem listed with its field and fix; nothing is
        created), 130 interrupted by Ctrl-C, 143 by SIGTERM (the copy is removed).
        """,
        subcommands: [Run.self, List.self])

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run a scenario (a file, or the name of a bundled one) on a throw-away copy of its VM.")

        @Argument(help: ArgumentHelp("The scenario file, or a bundled scenario's name (see `vmserial scenario list`).", valueName: "file"))
        var file: String

        @Option(name: .long, help: ArgumentHelp("Observe this way instead of as the file says: probe, guest or boot-inspect.", valueName: "mode"))
        var observe: String?

        @Flag(name: .long, help: "Print the result as JSON.")
        var json = false

        @Option(name: .long, help: ArgumentHelp("Also write a JUnit XML report (one test case per expectation) to this file.", valueName: "file"))
        var junit: String?

        @Flag(name: .long, help: "Keep the copy (domain, overlays, scratch registry) for a look afterwards; the report says where.")
        var keep = false

        @OptionGroup var connection: ConnectionOptions

        @Option(name: .long, help: ArgumentHelp("Launch the copy into this registry instead of a scratch one (its rows stay there, under the copy's name).", valueName: "location"))
        var registry: String?

        func validate() throws {
            if let o = observe, ObserveMode(rawValue: o) == nil {
                throw ValidationError("--observe \(o) is not a mode; use probe, guest or boot-inspect")
            }
            // Found out before a run of minutes, not after it.
            if let junit {
                let dir = (URL(fileURLWithPath: junit).deletingLastPathComponent().path)
                guard FileManager.default.isWritableFile(atPath: dir) else {
                    throw ValidationError("--junit \(junit): the folder \(dir) does not exist or is not writable")
                }
            }
        }

        func run() throws {
            var ok = false
            try guarded {
                let loaded = try ScenarioParser.load(path: try BundledScenarios.resolve(file), observeOverride: observe.flatMap(ObserveMode.init),
                                                     domainSpec: ScenarioDomainCopy.specReader(connect: connection.connect))
                let conn = try connection.open()
                var runner = ScenarioRunner(connection: conn)
                runner.progress = { if !json { progress($0) } }
                let report = try runner.run(loaded, options: .init(registry: registry.map { HostPaths.registry($0) }, keep: keep))
                ok = try emit(report, json: json, junit: junit)
            }
            if !ok { throw Failure(status: ExitStatus.failed) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the bundled scenarios, one line each.")

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() throws {
            let all = BundledScenarios.list()
            if json {
                let items = all.map { ["name": $0.name, "path": $0.path, "description": $0.description, "observe": $0.observe] }
                let data = try JSONSerialization.data(withJSONObject: items, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            guard !all.isEmpty else {
                print("no bundled scenarios found (set VMSERIAL_SCENARIOS to the scenarios/ folder of a vmserial checkout)")
                return
            }
            print(BundledScenarios.table(all), terminator: "")
        }
    }
}
