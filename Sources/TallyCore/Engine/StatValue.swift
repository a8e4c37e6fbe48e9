public import Foundation

/// A value as SQLite stores it: the group-by keys and aggregate results of a stat.
///
/// SQLite tables that are not `STRICT` store any storage class in any
/// column, so every value read from a row is one of these five, whatever
/// the column's declared type.
public enum StatValue: Sendable, Hashable, Comparable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)

    /// The key under which the value appears in JSON objects such as
    /// `byStatus`: the text itself, numbers in decimal, `null`, and a blob
    /// as an SQL literal (`x'01ff'`).
    public var description: String {
        switch self {
        case .null: "null"
        case .integer(let v): String(v)
        case .real(let v): String(v)
        case .text(let v): v
        case .blob(let v): "x'" + v.map { String(format: "%02x", $0) }.joined() + "'"
        }
    }

    /// The integer, or the real when it is exactly an integer.
    public var int64Value: Int64? {
        switch self {
        case .integer(let v): v
        case .real(let v): Int64(exactly: v)
        default: nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .integer(let v): Double(v)
        case .real(let v): v
        default: nil
        }
    }

    /// SQLite's order (`sqlite3MemCompare` with the BINARY collation): NULL <
    /// numbers (integers and reals compared exactly) < text < blob; texts
    /// and blobs by their bytes.
    public static func < (lhs: StatValue, rhs: StatValue) -> Bool {
        order(lhs, rhs) < 0
    }

    /// Equality as SQLite's `=` sees it for stored values: `1` and `1.0` are
    /// equal (Hashable stays structural; use this to compare answers).
    public func sqlEquals(_ other: StatValue) -> Bool { Self.order(self, other) == 0 }

    static func order(_ lhs: StatValue, _ rhs: StatValue) -> Int {
        func rank(_ v: StatValue) -> Int {
            switch v {
            case .null: 0
            case .integer, .real: 1
            case .text: 2
            case .blob: 3
            }
        }
        let (a, b) = (rank(lhs), rank(rhs))
        if a != b { return a < b ? -1 : 1 }
        switch (lhs, rhs) {
        case (.integer(let x), .integer(let y)): return x == y ? 0 : x < y ? -1 : 1
        case (.real(let x), .real(let y)): return x == y ? 0 : x < y ? -1 : 1
        case (.integer(let x), .real(let y)): return compareExactly(x, y)
        case (.real(let x), .integer(let y)): return -compareExactly(y, x)
        case (.text(let x), .text(let y)): return compareBytes(Array(x.utf8), Array(y.utf8))
        case (.blob(let x), .blob(let y)): return compareBytes(Array(x), Array(y))
        default: return 0
        }
    }

    private static func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
        for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        return a.count == b.count ? 0 : a.count < b.count ? -1 : 1
    }
}
