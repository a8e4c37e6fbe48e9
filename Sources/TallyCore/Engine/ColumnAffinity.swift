import Foundation
import GRDB

/// A column's type affinity, from its declared type (sqlite.org/datatype3.html §3.1),
/// and what SQLite does to a constant compared with that column.
///
/// `WHERE isActive = 1` on a column declared `TEXT` compares with the text
/// `'1'`; on one declared `INTEGER`, a constant `'1'` becomes the integer 1.
/// Strategies that compare in Swift (single-pass, rollups) apply the same
/// conversion to their filter constants, so that they select the rows SQL
/// selects.
enum ColumnAffinity: Sendable, Equatable {
    case integer, text, blob, real, numeric

    /// The rules of §3.1, in order.
    init(declaredType: String) {
        let type = declaredType.uppercased()
        if type.contains("INT") {
            self = .integer
        } else if type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT") {
            self = .text
        } else if type.contains("BLOB") || type.isEmpty {
            self = .blob
        } else if type.contains("REAL") || type.contains("FLOA") || type.contains("DOUB") {
            self = .real
        } else {
            self = .numeric
        }
    }

    /// The affinities of `table`'s columns, from GRDB's schema cache (no
    /// statement once the connection has read the schema); through a
    /// schema map, those of its view's columns (`MappedSchema.Source`).
    static func of(table: String, in db: Database, mapping: MappedSchema?) throws -> [String: ColumnAffinity] {
        if let mapping { return mapping.sources[table]?.affinities ?? [:] }
        var result: [String: ColumnAffinity] = [:]
        for column in try db.columns(in: table) {
            result[column.name] = ColumnAffinity(declaredType: column.type)
        }
        return result
    }

    /// The constant a comparison `column = constant` actually compares
    /// (§4.2): a numeric column applies NUMERIC affinity to it, a text
    /// column TEXT affinity, a blob column nothing.
    func comparand(_ value: StatValue) -> StatValue {
        switch self {
        case .integer, .real, .numeric:
            if case .text(let text) = value, let number = Self.number(text) { return number }
            return value
        case .text:
            switch value {
            case .integer(let v): return .text(String(v))
            case .real(let v): return .text(Self.text(of: v))
            default: return value
            }
        case .blob:
            return value
        }
    }

    /// The number a text spells as SQLite's numeric affinity reads it
    /// (surrounding spaces allowed; a real that is exactly an integer becomes
    /// that integer), or nil when it is not a well-formed number.
    static func number(_ text: String) -> StatValue? {
        let trimmed = text.trimmingCharacters(in: CharacterSet(charactersIn: " \t\n\r\u{0B}\u{0C}"))
        guard !trimmed.isEmpty else { return nil }
        let bytes = Array(trimmed.utf8)
        var i = 0
        if bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
        var digits = 0, isInteger = true
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1; digits += 1 }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1; digits += 1 }
        }
        guard digits > 0 else { return nil }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            isInteger = false
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            var exponentDigits = 0
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1; exponentDigits += 1 }
            guard exponentDigits > 0 else { return nil }
        }
        guard i == bytes.count else { return nil }
        if isInteger, let integer = Int64(trimmed.hasPrefix("+") ? String(trimmed.dropFirst()) : trimmed) {
            return .integer(integer)
        }
        guard let real = Double(trimmed) else { return nil }
        if let exact = Int64(exactly: real) { return .integer(exact) }
        return .real(real)
    }

    /// SQLite's text of a real (`%!.15g`: 15 significant digits, and `.0`
    /// when nothing marks it as a real).
    static func text(of value: Double) -> String {
        var text = String(format: "%.15g", value == 0 ? 0 : value)  // -0.0 prints as 0.0
        if !text.contains(".") && !text.contains("e") && !text.contains("n") && !text.contains("i") {
            text += ".0"
        } else if let e = text.firstIndex(of: "e"), !text[..<e].contains(".") {
            text.insert(contentsOf: ".0", at: e)
        }
        return text
    }
}
