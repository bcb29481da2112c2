import ArgumentParser
import Foundation
import VMSerialKit

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read what the guest OS recorded about its disks and machine, offline, and compare it with the registry.",
        discussion: """
        libguestfs opens every disk of the domain read-only (one appliance, nothing
        is written), finds the operating systems on them and reads what each has
        recorded about disk and machine identity:

          Linux    /etc/fstab and /etc/crypttab entries that name disks by the
                   /dev/disk/by-id names udev builds from serials
                   (virtio-SERIAL, scsi-0QEMU_QEMU_HARDDISK_SERIAL, ...): each must
                   name a current disk on its bus, or it will not be found at boot.
          Windows  the SYSTEM hive (control set from Select\\Current): the SMBIOS
                   table Windows last saw (Services\\mssmbios\\Data\\SMBiosData),
                   whose serial and UUID must be the VM's; the disk instances under
                   Enum (SCSI, IDE, STORAGE, NVME, USBSTOR) that record a serial
                   (a SerialNumber value, or an instance ID built from it), each of
                   which must be a current disk's, else it is the trace of a serial
                   change; and MountedDevices, listed.

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
            let conn = try Connect.open(connection.connect)
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
