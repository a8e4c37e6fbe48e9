import Foundation

/// The conversions of a schema map as SQL expressions over a stored value.
///
/// The same expression text serves the read connections' views and the
/// rollup triggers on the app's tables, so a rollup holds exactly what a scan
/// reads. Like the triggers (see `RollupSQL`), the expressions use only
/// built-in SQL and nothing in them can fail: a value that does not convert
/// is kept as stored (a text status stays under its own key, a malformed
/// timestamp falls in no time range), never an error inside the app's write.
extension SchemaMap.Column {
    /// `x` (an SQL expression: `NEW."createdAt"`, `s."price"`) converted to
    /// Tally's representation.
    func sql(_ x: String) -> String {
        var expression = x
        if let timestamp { expression = Self.timestamp(expression, format: timestamp, zone: zone) }
        if money == .major { expression = Self.majorToMinor(expression, digits: minorDigits) }
        if boolean { expression = Self.flag(expression) }
        if !values.isEmpty { expression = Self.enumName(expression, values: values) }
        return expression
    }

    /// SQLite's day number of 1970-01-01T00:00Z in milliseconds
    /// (2440587.5 × 86400000).
    static let unixEpochJulianMilliseconds: Int64 = 210_866_760_000_000

    /// A Julian day (an SQL real) as epoch milliseconds. SQLite computes
    /// `julianday()` from whole milliseconds, so rounding the product gives
    /// them back exactly.
    static func julianMilliseconds(_ day: String) -> String {
        "CAST(round((\(day)) * 86400000.0) AS INTEGER) - \(unixEpochJulianMilliseconds)"
    }

    /// Text as ISO 8601 through `julianday()`; numbers in the format's unit;
    /// NULL and blobs as stored.
    ///
    /// With a `zone`, naive text (no `Z`, no `±HH:MM`) is a local time there,
    /// converted through the zone's offset table (`ZoneOffsetTable`).
    static func timestamp(_ x: String, format: SchemaMap.TimestampFormat, zone: Zone? = nil) -> String {
        // Only text that starts with a date: `julianday()` also reads 'now'
        // (the time of the read in a view, of the write in a trigger: they
        // would disagree), a bare time, and a number as a Julian day.
        let isDate = "\(x) GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'"
        let parsed = julianMilliseconds("julianday(\(x))")
        var text = "WHEN 'text' THEN CASE WHEN \(isDate) THEN \(parsed) END"
        if let zone {
            let trimmed = "rtrim(\(x), ' ' || char(9, 10, 11, 12, 13))"
            let hasOffset = "\(trimmed) GLOB '*[Zz]' OR \(trimmed) GLOB '*[+-][0-9][0-9]:[0-9][0-9]'"
            text =
                "WHEN 'text' THEN CASE WHEN NOT (\(isDate)) THEN NULL WHEN \(hasOffset) THEN \(parsed) "
                + "ELSE \(ZoneOffsetTable.of(zone).utc(parsed)) END"
        }
        switch format {
        case .epochMilliseconds:
            // Numbers, the common case, as stored: one comparison (`isNumber`).
            return "CASE WHEN \(isNumber(x)) THEN \(x) ELSE CASE typeof(\(x)) \(text) ELSE \(x) END END"
        case .iso8601:
            // Text is the common case: the comparison would only add to it
            // (measured: 13% on Django's revenue scan).
            return "CASE typeof(\(x)) \(text) ELSE \(x) END"
        case .epochSeconds:
            // An integer product past 64 bits becomes a real in SQL: no error.
            return "CASE typeof(\(x)) \(text) WHEN 'integer' THEN (\(x)) * 1000 WHEN 'real' THEN (\(x)) * 1000.0 ELSE \(x) END"
        case .julianDay:
            let number = julianMilliseconds(x)
            return "CASE typeof(\(x)) \(text) WHEN 'integer' THEN \(number) WHEN 'real' THEN \(number) ELSE \(x) END"
        }
    }

