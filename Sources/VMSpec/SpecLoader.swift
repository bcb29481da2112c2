import Foundation
import SerialPolicy

/// Reads, decodes and validates a spec file. Throws `SpecError` with every problem found.
public enum SpecLoader {
    public static func load(path: String, checkFiles: Bool = true) throws -> ResolvedSpec {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file"
            throw SpecError.unreadable(path: path, reason: reason)
        }
        let spec = try decode(data, path: path)
        return try SpecValidator.resolve(spec, specPath: url.standardizedFileURL.path,
                                         baseDirectory: url.deletingLastPathComponent().standardizedFileURL.path,
                                         checkFiles: checkFiles)
    }

    /// JSON → VMSpec, with decoding failures turned into messages that name the field.
    public static func decode(_ data: Data, path: String = "<spec>") throws -> VMSpec {
        do {
            return try JSONDecoder().decode(VMSpec.self, from: data)
        } catch let e as UnknownKeyError {
            let at = e.path.isEmpty ? "the top level" : e.path
            let field = e.path.isEmpty ? e.key : "\(e.path).\(e.key)"
            throw SpecError.invalid(path: path, problems: [
                SpecProblem(field, "unknown key \"\(e.key)\" in \(at)",
                            fix: "remove it or use one of: \(e.known.joined(separator: ", "))"),
            ])
        } catch let e as DecodingError {
            throw SpecError.invalid(path: path, problems: [problem(from: e)])
        } catch {
            throw SpecError.malformed(path: path, reason: "\(error)")
        }
    }

    static func problem(from error: DecodingError) -> SpecProblem {
        switch error {
        case let .keyNotFound(key, ctx):
            let field = jsonPath(ctx.codingPath + [key])
            return SpecProblem(field, "required key \"\(key.stringValue)\" is missing", fix: "add \"\(key.stringValue)\"")
        case let .typeMismatch(type, ctx):
            return SpecProblem(jsonPath(ctx.codingPath), "expected \(describe(type))", fix: "give a value of that type")
        case let .valueNotFound(type, ctx):
            return SpecProblem(jsonPath(ctx.codingPath), "expected \(describe(type)), found null", fix: "give a value or remove the key")
        case let .dataCorrupted(ctx):
            let field = jsonPath(ctx.codingPath)
            if let last = ctx.codingPath.last, let choices = choices(for: last.stringValue, path: ctx.codingPath) {
                // debugDescription names the rejected value ("Cannot initialize Bus from invalid String value ide").
                return SpecProblem(field, "not a valid value (\(ctx.debugDescription))", fix: "use one of: \(choices)")
            }
            if ctx.codingPath.isEmpty {
                let detail = (ctx.underlyingError as NSError?)?.localizedDescription ?? ctx.debugDescription
                return SpecProblem("(file)", "not valid JSON (\(detail))", fix: "check the JSON syntax")
            }
            return SpecProblem(field.isEmpty ? "(file)" : field, ctx.debugDescription, fix: "see the spec reference in README.md")
        @unknown default:
            return SpecProblem("(file)", "\(error)", fix: "see the spec reference in README.md")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "a whole number"
        case is Bool.Type: "true or false"
        case is [VMSpec.Disk].Type, is [Any].Type: "a list"
        default: "\(type)".contains("Dictionary") || "\(type)".contains("Spec") ? "an object" : "\(type)"
        }
    }

    /// The allowed values of an enum-typed key, for "use one of" hints.
    static func choices(for key: String, path: [CodingKey]) -> String? {
        func list<E: CaseIterable & RawRepresentable>(_: E.Type) -> String where E.RawValue == String {
            E.allCases.map(\.rawValue).joined(separator: ", ")
        }
        let inSMBIOS = path.dropLast().last?.stringValue == "smbios"
        switch key {
        case "accel": return list(VMSpec.Accel.self)
        case "machine": return list(VMSpec.Machine.self)
        case "firmware": return list(VMSpec.Firmware.self)
        case "mode" where inSMBIOS: return list(VMSpec.SMBIOS.Mode.self)
        case "bus": return list(Bus.self)
        case "format": return list(VMSpec.Disk.Format.self)
        default: return nil
        }
    }
}
