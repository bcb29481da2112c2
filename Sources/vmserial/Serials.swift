import ArgumentParser
import Foundation
import VMSerialKit

struct Serials: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serials",
        abstract: "Show the serials and UUID vmserial assigned, from its registry.",
        discussion: """
        EXAMPLES:
          vmserial serials                     every VM in the registry
          vmserial serials --domain vm1 --json
        """)

    @Option(name: .long, help: ArgumentHelp("Only this VM (domain name).", valueName: "name"))
    var domain: String?

    @OptionGroup var registry: RegistryOptions

    @Flag(name: .long, help: "Print JSON: one object with --domain, a list without.")
    var json = false

    func run() throws {
        try guarded {
            let reg = try registry.openExisting()
            if let domain {
                guard let a = try reg.assignment(vm: domain) else {
                    throw VMSerialError.badInput("no VM named \(domain) in the registry \(reg.path); launch it first with `vmserial launch SPEC`")
                }
                print(json ? JSONOutput.encode(AssignmentView(a)) : AssignmentView(a).table(), terminator: json ? "\n" : "")
            } else {
                let all = try reg.assignments().map(AssignmentView.init)
                if json {
                    print(JSONOutput.encode(all))
                } else if all.isEmpty {
                    print("no VMs in the registry \(reg.path)")
                } else {
                    print(all.map { $0.table() }.joined(separator: "\n"), terminator: "")
                }
            }
        }
    }
}
