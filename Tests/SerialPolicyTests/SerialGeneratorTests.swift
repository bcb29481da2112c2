import Testing
@testable import SerialPolicy

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seedable generator, so a test can
/// draw the same serials twice.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("SerialGenerator")
struct SerialGeneratorTests {
    @Test func alphabetIsCrockfordWithoutAmbiguousLetters() {
        let alphabet = String(SerialGenerator.alphabet)
        #expect(alphabet == "0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        #expect(SerialGenerator.alphabet.count == 32)
        for ambiguous in "ILOU" { #expect(!SerialGenerator.alphabet.contains(ambiguous)) }
    }

    @Test func serialHasPrefixLengthAndAlphabet() {
        let g = SerialGenerator()
        for _ in 0..<1000 {
            let s = g.next()
            #expect(s.count == 20)
            #expect(s.utf8.count == 20)
            #expect(s.hasPrefix("VS"))
            #expect(s.allSatisfy { ($0.isUppercase && $0.isASCII && $0.isLetter) || ($0.isASCII && $0.isNumber) },
                    "\(s) has a character that is not an upper-case letter or digit")
            #expect(s.dropFirst(2).allSatisfy { SerialGenerator.alphabet.contains($0) })
        }
    }

    @Test func generatedSerialFitsEveryBus() {
        let s = SerialGenerator().next()
        for bus in Bus.allCases {
            #expect(SerialRules.problems(serial: s, bus: bus) == [], "\(s) rejected on \(bus)")
        }
    }

    @Test func hundredThousandDrawsAreUnique() {
        let g = SerialGenerator()
        var seen = Set<String>()
        seen.reserveCapacity(100_000)
        for _ in 0..<100_000 { seen.insert(g.next()) }
        #expect(seen.count == 100_000)
    }

    @Test func sameSeedGivesSameSerials() {
        let g = SerialGenerator()
        var a = SplitMix64(seed: 42)
        var b = SplitMix64(seed: 42)
        let first = (0..<50).map { _ in g.next(using: &a) }
        let second = (0..<50).map { _ in g.next(using: &b) }
        #expect(first == second)
        #expect(Set(first).count == 50)
        var c = SplitMix64(seed: 43)
        let other = (0..<50).map { _ in g.next(using: &c) }
        #expect(other != first)
    }

    @Test func seededSerialsUseTheWholeAlphabet() {
        // A generator that ignored the RNG's high bits or the last symbols would miss some.
        let g = SerialGenerator()
        var rng = SplitMix64(seed: 7)
        var symbols = Set<Character>()
        for _ in 0..<200 { symbols.formUnion(g.next(using: &rng).dropFirst(2)) }
        #expect(symbols == Set(SerialGenerator.alphabet))
    }

    @Test(arguments: [
        ("VS0123456789ABCDEFGH", true),
        ("VSZZZZZZZZZZZZZZZZZZ", true),
        ("VS0123456789ABCDEFG", false),     // 19
        ("VS0123456789ABCDEFGHJ", false),   // 21
        ("XS0123456789ABCDEFGH", false),    // wrong prefix
        ("VS0123456789ABCDEFGI", false),    // I is not in the alphabet
        ("VS0123456789ABCDEFGO", false),    // O neither
        ("VS0123456789abcdefgh", false),    // lower case
        ("VS0123456789ABCDEF-H", false),
        ("MANUAL-0001", false),
        ("", false),
    ])
    func looksGenerated(serial: String, expected: Bool) {
        #expect(SerialGenerator.looksGenerated(serial) == expected)
    }

    @Test func drawnSerialsLookGenerated() {
        let g = SerialGenerator()
        var rng = SplitMix64(seed: 1)
        for _ in 0..<100 { #expect(SerialGenerator.looksGenerated(g.next(using: &rng))) }
        #expect(SerialGenerator.looksGenerated(g.next()))
    }
}
