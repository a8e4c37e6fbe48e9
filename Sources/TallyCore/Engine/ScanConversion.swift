import GRDBSQLite

/// A schema map's conversion that the `single-pass` scan applies in Swift
/// to the common stored values, instead of evaluating the view's SQL on
/// every row.
///
/// Through a map, each of Tally's columns is an SQL expression over the
/// app's column (`SchemaMap.Column.sql`). On Prisma's `Float` money that
/// expression costs more than reading the row: of a 1M-row payments scan's
/// 200 ms, about 90 ms went to the conversion. For the values it can
/// convert exactly (numbers, NULL) the scan reads the app's stored value and
/// converts it here, with the same result as the SQL; every other value
/// (text, blobs, numbers past the exact range) is read through the view,
/// for that row only, so SQL stays the definition of the conversion. When
/// such rows are common (a column of text timestamps mapped as epoch-ms),
/// the scan starts again reading the view's converted column instead.
///
/// A column qualifies only when its map entry is exactly one of these
/// conversions; any other column (ISO text timestamps, enum names, several
/// conversions at once) is read through the view as before.
package enum ScanConversion: Sendable, Hashable {
    /// A number is its own conversion: epoch-ms timestamps and flags
    /// (`CASE WHEN x < '' THEN x …`).
    case numbersAsStored
    /// Major units to minor (`SchemaMap.Column.majorToMinor`): a number
    /// below `bound` (2⁵²/`factor`) in magnitude becomes `CAST(round(x *
    /// factor.0) AS INTEGER)`.
    case majorToMinor(factor: Int64, bound: Int64)

    /// The conversion of a mapped column, when the scan may apply it in Swift.
    init?(_ column: SchemaMap.Column) {
        guard column.values.isEmpty else { return nil }
        switch (column.timestamp, column.money == .major, column.boolean) {
        case (.epochMilliseconds?, false, false), (nil, false, true):
            self = .numbersAsStored
        case (nil, true, false):
            let factor = SchemaMap.Column.minorUnits(digits: column.minorDigits)
            self = .majorToMinor(factor: factor, bound: SchemaMap.Column.oneRoundingBound(factor: factor))
        default:
            return nil
        }
    }

    /// Whether the converted value can differ from the stored one (the scan
    /// then keeps the column out of group keys, filters and `MIN`/`MAX`,
    /// which read the value itself, and passes the converted integer to sums).
    var changesNumbers: Bool {
        if case .majorToMinor = self { return true }
        return false
    }

    /// What the conversion of a stored value is, when Swift computes it.
    enum Outcome {
        /// The stored value itself.
        case asStored
        /// This integer.
        case integer(Int64)
        /// Not computed here: the row's value is read through the view.
        case throughSQL
    }

    /// The conversion of the stored value `value`.
    @inline(__always)
    func convert(_ value: OpaquePointer?) -> Outcome {
        let type = sqlite3_value_type(value)
        switch self {
        case .numbersAsStored:
            // Every conversion keeps NULL as NULL.
            return type == SQLITE_INTEGER || type == SQLITE_FLOAT || type == SQLITE_NULL ? .asStored : .throughSQL
        case .majorToMinor(let factor, let bound):
            // The SQL's fast path: `x > -bound AND x < bound` (the bound
            // written as a real literal).
            switch type {
            case SQLITE_INTEGER:
                // SQLite compares an integer with a real exactly; below 2⁵²
                // the product is exact, and so is its rounding.
                let x = sqlite3_value_int64(value)
                return x > -bound && x < bound ? .integer(x &* factor) : .throughSQL
            case SQLITE_FLOAT:
                let x = sqlite3_value_double(value)
                let limit = Double(bound)
                guard x > -limit, x < limit else { return .throughSQL }
                return .integer(Self.sqliteRound(x * Double(factor)))
            case SQLITE_NULL:
                return .asStored
            default:
                return .throughSQL
            }
        }
    }

    /// SQLite's `round(r)` of a real below 2⁵² in magnitude, as an integer:
    /// half away from zero by adding ½ and truncating (`roundFunc`), which
    /// is what `CAST(round(…) AS INTEGER)` gives. Adding ½ is itself
    /// rounded (0.49999999999999994 + 0.5 is 1), so this is not Swift's
    /// `.toNearestOrAwayFromZero`.
    @inline(__always)
    static func sqliteRound(_ r: Double) -> Int64 {
        Int64(r < 0 ? r - 0.5 : r + 0.5)
    }
}
