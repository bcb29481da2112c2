import ArgumentParser
import DomainXML
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
        """,
        subcommands: [Export.self, Import.self, Check.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
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
            abstract: "Report duplicates, volumes bound to two paths and (with --connect) domains whose serials disagree with the registry.",
            discussion: """
            Prints one line per finding; exit 0 when there is none, 1 when there are.
            """)

        @OptionGroup var registry: RegistryOptions

        @Option(name: .long, help: ArgumentHelp("Also compare the domains defined on this libvirt connection with the registry.", valueName: "uri"))
        var connect: String?

        func run() throws {
            var findings: [String] = []
            try guarded {
                let reg = try registry.openExisting()
                findings = try reg.check()
                if let connect {
                    findings += try Self.compare(reg.assignments(), with: Connect.open(connect))
                }
                if findings.isEmpty {
                    print("registry \(reg.path): no findings")
                } else {
                    print(findings.joined(separator: "\n"))
                }
            }
            if !findings.isEmpty { throw Failure(status: ExitStatus.failed) }
        }

        /// A domain's UUID and disk serials as libvirt has them, against the registry's.
        static func compare(_ assignments: [Assignment], with connection: Connection) throws -> [String] {
            var findings: [String] = []
            for a in assignments {
                guard (try? connection.domainExists(name: a.vm)) == true else { continue }
                let domain = try connection.lookupDomain(name: a.vm)
                let xml = try DomainXML.Domain(xml: domain.xmlDesc(inactive: true))
                if let uuid = xml.uuid, uuid.lowercased() != a.uuid {
                    findings.append("domain \(a.vm): libvirt has UUID \(uuid), the registry \(a.uuid)")
                }
                for d in a.disks {
                    guard let disk = xml.devices.disks.first(where: { $0.targetDev == d.target }) else {
                        findings.append("domain \(a.vm): no disk \(d.target) in libvirt, the registry has disk \(d.name) (volume \(d.volume)) there")
                        continue
                    }
                    let have = disk.serial?.trimmingCharacters(in: .whitespaces)
                    if have != d.serial {
                        findings.append("domain \(a.vm) disk \(d.target) (volume \(d.volume)): libvirt has serial \(have ?? "(none)"), the registry \(d.serial ?? "(none)")")
                    }
                }
            }
            return findings
        }
    }
}
