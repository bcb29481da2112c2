import ArgumentParser
import Foundation
import VMSerialKit

struct Adopt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adopt",
        abstract: "Bring a libvirt domain vmserial did not launch under its registry (virt-install, virt-manager, by hand).",
        discussion: """
        Every disk (device='disk', type file or block, on virtio, scsi, sata or nvme)
        becomes a volume, <domain>/<target> unless --volume names it. A disk's
        <serial> is registered as it is: one another volume holds, one too long for
        its bus or with characters other than A-Z a-z 0-9 _ . + - is an error, and
        adopt never shortens or rewrites it. Network disks, storage-pool volumes and
        passed-through LUNs are refused; cdroms and floppies are left alone.

        The domain is redefined only when something changes (a serial added, the
        SMBIOS serial, vmserial's <metadata>), inside the registry transaction: if
        libvirt or the registry refuses, both stay as they were. Every device and
        setting vmserial does not model is kept. A running domain gets the new
        definition at its next boot.

        --smbios keep (the default) registers the SMBIOS serial the guest sees now
        (or none); unique gives the VM vmserial's: its UUID, as launch does.

        EXAMPLES:
          vmserial adopt --domain win10 --dry-run
          vmserial adopt --domain win10 --generate-missing --smbios unique
          vmserial adopt --domain db1 --volume vdb=db-data --json
          vmserial verify --domain win10
        """)

    @Option(name: .long, help: ArgumentHelp("The libvirt domain to adopt.", valueName: "name"))
    var domain: String

    @Flag(name: .long, help: "Give every disk without a <serial> a generated one (otherwise it is registered without).")
    var generateMissing = false

    @Option(name: .long, help: ArgumentHelp("keep: register the SMBIOS serial the guest sees now (or none); unique: give it the VM's UUID, as launch does.", valueName: "keep|unique"))
    var smbios: String = "keep"

    @Option(name: .long, help: ArgumentHelp("The volume identity of the disk with this target (default <domain>/<target>); repeat per disk.", valueName: "target=id"))
    var volume: [String] = []

    @Flag(name: .long, help: "Print a unified diff of the domain XML adopt would define; write nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var registry: RegistryOptions

    func validate() throws {
        guard AdoptSMBIOS(rawValue: smbios) != nil else {
            throw ValidationError("--smbios \(smbios): give keep or unique")
        }
        _ = try AdoptOptions.volumes(volume)
    }

    func run() throws {
        try guarded {
            let options = AdoptOptions(generateMissing: generateMissing, smbios: AdoptSMBIOS(rawValue: smbios) ?? .keep,
                                       volumes: try AdoptOptions.volumes(volume), dryRun: dryRun)
            let conn = try connection.open()
            try Adopter.requireDomain(domain, on: conn)
            let reg = dryRun ? try Adopter.dryRunRegistry(HostPaths.registry(registry.registry)) : try registry.open()
            var adopter = Adopter(connection: conn, registry: reg)
            adopter.log = { progress($0) }
            let view = AdoptView(try adopter.adopt(domain: domain, options: options))
            for w in view.warnings { progress("warning: \(w)") }
            if json {
                print(JSONOutput.encode(view))
            } else if dryRun {
                progress(view.changes.isEmpty ? "\(domain): nothing would change in the definition" : "\(domain): \(view.changes.count) change(s); nothing was written")
                print(view.diff, terminator: "")
            } else {
                print(view.text(uri: conn.uri), terminator: "")
            }
        }
    }
}
