import ArgumentParser
import Foundation
import VMSerialKit

@main
struct VMSerial: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmserial",
        abstract: "Give libvirt guests disk serials and an SMBIOS serial that never change, and prove it from inside the guest.",
        discussion: """
        Windows guests and licensed software break when virtual hardware changes
        identity: a disk whose serial changes comes back offline, a licence tied to
        the SMBIOS serial asks for reactivation. vmserial generates a serial for
        every disk that has none, keeps it in a registry (never in your spec), binds
        it to the volume rather than the file, and gives each VM an SMBIOS serial of
        its own (its UUID by default).

        EXAMPLES:
          vmserial launch examples/vm1.json            define and start vm1
          vmserial launch examples/vm1.json --dry-run  print the XML, change nothing
          vmserial serials --domain vm1                what vm1 was given
          vmserial verify --domain vm1 --reboots 2     verify, reboot twice, verify again

        EXIT CODES:
          0    done / every check passed
          1    failed / a check failed (the guest saw something else)
          2    bad input: a wrong spec or flag, no such domain, no registry
               entry, probe not built
          130  interrupted (Ctrl-C); probe guests and partial files removed
          143  terminated (SIGTERM); the same clean-up as Ctrl-C

        GLOBAL OPTIONS (before or after the subcommand):
          --quiet    no progress lines; warnings, errors and results still
          --verbose  also say which libvirt connection and registry are used

        ENVIRONMENT:
          LIBVIRT_DEFAULT_URI  connection when --connect is not given (else
                               qemu:///system when its daemon answers, else
                               qemu:///session)
          VMSERIAL_REGISTRY    registry when --registry is not given
                               (default /var/lib/vmserial/registry.sqlite for root)
          VMSERIAL_ACCEL       auto, kvm or tcg: overrides the spec's accel
          VMSERIAL_IMAGES      folder with the probe guest (`make images`)
        """,
        version: "0.1.0",
        subcommands: [Launch.self, Adopt.self, SpecCommand.self, Serials.self, Verify.self, Migrate.self, Inspect.self, ScenarioCommand.self, RegistryCommand.self, Reporter.self]
    )

    /// ArgumentParser exits 64 on usage errors; vmserial documents 2 for all bad input.
    static func main() {
        Interrupts.shared.install()
        // No file vmserial creates (copies, caches, logs) is writable by group or others, whatever
        // umask it was started with; files with secrets (registry, run folders) are narrower still.
        umask(umask(0o022) | 0o022)
        let (verbosity, arguments) = Verbosity.take(from: Array(CommandLine.arguments.dropFirst()))
        Verbosity.current = verbosity
        do {
            var command = try parseLaunchAlone(arguments) ?? parseAsRoot(arguments)
            try command.run()
        } catch let f as Failure {
            Foundation.exit(f.status)
        } catch {
            // Help and --version are "errors" that exit 0; everything else here is a usage error.
            if exitCode(for: error) == .success { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(ExitStatus.badInput)
        }
        Foundation.exit(0)
    }
}

extension VMSerial {
    /// `vmserial launch` runs once per VM start on every host of a fleet, so its start-up counts,
    /// and ArgumentParser's reflection over options is a large share of it (perf): the whole
    /// command tree about 5 ms of CPU in a release build, `Launch` alone about 2.5 ms. So the plain
    /// forms are read by `Launch.plain`, other valid `launch` arguments by `Launch` alone, and
    /// anything else (help, a usage error) returns nil and takes the full path, so messages and
    /// exit codes stay those of `vmserial launch`.
    static func parseLaunchAlone(_ arguments: [String]) -> ParsableCommand? {
        guard arguments.first == "launch" else { return nil }
        let rest = Array(arguments.dropFirst())
        // parseAsRoot answers --help with a help command of its own, which would show `launch`
        // without `vmserial`: only a parsed Launch is taken.
        return Launch.plain(rest) ?? (try? Launch.parseAsRoot(rest)) as? Launch
    }
}

/// Thrown by commands after they printed their own output (a failed check) to set the exit status.
struct Failure: Error {
    let status: Int32
}