    /// Major units to minor: an integer times 10^d (a real past 64 bits, as
    /// SQL multiplies); a real or a decimal text rounded to the nearest minor
    /// unit, exact while it has at most d decimals and stays below 2⁵³ minor
    /// units (beyond, it stays a real, as SQL's own sum would); any other
    /// text kept as stored.
    static func majorToMinor(_ x: String, digits: Int) -> String {
        let factor = minorUnits(digits: digits)
        func fromReal(_ r: String) -> String {
            "CASE WHEN abs(\(r)) * \(factor).0 < 9007199254740992.0 THEN CAST(round((\(r)) * \(factor).0) AS INTEGER) ELSE (\(r)) * \(factor).0 END"
        }
        let trimmed = "trim(\(x))"
        let unsigned = "ltrim(\(trimmed), '+-')"
        // A plain decimal: at most one sign, digits with at most one point.
        let isDecimal =
            "length(\(trimmed)) - length(\(unsigned)) <= 1 AND \(unsigned) GLOB '*[0-9]*' "
            + "AND \(unsigned) NOT GLOB '*[^0-9.]*' AND \(unsigned) NOT GLOB '*.*.*'"
        let general =
            "CASE typeof(\(x)) WHEN 'integer' THEN (\(x)) * \(factor) WHEN 'real' THEN \(fromReal(x)) "
            + "WHEN 'text' THEN CASE WHEN \(isDecimal) THEN \(fromReal("CAST(\(trimmed) AS REAL)")) ELSE \(x) END ELSE \(x) END"
        // The common case first, in fewer steps, with the same result: a
        // number below 2⁵²/10^d in magnitude. An integer's product is then
        // exact as a real, so rounding it gives the integer product; a real
        // takes `fromReal`'s rounded branch, its product staying below 2⁵³.
        // Every other value (larger, text, blob, NULL) takes `general`.
        let bound = "\(oneRoundingBound(factor: factor)).0"
        return
            "CASE WHEN \(isNumber(x)) AND \(x.bytewise) > -\(bound) AND \(x.bytewise) < \(bound) THEN CAST(round((\(x)) * \(factor).0) AS INTEGER) "
            + "ELSE \(general) END"
    }

    /// Minor units per major unit: 10^`digits`.
    static func minorUnits(digits: Int) -> Int64 {
        (0..<digits).reduce(Int64(1)) { value, _ in value * 10 }
    }

    /// 2⁵²/`factor` (integer division): a number below it in magnitude
    /// becomes minor units by one rounding, in SQL (`majorToMinor`'s common
    /// case) and in the scan (`ScanConversion`), which must agree on it.
    static func oneRoundingBound(factor: Int64) -> Int64 {
        4_503_599_627_370_496 / factor
    }

    /// True for an integer or a real, false for text and blobs, NULL for
    /// NULL: SQL orders every number before every text, and a binary
    /// comparison with `''` is cheaper per row than `typeof()`'s text.
    static func isNumber(_ x: String) -> String {
        "\(x) < \("''".bytewise)"
    }

    /// `'t'`/`'true'`/`'1'` as 1 and `'f'`/`'false'`/`'0'` as 0 (any case,
    /// spaces around); numbers and anything else as stored.
    static func flag(_ x: String) -> String {
        "CASE WHEN \(isNumber(x)) THEN \(x) WHEN typeof(\(x)) = 'text' THEN CASE lower(trim(\(x))) WHEN 't' THEN 1 WHEN 'true' THEN 1 WHEN '1' THEN 1 "
            + "WHEN 'f' THEN 0 WHEN 'false' THEN 0 WHEN '0' THEN 0 ELSE \(x) END ELSE \(x) END"
    }

    /// Stored enum values to Tally's names: a text matches its key, an
    /// integer a key that spells it (`"3"`); anything else as stored.
    static func enumName(_ x: String, values: [String: String]) -> String {
        let pairs = values.sorted { $0.key < $1.key }
        let texts = pairs.map { "WHEN \(literal($0.key)) THEN \(literal($0.value))" }
        let integers = pairs.compactMap { pair in Int64(pair.key).map { "WHEN \($0) THEN \(literal(pair.value))" } }
        var expression = "CASE typeof(\(x)) WHEN 'text' THEN CASE \(x.bytewise) \(texts.joined(separator: " ")) ELSE \(x) END"
        if !integers.isEmpty { expression += " WHEN 'integer' THEN CASE \(x) \(integers.joined(separator: " ")) ELSE \(x) END" }
        return expression + " ELSE \(x) END"
    }

    static func literal(_ text: String) -> String { text.sqlLiteral }
}

extension String {
    /// An SQL identifier, quoted (`"Booking"`, quotes doubled).
    var quotedIdentifier: String { "\"" + replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// A text as an SQL literal (`'it''s'`, quotes doubled).
    var sqlLiteral: String { "'" + replacingOccurrences(of: "'", with: "''") + "'" }

    /// An SQL expression compared byte for byte (`(x COLLATE BINARY)`), not
    /// by its column's collation: in a view or a trigger on an app's table,
    /// a collation only the app defines would make the statement fail in
    /// every other connection (a trigger would fail that writer's write).
    var bytewise: String { "(\(self) COLLATE BINARY)" }
}
