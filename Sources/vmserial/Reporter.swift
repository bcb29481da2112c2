import ArgumentParser
import Foundation
import VMSerialKit

struct Reporter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reporter",
        abstract: "Write the in-guest reporter of `verify --mode guest` into a folder, to install by hand.",
        discussion: """
        `verify --mode guest` installs these files itself (through libguestfs) and removes
        them afterwards. Writing them out helps to reproduce a serial problem by hand: copy
        them into a guest (virt-copy-in, or the guest's own tools), boot it, and read the
        report from its second serial port or from \(GuestReporter.stateDirectory).

        Files written:
          vmserial-report            the reporter (POSIX sh) -> \(GuestReporter.scriptPath)
          S99vmserial-report         init.d hook              -> \(GuestReporter.initdHookPath)
          vmserial-report.service    systemd unit             -> \(GuestReporter.systemdUnitPath)
                                     (enable: link it from \(GuestReporter.systemdWantsLink))
          rc.local-hook              lines for /etc/rc.local, before its `exit 0`
          plan                       what to do after each boot, one line per boot
                                     (poweroff, reboot or stay) -> \(GuestReporter.planPath)

        EXAMPLES:
          vmserial reporter --output /tmp/reporter
        """)

    @Option(name: .long, help: ArgumentHelp("The folder to write the files into (created if needed; existing files are replaced).", valueName: "dir"))
    var output: String

    func run() throws {
        try guarded {
            let fm = FileManager.default
            do {
                try fm.createDirectory(atPath: output, withIntermediateDirectories: true)
                let files: [(String, String, Int16)] = [
                    ("vmserial-report", GuestReporter.script, 0o755),
                    ("S99vmserial-report", GuestReporter.initdHook, 0o755),
                    ("vmserial-report.service", GuestReporter.systemdUnit, 0o644),
                    ("rc.local-hook", GuestReporter.rcLocalHook, 0o644),
                    ("plan", "poweroff\n", 0o644),
                ]
                for (name, text, mode) in files {
                    let path = (output as NSString).appendingPathComponent(name)
                    try text.write(toFile: path, atomically: true, encoding: .utf8)
                    try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
                    print(path)
                }
            } catch {
                throw VMSerialError.badInput("cannot write the reporter into \(output): \(error.localizedDescription)")
            }
        }
    }
}
