import ArgumentParser
import Foundation
import VMSerialKit

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Boot the domain's own virtual hardware and prove from inside the guest that it sees the assigned serials.",
        discussion: """
        Mode probe (the default) boots the domain's disks as the VM has them (buses,
        targets, addresses, serials, controllers) with its sysinfo, UUID and machine
        type, and vmserial's probe kernel instead of the guest OS. Devices the probe
        does not read (NICs, graphics, USB, sound, channels, TPM, balloon, ...) are
        left out of its copy. The guest's disks sit behind throw-away overlays,
        so nothing is written to them. The probe reports the SMBIOS serial and UUID
        and each disk's serial, found by its address; each is compared with the
        registry (not with the domain XML, so a serial edited behind vmserial's back
        fails).

        --reboots N adds N boot cycles, alternating a reboot the guest itself
        performs and a destroy/start; --relaunch then undefines the domain, launches
        it again from the registry and verifies once more. --migrate-to DIR then
        moves every disk into DIR (new files; with --live by block copy while a
        probe guest runs, which then reboots) and verifies again. Every cycle must
        show the same identity.

        Mode guest boots the guest's own OS instead. Each disk image is served by
        qemu-nbd for the whole run. Before the boot, libguestfs opens the disks
        through those servers, finds the OS (a quick look for a plain Linux root,
        else full inspection) and installs a one-shot reporter (a systemd unit where
        systemd is the init, an /etc/init.d hook or rc.local otherwise). Each boot,
        the reporter records the SMBIOS serial and UUID, every block device's serial
        and /dev/disk/by-id, on the guest's disk and on a serial port, then reboots
        or powers the guest off as planned. The domain boots from its own definition
        (its disks on the same servers) with its serial ports sent to two files; its
        QEMU is started paused while the appliance works (`virsh list` shows it
        "paused") and runs once the reporter is on the disk. Afterwards the same appliance reads the reports back from the disk, removes
        the reporter and the reports, and the comparison is the probe's plus the
        by-id names. The guest's disks are written by the guest itself (it really
        boots), and by the reporter's files while they exist. Linux guests only;
        Windows is detected and refused (look at it with `vmserial inspect`). Takes
        one libguestfs appliance start (about 10 s under TCG) plus the boots; two
        where the guest must boot on its files: with --migrate-to, when libvirt
        confines QEMU (AppArmor, SELinux), or with VMSERIAL_GUEST_DISKS=files.
        --json tells which under "appliance".

        Build the probe first with `make images` (probe mode).

        EXAMPLES:
          vmserial verify --domain vm1
          vmserial verify --domain vm1 --reboots 2 --relaunch --junit verify.xml
          vmserial verify --domain vm1 --migrate-to /srv/new --live
          vmserial verify --domain vm1 --json | jq .ok
          vmserial verify --domain vm1 --mode guest --reboots 1

        EXIT CODES: 0 every check passed, 1 a check failed or the guest never reported,
        2 bad input (no such domain, no registry entry, probe not built, domain
        running, guest mode on a disk without a Linux OS).
        """)

    @Option(name: .long, help: ArgumentHelp("The domain to verify.", valueName: "name"))
    var domain: String

    @Option(name: .long, help: "probe (boot vmserial's probe kernel on the domain's hardware) or guest (boot the guest's own OS with an installed reporter).")
    var mode: String = "probe"

    @Option(name: .long, help: "Further boot cycles after the first (guest reboot and destroy/start, alternating).")
    var reboots: Int = 0

    @Flag(name: .long, help: "After the cycles, undefine the domain, launch it again from the registry and verify again.")
    var relaunch = false

    @Flag(name: .long, help: "If the domain runs, shut it down for the probe and start it again afterwards.")
    var forceRestart = false

    @Option(name: .long, help: ArgumentHelp("After the cycles, migrate every disk into this folder (new files, same serials) and verify again.", valueName: "dir"))
    var migrateTo: String?

    @Flag(name: .long, help: "With --migrate-to: copy while a probe guest runs (block copy and pivot), then reboot that guest.")
    var live = false

    @Option(name: .long, help: "Seconds one boot may take before the guest counts as silent.")
    var timeout: Double = 180

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    @Flag(name: .long, help: "Probe mode: keep the run folder (each transient domain's XML as libvirt got it, the overlays, the console and report files) and say where. Remove it yourself.")
    var keep = false

    @Flag(name: .long, help: "Also say where the time went, stage by stage (monotonic clock): on standard error, or under \"timings\" with --json.")
    var timings = false

    @Option(name: .long, help: ArgumentHelp("Also write a JUnit XML report to this file.", valueName: "file"))
    var junit: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var registry: RegistryOptions

    func validate() throws {
        guard mode == "probe" || mode == "guest" else {
            throw ValidationError("--mode \(mode) is not a mode; use --mode probe or --mode guest")
        }
        guard reboots >= 0, reboots <= 100 else { throw ValidationError("--reboots must be between 0 and 100") }
        guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
        if keep && mode != "probe" { throw ValidationError("--keep is for --mode probe (guest mode's run folder holds only its disk servers)") }
        if live && migrateTo == nil { throw ValidationError("--live goes with --migrate-to DIR") }
        if let dir = migrateTo {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--migrate-to \(dir) is not an existing folder; create it first")
            }
        }
    }

    func run() throws {
        var ok = false
        let timer = StageTimer()
        try guarded {
            let reg = try registry.openExisting()
            timer.lap(.registryRead)
            let conn = try connection.open()
            timer.lap(.connect)
            let options = VerifyOptions(reboots: reboots, relaunch: relaunch, forceRestart: forceRestart, timeout: timeout,
                                        migrateTo: migrateTo.map { URL(fileURLWithPath: $0).standardizedFileURL.path }, live: live, keep: keep)
            let say: (String) -> Void = { if !json { progress($0) } }
            var report: VerifyReport
            if mode == "guest" {
                var verifier = GuestVerifier(connection: conn, registry: reg)
                verifier.progress = say
                verifier.timer = timer
                report = try verifier.verify(domain: domain, options: options)
            } else {
                var verifier = ProbeVerifier(connection: conn, registry: reg)
                verifier.progress = say
                verifier.timer = timer
                report = try verifier.verify(domain: domain, options: options)
            }
            // What the verifier's clean-up (run folder, appliance, disk servers) took on its way out.
            timer.lap(.cleanup)
            if timings {
                report.timings = timer.times
                if !json { FileHandle.standardError.write(Data(StageTimer.table(timer.times).utf8)) }
            }
            ok = try emit(report, json: json, junit: junit)
        }
        if !ok { throw Failure(status: ExitStatus.failed) }
    }
}
