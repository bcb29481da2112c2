import ArgumentParser
import Foundation
import VMSerialKit

struct SpecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spec",
        abstract: "Write a VM spec that launches a domain equivalent to a defined one.",
        discussion: """
        The spec holds the domain's name, UUID, size, machine, boot, SMBIOS mode and
        disks (bus, target, volume, user-given serials; generated serials come back
        from the registry through the volume). Devices a spec cannot hold (network,
        graphics, USB, …) are listed on standard error. The spec is validated as
        launch would.

        EXAMPLES:
          vmserial spec --domain win10 --output win10.json
          vmserial launch win10.json --dry-run
        """)

    @Option(name: .long, help: ArgumentHelp("The libvirt domain.", valueName: "name"))
    var domain: String

    @Option(name: .long, help: ArgumentHelp("Write the spec to this file (default: standard output).", valueName: "file"))
    var output: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        try guarded {
            let conn = try connection.open()
            let reg = try Adopter.dryRunRegistry(HostPaths.registry(registry.registry))
            let made = try Adopter(connection: conn, registry: reg).spec(domain: domain)
            for w in made.warnings { progress("warning: \(w)") }
            if let output {
                do {
                    try made.json.write(toFile: output, atomically: true, encoding: .utf8)
                } catch {
                    throw VMSerialError.badInput("cannot write the spec to \(output): \(error.localizedDescription)")
                }
            } else {
                print(made.json, terminator: "")
            }
        }
    }
}
