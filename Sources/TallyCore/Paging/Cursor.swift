import Foundation

/// An opaque keyset cursor: the sort key of the last row of a page.
///
/// Encoded as URL-safe base64 of `v1:<createdAt>:<id>` (or `v1o:<id>` for
/// organizations). Clients must treat it as opaque; the server checks its
/// version and shape strictly, so a tampered cursor is a 400, never a query.
public enum Cursor {
    static var malformed: TallyError { TallyError.invalid("malformed cursor; pass back the nextCursor of a previous page") }

    static func encode(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ cursor: String) throws -> String {
        guard cursor.utf8.count <= 512, cursor.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw malformed
        }
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { throw malformed }
        return text
    }

    /// A bookings cursor: `(createdAt, id)` of the last row.
    public static func bookings(createdAt: Int64, id: Int64) -> String { encode("v1:\(createdAt):\(id)") }

    public static func parseBookings(_ cursor: String) throws -> (createdAt: Int64, id: Int64) {
        let parts = try decode(cursor).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let createdAt = Int64(parts[1]), let id = Int64(parts[2]) else {
            throw malformed
        }
        return (createdAt, id)
    }

    /// An organizations cursor: the id of the last row.
    public static func organizations(id: String) -> String { encode("v1o:" + id) }

    public static func parseOrganizations(_ cursor: String) throws -> String {
        let text = try decode(cursor)
        guard text.hasPrefix("v1o:") else { throw malformed }
        return String(text.dropFirst(4))
    }
}
