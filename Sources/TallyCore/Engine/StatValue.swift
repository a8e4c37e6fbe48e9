/// A value as SQLite stores it: the group-by keys and aggregate results of a stat.
public enum StatValue: Sendable, Hashable, Comparable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    /// The key under which the value appears in JSON objects such as `byStatus`.
    public var description: String {
        switch self {
        case .null: "null"
        case .integer(let v): String(v)
        case .real(let v): String(v)
        case .text(let v): v
        }
    }

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

    /// SQLite's order between storage classes: NULL < numbers < text.
    public static func < (lhs: StatValue, rhs: StatValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return false
        case (.null, _): return true
        case (_, .null): return false
        case (.text(let a), .text(let b)): return a < b
        case (.text, _): return false
        case (_, .text): return true
        default: return lhs.doubleValue! < rhs.doubleValue!
        }
    }
}
