import ArgumentParser
import Foundation
import VMSerialKit

struct RegistryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "Move a registry between SQLite and PostgreSQL, and check it.",
        discussion: """
        The registry is a SQLite file (a path, or sqlite:PATH) or a PostgreSQL
        database (postgres://USER@HOST:PORT/DB) shared by every host of a fleet;
        --registry or VMSERIAL_REGISTRY picks it. TLS: ?sslmode=disable, prefer
        (the default), require or verify-full (with &sslrootcert=CA.pem), as libpq.

        EXAMPLES:
          vmserial registry export > registry.json
          vmserial registry import registry.json --registry postgres://vmserial@db:5432/fleet
          vmserial registry check --connect qemu:///system
          vmserial registry check --connect qemu:///system --repair
        """,
        subcommands: [Export.self, Import.self, Check.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Print everything the registry holds as JSON (VMs, volumes, attachments, moves).")

        @OptionGroup var registry: RegistryOptions

        func run() throws {
            try guarded {
                let dump = try registry.openExisting().export()
                let e = JSONEncoder()
                e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                FileHandle.standardOutput.write(try e.encode(dump) + Data("\n".utf8))
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Add an exported registry to this one, in one transaction.",
            discussion: """
            Rows this registry already holds identically are kept. A VM whose UUID
            differs, a volume whose serial differs, or a serial another volume holds is
            a conflict: the import writes nothing and names every conflict (exit 2).
            So is an entry a launch would refuse (a VM or disk name, a volume, a bus,
            a target or a serial that breaks vmserial's rules): nothing is written.
            """)

        @Argument(help: ArgumentHelp("The file `vmserial registry export` wrote (- for standard input).", valueName: "file"))
        var file: String

        @OptionGroup var registry: RegistryOptions

        func run() throws {
            try guarded {
                let data: Data
                do {
                    data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
                } catch {
                    throw VMSerialError.badInput("cannot read \(file): \(error.localizedDescription)")
                }
                let dump: RegistryDump
                do {
                    dump = try JSONDecoder().decode(RegistryDump.self, from: data)
                } catch {
                    throw VMSerialError.badInput("\(file) is not a registry export (`vmserial registry export` writes one): \(error)")
                }
                // Checked before the registry is opened: a bad file creates nothing, not even an empty registry.
                let invalid = dump.invalidEntries()
                guard invalid.isEmpty else { throw RegistryError.importInvalid(invalid) }
                let reg = try registry.open()
                let s = try reg.importDump(dump)
                progress("imported \(s.instances) VMs, \(s.volumes) volumes, \(s.moves) moves into \(reg.path); \(s.alreadyPresent) rows were already there")
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Report duplicates, volumes bound to two paths and (with --connect) domains that disagree with the registry; --repair settles them.",
            discussion: """
            Prints one line per disagreement. With --connect, every VM of the registry is
            compared with its libvirt domain: UUID, each disk's serial and the file it uses
            (the running guest's, when it runs); with --domain, also a domain that carries
            vmserial's metadata but is not in the registry.

            --repair brings them back together without losing an assignment; it never
            invents or drops a serial: it re-applies a registered serial the definition
            lost, names in the definition the file a running guest uses since a live copy,
            re-points a volume's recorded path to the file the domain uses when that file
            holds the data, and reports what it cannot settle with the command that does.
            It first clears what killed vmserial processes left (probe domains, disk
            servers, run folders, partial copies).

            Exit status: 0 they agree (or all was repaired), 1 a disagreement is left,
            2 bad input (no registry, a wrong URI).

            EXAMPLES:
              vmserial registry check --connect qemu:///system
              vmserial registry check --connect qemu:///system --domain vm1 --repair --json
            """)

        @OptionGroup var registry: RegistryOptions

        @Option(name: .long, help: ArgumentHelp("Also compare the domains defined on this libvirt connection with the registry.", valueName: "uri"))
        var connect: String?

        @Option(name: .long, help: ArgumentHelp("With --connect: only this VM (the registry's own findings still count).", valueName: "name"))
        var domain: String?

        @Flag(name: .long, help: "Settle the disagreements that can be settled without losing an assignment (needs --connect).")
        var repair = false

        @Flag(name: .long, help: "Print the findings (and what --repair did) as JSON.")
        var json = false

        func validate() throws {
            if repair && connect == nil { throw ValidationError("--repair brings libvirt and the registry together: give the libvirt URI with --connect") }
            if domain != nil && connect == nil { throw ValidationError("--domain compares one VM with its libvirt domain: give the libvirt URI with --connect") }
        }

        func run() throws {
            var left = 0
            try guarded {
                let reg = try registry.openExisting()
                var check = RegistryCheck(registry: reg, connection: try connect.map { try ConnectionOptions.open($0) })
                check.only = domain
                if repair, let conn = check.connection {
                    StaleState.sweep(connection: conn, registry: reg, log: { progress($0) })
                }
                let outcomes: [RepairOutcome] = repair ? try check.repair()
                    : try check.disagreements().map { RepairOutcome(disagreement: $0, result: .unresolved, detail: "", command: nil) }
                left = outcomes.filter { $0.result == .unresolved }.count
                if json {
                    print(Self.json(outcomes, registry: reg.path, repair: repair))
                } else if outcomes.isEmpty {
                    print("registry \(reg.path): no findings")
                } else {
                    for o in outcomes {
                        switch (repair, o.result) {
                        case (false, _): print(o.disagreement.description)
                        case (true, .repaired): print("repaired: \(o.disagreement.description)")
                        case (true, .unresolved): print("left: \(o.disagreement.description): \(o.detail); to settle it: \(o.command ?? "")")
                        }
                    }
                }
            }
            if left > 0 { throw Failure(status: ExitStatus.failed) }
        }

        static func json(_ outcomes: [RepairOutcome], registry: String, repair: Bool) -> String {
            let items: [[String: Any]] = outcomes.map { o in
                var item: [String: Any] = ["kind": o.disagreement.kind, "message": o.disagreement.description,
                                           "result": repair ? o.result.rawValue : "found"]
                if let vm = o.disagreement.vm { item["domain"] = vm }
                if !o.detail.isEmpty { item["detail"] = o.detail }
                if let c = o.command { item["command"] = c }
                return item
            }
            let left = outcomes.filter { $0.result == .unresolved }.count
            let doc: [String: Any] = ["registry": registry, "disagreements": items, "left": left, "ok": left == 0]
            let data = (try? JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }
}
