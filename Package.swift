// swift-tools-version: 6.1
import Foundation
import PackageDescription

let package = Package(
    name: "vmserial",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vmserial", targets: ["vmserial"]),
        .library(name: "VMSerialKit", targets: ["VMSerialKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        // C libraries from Debian (libvirt-dev, libguestfs-dev), found through pkg-config.
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt", providers: [.apt(["libvirt-dev"])]),
        .systemLibrary(name: "CGuestfs", pkgConfig: "libguestfs", providers: [.apt(["libguestfs-dev"])]),

        // Blocking work (C calls, process waits) on threads of its own, off the cooperative pool;
        // one process runner for product and tests on top of it.
        .target(name: "Blocking"),
        .target(name: "ProcessRunner", dependencies: ["Blocking"]),

        // Spec → serial policy → registry → domain XML → libvirt → verifier → report.
        .target(name: "SerialPolicy"),
        .target(name: "VMSpec", dependencies: ["SerialPolicy"]),
        .target(name: "SerialRegistry", dependencies: [
            "SerialPolicy",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "DomainXML"),
        .target(name: "Libvirt", dependencies: ["CLibvirt", "Blocking"]),
        .target(name: "Verifier", dependencies: ["DomainXML", "SerialPolicy"]),
        // libguestfs from Swift (the C API's _argv functions), and what vmserial reads through it.
        .target(name: "Guestfs", dependencies: ["CGuestfs"]),
        .target(name: "Inspection", dependencies: ["Guestfs", "SerialPolicy"]),
        // Scenario files, facts and expectations (pure: no libvirt, no libguestfs calls).
        .target(name: "Scenario", dependencies: ["VMSpec", "SerialPolicy", "DomainXML", "Verifier", "Inspection"]),
        .target(name: "VMSerialKit", dependencies: [
            "VMSpec", "SerialPolicy", "SerialRegistry", "DomainXML", "Libvirt", "Verifier",
            "Guestfs", "Inspection", "Scenario", "ProcessRunner", "Blocking",
        ]),
        // The parsers of untrusted input as functions of bytes, for the fuzz pass in the tests and `make fuzz`.
        .target(name: "FuzzTargets", dependencies: ["VMSpec", "Scenario", "Verifier", "DomainXML", "Inspection", "TestSupport"]),
        // The command line: a thin layer of argument parsing and output over VMSerialKit.
        .executableTarget(name: "vmserial", dependencies: [
            "VMSerialKit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: [
            // With the Swift runtime linked statically, swiftc exports every symbol of the
            // executable (40 000 of them) to the dynamic loader, which nothing here looks up; the
            // loader and the runtime's start-up scan of them cost about 1 ms per command.
            .unsafeFlags(["-Xlinker", "--no-export-dynamic"], .when(platforms: [.linux], configuration: .release)),
        ]),

        // Writers of what the product only reads (registry hives, SMBIOS tables): tests only.
        .target(name: "TestSupport", dependencies: ["Inspection", "Guestfs"], path: "Tests/TestSupport"),

        // Fast unit tests: no daemon, no guest (libvirt's test:///default at most).
        .testTarget(name: "BlockingTests", dependencies: ["Blocking"]),
        .testTarget(name: "ProcessRunnerTests", dependencies: ["ProcessRunner"]),
        .testTarget(name: "SerialPolicyTests", dependencies: ["SerialPolicy"]),
        .testTarget(name: "VMSpecTests", dependencies: ["VMSpec"]),
        .testTarget(name: "SerialRegistryTests", dependencies: ["SerialRegistry"]),
        .testTarget(name: "DomainXMLTests", dependencies: ["DomainXML", "ProcessRunner"]),
        .testTarget(name: "LibvirtTests", dependencies: ["Libvirt", "Blocking"]),
        .testTarget(name: "VerifierTests", dependencies: ["Verifier"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ScenarioTests", dependencies: ["Scenario", "Verifier", "DomainXML", "VMSpec"]),
        .testTarget(name: "InspectionTests", dependencies: ["Inspection", "Guestfs", "SerialPolicy", "ProcessRunner", "TestSupport"], resources: [.copy("Fixtures")]),
        // Starts real libguestfs appliances (TCG here: about 10 s each).
        .testTarget(name: "GuestfsTests", dependencies: ["Guestfs", "ProcessRunner", "Blocking"]),
        .testTarget(name: "VMSerialKitTests", dependencies: ["VMSerialKit", "DomainXML", "Guestfs", "Inspection", "ProcessRunner", "TestSupport"]),
        // A short seeded mutation pass over every parser of untrusted input (`make fuzz` runs libFuzzer for longer).
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets", "Inspection"]),
        // Real libvirt, real QEMU (TCG here), real guests: `make integration`.
        .testTarget(name: "IntegrationTests",
                    dependencies: ["VMSerialKit", "Libvirt", "DomainXML", "SerialRegistry", "Verifier", "VMSpec",
                                   "Guestfs", "Inspection", "Scenario", "ProcessRunner", "TestSupport"],
                    path: "IntegrationTests"),
    ]
)

// libFuzzer drivers, one per parser (`make fuzz`), only when asked for: they need
// `-sanitize=fuzzer`, which the normal build must not get.
if ProcessInfo.processInfo.environment["VMSERIAL_FUZZ"] == "1" {
    package.targets.append(.executableTarget(name: "vmserial-fuzz", dependencies: ["FuzzTargets"], path: "Fuzz/Sources/vmserial-fuzz"))
}
