import Foundation

/// An opaque keyset cursor: the sort key of the last row of a page.
///
/// URL-safe base64 of `v2|<phase>|<sort value>|<tiebreak value>`, each
/// value tagged with its storage class (`i42`, `r<bits>`, `t<base64>`,
/// `b<base64>`, `n`), so that a page boundary is exact whatever a foreign
/// database stores. Clients must treat it as opaque; the server checks its
/// version and shape strictly, so a tampered cursor is a 400, never a query.
public struct PageCursor: Sendable, Equatable {
    /// Which part of the order the row belongs to (rows whose sort value is
    /// NULL are paged apart: see `KeysetPager`).
    let phase: Int
    let sortValue: StatValue
    let tiebreak: StatValue

    static var malformed: TallyError { TallyError.invalid("malformed cursor; pass back the nextCursor of a previous page") }

    var encoded: String {
        let text = "v2|\(phase)|\(Self.tag(sortValue))|\(Self.tag(tiebreak))"
        return Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init(phase: Int, sortValue: StatValue, tiebreak: StatValue) {
        self.phase = phase
        self.sortValue = sortValue
        self.tiebreak = tiebreak
    }

    init(decoding cursor: String) throws {
        guard cursor.utf8.count <= 1024,
            cursor.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else {
            throw Self.malformed
        }
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { throw Self.malformed }
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "v2", let phase = Int(parts[1]), (0...1).contains(phase),
            let sortValue = Self.untag(parts[2]), let tiebreak = Self.untag(parts[3])
        else {
            throw Self.malformed
        }
        self.init(phase: phase, sortValue: sortValue, tiebreak: tiebreak)
    }

    static func tag(_ value: StatValue) -> String {
        switch value {
        case .null: "n"
        case .integer(let v): "i\(v)"
        case .real(let v): "r\(v.bitPattern)"
        case .text(let v): "t" + Data(v.utf8).base64EncodedString()
        case .blob(let v): "b" + v.base64EncodedString()
        }
    }

    static func untag(_ text: Substring) -> StatValue? {
        guard let first = text.first else { return nil }
        let rest = String(text.dropFirst())
        switch first {
        case "n": return rest.isEmpty ? .null : nil
        case "i": return Int64(rest).map(StatValue.integer)
        case "r": return UInt64(rest).map { .real(Double(bitPattern: $0)) }.flatMap { $0.doubleValue!.isNaN ? nil : $0 }
        case "t": return Data(base64Encoded: rest).flatMap { String(data: $0, encoding: .utf8) }.map(StatValue.text)
        case "b": return Data(base64Encoded: rest).map(StatValue.blob)
        default: return nil
        }
    }
}
