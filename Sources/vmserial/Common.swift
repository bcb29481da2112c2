import ArgumentParser
import Foundation
import VMSerialKit

struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("libvirt URI (default: LIBVIRT_DEFAULT_URI, else qemu:///system when its daemon answers, else qemu:///session).", valueName: "uri"))
    var connect: String?

    /// The libvirt connection this command uses (`--verbose` says which).
    func open() throws -> Connection {
        try Self.open(connect)
    }

    static func open(_ uri: String?) throws -> Connection {
        let connection = try Connect.open(uri)
        detail("libvirt: \(connection.uri)")
        return connection
    }
}

struct RegistryOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Registry: a SQLite file (PATH or sqlite:PATH) or a PostgreSQL database (postgres://USER@HOST:PORT/DB[?sslmode=verify-full&sslrootcert=CA.pem]) (default: VMSERIAL_REGISTRY, else /var/lib/vmserial/registry.sqlite for root, $XDG_STATE_HOME/vmserial/registry.sqlite otherwise).", valueName: "location"))
    var registry: String?

    /// The registry this command uses, created (or its schema upgraded) if needed.
    func open() throws -> any Registry {
        let location = HostPaths.registry(registry)
        detail("registry: \(RegistryFactory.display(location))")
        return try RegistryFactory.open(location)
    }

    /// Opens the registry only if it exists (read-only commands must not create one).
    func openExisting() throws -> any Registry {
        let location = HostPaths.registry(registry)
        detail("registry: \(RegistryFactory.display(location))")
        guard let reg = try RegistryFactory.openExisting(location) else {
            throw VMSerialError.badInput("no registry at \(RegistryFactory.display(location)); launch a VM first with `vmserial launch SPEC`, or pass --registry")
        }
        return reg
    }
}

/// Writes the JUnit file when asked and prints the report (JSON or a table); returns whether it passed.
func emit(_ report: some RunReport, json: Bool, junit: String?) throws -> Bool {
    if let junit {
        do {
            try report.junit().write(toFile: junit, atomically: true, encoding: .utf8)
        } catch {
            throw VMSerialError.badInput("cannot write the JUnit report to \(junit): \(error.localizedDescription)")
        }
    }
    print(json ? report.json() : report.table(), terminator: json ? "\n" : "")
    return report.ok
}

/// Runs a command body: library errors print as one clear line and exit with the documented status.
/// After Ctrl-C or SIGTERM the clean-up runs on another thread and ends the process with 130 or 143; the command's
/// own thread, whose work was cut short under it, waits for that instead of exiting first.
func guarded(_ body: () throws -> Void) throws {
    do {
        try body()
        Interrupts.shared.parkIfInterrupted()
    } catch let f as Failure {
        Interrupts.shared.parkIfInterrupted()
        throw f
    } catch {
        Interrupts.shared.parkIfInterrupted()
        FileHandle.standardError.write(Data("vmserial: error: \(error)\n".utf8))
        throw Failure(status: ExitStatus.of(error))
    }
}

extension Failure: CustomStringConvertible {
    var description: String { "exit \(status)" }
}
