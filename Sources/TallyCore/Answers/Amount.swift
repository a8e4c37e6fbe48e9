/// A sum of money in minor units, as SQL's `SUM` gives it: an exact
/// integer, or a real when a stored amount was not an integer (a foreign
/// database, or a value that passed `amount >= 0` such as `1e300`).
///
/// In JSON it is a number either way: `1999`, or `1e+300`.
public enum Amount: Sendable, Hashable, Codable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    case integer(Int64)
    case real(Double)

    public init(integerLiteral value: Int64) {
        self = .integer(value)
    }

    /// The amount of a `sum` aggregate; NULL (no value) is zero.
    ///
    /// - throws: when the sum is not a finite number (JSON has no infinity).
    init(sum value: StatValue?, of column: String) throws {
        switch value {
        case .integer(let v)?: self = .integer(v)
        case .real(let v)?:
            guard v.isFinite else {
                throw TallyError(.database, "the sum of \(column) is too large to represent (SQL gives \(v))")
            }
            self = .real(v)
        default: self = .integer(0)
        }
    }

    /// The sum of two amounts, as SQL would add their rows: exact while both
    /// are integers (SQL's integer overflow past 64 bits), real otherwise.
    package func adding(_ other: Amount, column: String) throws -> Amount {
        switch (self, other) {
        case (.integer(let a), .integer(let b)):
            let (sum, overflow) = a.addingReportingOverflow(b)
            if overflow {
                throw TallyError(
                    .database,
                    "integer overflow in the sum of \(column): the stored values add up past "
                        + "64-bit integers, as SQLite's SUM reports")
            }
            return .integer(sum)
        default:
            let sum = double + other.double
            guard sum.isFinite else { throw TallyError(.database, "the sum of \(column) is too large to represent (SQL gives \(sum))") }
            return .real(sum)
        }
    }

    public var double: Double {
        switch self {
        case .integer(let v): Double(v)
        case .real(let v): v
        }
    }

    /// The integer, when it is one.
    public var integer: Int64? {
        if case .integer(let v) = self { return v }
        return nil
    }

    public var description: String {
        switch self {
        case .integer(let v): String(v)
        case .real(let v): String(v)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let integer = try? container.decode(Int64.self) { self = .integer(integer) } else { self = .real(try container.decode(Double.self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .integer(let v): try container.encode(v)
        case .real(let v): try container.encode(v)
        }
    }
}
