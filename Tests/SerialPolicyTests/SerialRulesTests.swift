import Testing
@testable import SerialPolicy

@Suite("SerialRules")
struct SerialRulesTests {
    @Test(arguments: [(Bus.virtio, 20), (.sata, 20), (.nvme, 20), (.scsi, 36)])
    func busLimits(bus: Bus, limit: Int) {
        #expect(bus.serialLimit == limit)
    }

    @Test(arguments: [(Bus.virtio, 20), (.sata, 20), (.nvme, 20), (.scsi, 36)])
    func exactlyAtTheLimitIsAccepted(bus: Bus, limit: Int) {
        let serial = String(repeating: "A", count: limit)
        #expect(SerialRules.problems(serial: serial, bus: bus) == [])
    }

    @Test(arguments: [(Bus.virtio, 20), (.sata, 20), (.nvme, 20), (.scsi, 36)])
    func oneOverTheLimitIsTooLong(bus: Bus, limit: Int) {
        let serial = String(repeating: "7", count: limit + 1)
        #expect(SerialRules.problems(serial: serial, bus: bus) == [.tooLong(length: limit + 1, limit: limit, bus: bus)])
    }

    @Test func tooLongMessageNamesLengthBusAndLimit() {
        let p = SerialProblem.tooLong(length: 21, limit: 20, bus: .virtio)
        #expect(p.description.contains("21"))
        #expect(p.description.contains("virtio"))
        #expect(p.description.contains("20"))
    }

    @Test(arguments: [
        ("DISK 01", [" "] as [Character]),
        ("disk/01", ["/"]),
        ("DISKé01", ["é"]),
        ("DISK#01", ["#"]),
        ("a b/c#dé e", [" ", "/", "#", "é"]),   // each reported once, in order of appearance
        ("tab\there", ["\t"]),
    ])
    func badCharactersAreReported(serial: String, bad: [Character]) {
        #expect(SerialRules.problems(serial: serial, bus: .scsi) == [.badCharacters(bad)])
    }

    @Test func badCharacterMessageShowsTheSpaceByName() {
        let p = SerialProblem.badCharacters([" ", "#"])
        #expect(p.description.contains("' ' (space)"))
        #expect(p.description.contains("'#'"))
    }

    @Test func badCharactersAndLengthAreBothReported() {
        let serial = String(repeating: "A", count: 20) + "#"
        #expect(SerialRules.problems(serial: serial, bus: .virtio) == [
            .badCharacters(["#"]), .tooLong(length: 21, limit: 20, bus: .virtio),
        ])
    }

    @Test func lengthIsCountedInBytes() {
        // 19 characters, 20 bytes: the device keeps bytes, so a multi-byte character counts double.
        let serial = String(repeating: "A", count: 18) + "é"
        #expect(serial.count == 19)
        let problems = SerialRules.problems(serial: serial, bus: .virtio)
        #expect(problems == [.badCharacters(["é"])])
        let long = String(repeating: "A", count: 19) + "é"
        #expect(SerialRules.problems(serial: long, bus: .virtio) == [
            .badCharacters(["é"]), .tooLong(length: 21, limit: 20, bus: .virtio),
        ])
    }

    @Test func emptyIsOneProblem() {
        for bus in Bus.allCases {
            #expect(SerialRules.problems(serial: "", bus: bus) == [.empty])
        }
    }

    @Test(arguments: ["A", "z", "0", "9", "_", ".", "+", "-"] as [Character])
    func allowedCharacters(c: Character) {
        #expect(SerialRules.isAllowed(c))
    }

    @Test(arguments: [" ", "/", "#", "é", ":", ",", "\0", "Ａ", "١"] as [Character])
    func refusedCharacters(c: Character) {
        #expect(!SerialRules.isAllowed(c))
    }

    @Test func typicalSerialsPass() {
        #expect(SerialRules.problems(serial: "MANUAL-0001", bus: .scsi) == [])
        #expect(SerialRules.problems(serial: "disk_1.v2+x-y", bus: .virtio) == [])
    }
}

@Suite("VolumeIdentity and Bus")
struct VolumeIdentityTests {
    @Test func namedVolumeWins() {
        #expect(VolumeIdentity.of(vm: "vm1", disk: "share", volume: "team-share") == VolumeIdentity("team-share"))
        #expect(VolumeIdentity.of(vm: "vm2", disk: "other", volume: "team-share").value == "team-share")
    }

    @Test func withoutVolumeItIsVMSlashDisk() {
        #expect(VolumeIdentity.of(vm: "vm1", disk: "root", volume: nil).value == "vm1/root")
        #expect(VolumeIdentity.of(vm: "vm1", disk: "root", volume: "").value == "vm1/root")
        #expect(VolumeIdentity.of(vm: "vm2", disk: "root", volume: nil) != VolumeIdentity.of(vm: "vm1", disk: "root", volume: nil))
    }

    @Test func orderAndDescription() {
        #expect(VolumeIdentity("a/b") < VolumeIdentity("b/a"))
        #expect(VolumeIdentity("vm1/root").description == "vm1/root")
    }

    @Test(arguments: [(Bus.virtio, "virtio", "vd"), (.scsi, "scsi", "sd"), (.sata, "sata", "sd")])
    func libvirtNames(bus: Bus, libvirt: String, prefix: String) {
        #expect(bus.libvirtBus == libvirt)
        #expect(bus.targetPrefix == prefix)
    }

    /// libvirt 9 has no NVMe disk bus: an NVMe disk is a virtio disk with an overridden frontend.
    @Test func nvmeIsAVirtioDiskToLibvirt() {
        #expect(Bus.nvme.libvirtBus == "virtio")
        #expect(Bus.nvme.targetPrefix == "vd")
    }
}
