/// Draws disk serials: random, upper-case letters and digits, short enough for every bus.
///
/// Random rather than derived from names or paths: a derived serial changes when the
/// name or path does (the reason KubeVirt's later proposal gave up fleet uniqueness),
/// and two fleets deriving from the same names collide. Uniqueness is enforced by the
/// registry's UNIQUE constraint; this type only makes collisions improbable.
public struct SerialGenerator: Sendable {
    /// Crockford-style alphabet without I, L, O, U: no serial reads as another when typed.
    public static let alphabet: [Character] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    /// A fixed prefix marks serials vmserial generated ("VS"), which helps in support cases.
    public static let prefix = "VS"
    /// 2 + 18 = 20: the smallest limit of any bus (virtio-blk, ATA, NVMe).
    public static let length = 20

    /// Where serials come from instead of the random draw (tests: a source that collides).
    let source: (@Sendable () -> String)?

    public init() {
        source = nil
    }

    /// A generator whose serials are `source`'s, for tests of what happens when a drawn serial is
    /// already taken: with 90 random bits that never happens by chance.
    package init(source: @escaping @Sendable () -> String) {
        self.source = source
    }

    /// One new serial. 18 symbols of 5 bits: 90 bits of randomness.
    public func next() -> String {
        if let source { return source() }
        var rng = SystemRandomNumberGenerator()
        return next(using: &rng)
    }

    public func next<R: RandomNumberGenerator>(using rng: inout R) -> String {
        var s = Self.prefix
        s.reserveCapacity(Self.length)
        for _ in 0..<(Self.length - Self.prefix.count) {
            s.append(Self.alphabet[Int(rng.next(upperBound: UInt8(Self.alphabet.count)))])
        }
        return s
    }

    /// True if `serial` has the shape of one this generator makes.
    public static func looksGenerated(_ serial: String) -> Bool {
        serial.count == length && serial.hasPrefix(prefix)
            && serial.dropFirst(prefix.count).allSatisfy { alphabet.contains($0) }
    }
}
