/// A coding key for any string, so a decoder can list the keys a JSON object really has.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Thrown while decoding when an object has a key the spec does not define.
struct UnknownKeyError: Error {
    let path: String
    let key: String
    let known: [String]
}

/// Rejects keys not in `Keys`: a misspelt `serail` must not be ignored silently.
func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_ decoder: Decoder, _: Keys.Type) throws {
    let container = try decoder.container(keyedBy: AnyKey.self)
    let known = Keys.allCases.map(\.stringValue)
    for key in container.allKeys where !known.contains(key.stringValue) {
        throw UnknownKeyError(path: jsonPath(decoder.codingPath), key: key.stringValue, known: known)
    }
}

/// `disks[1].serial` from a coding path.
func jsonPath(_ path: [CodingKey]) -> String {
    var out = ""
    for key in path {
        if let i = key.intValue {
            out += "[\(i)]"
        } else {
            out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
        }
    }
    return out
}
