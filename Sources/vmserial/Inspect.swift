import ArgumentParser
import Foundation
import VMSerialKit

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Read what the guest OS recorded about its disks and machine, offline, and compare it with the registry.",
        discussion: """
        libguestfs opens every disk of the domain read-only (one appliance, nothing
        is written), finds the operating systems on them and reads what each has
        recorded about disk and machine identity:

          Linux    /etc/fstab and /etc/crypttab entries that name disks by the
                   /dev/disk/by-id names udev builds from serials
                   (virtio-SERIAL, scsi-0QEMU_QEMU_HARDDISK_SERIAL, ...): each must
                   name a current disk on its bus, or it will not be found at boot.
          Windows  the SYSTEM hive (control set from Select\\Current). Judged, as
                   only the VM can have caused them: HardwareConfig\\LastConfig
                   (Windows 10+: the SMBIOS UUID it booted on last) must be the
                   VM's UUID; disk instances whose device ID one of the VM's buses
                   presents (viostor, vioscsi, storahci, stornvme) and that record
                   a serial must be a current disk's; drive letters in
                   MountedDevices bound to a current disk's signature or GPT GUID
                   must find their partition, and a letter of a gone VM disk will
                   move. Listed: earlier hardware configurations, instances of
                   USB, physical and other hypervisors' disks (history), the SAN
                   policy, what the partition manager keeps per current disk.
                   SMBiosData is judged where a hive keeps it (real ones do not).

        A running domain is inspected too, with a warning: its disks may be
        mid-write.

        EXAMPLES:
          vmserial inspect --domain vm1
          vmserial inspect --domain win1 --json | jq '.systems[].findings[]'

        EXIT CODES: 0 every recorded identity matches (or nothing is recorded),
        1 one disagrees with the registry (or libguestfs failed), 2 bad input (no
        such domain, no registry entry, a disk image missing).
        """)

    @Option(name: .long, help: ArgumentHelp("The domain to inspect.", valueName: "name"))
    var domain: String

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        var ok = false
        try guarded {
            let reg = try registry.openExisting()
            let conn = try connection.open()
            var inspector = DomainInspector(connection: conn, registry: reg)
            inspector.progress = { if !json { progress($0) } }
            let report = try inspector.inspect(domain: domain)
            if json {
                for w in report.warnings { progress("warning: \(w)") }
                print(report.json())
            } else {
                print(report.table(), terminator: "")
            }
            ok = report.ok
        }
        if !ok { throw Failure(status: ExitStatus.failed) }
    }
}
