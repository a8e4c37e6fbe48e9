public import Foundation

/// Where an application's own database keeps each of Tally's tables and
/// columns, and how its stored values convert to Tally's (contract §1:
/// epoch milliseconds, minor units, 0/1 flags, the enum names).
///
/// Tally reads such a database through the map without changing it: every
/// read connection gets temporary views named after Tally's tables, made of
/// the conversions below, so every strategy, page and query plan reads the
/// app's rows as if they were Tally's. Rollups install triggers on the app's
/// own tables that compute through the same conversions, so the app's
/// writes keep them exact.
///
/// A map is JSON (`tally schema-map guess` writes a starter one):
///
/// ```json
/// {"tables": {
///   "bookings": {"table": "Booking", "columns": {
///     "id": "id",
///     "status": {"column": "status", "values": {"completed": "COMPLETED"}},
///     "price": {"column": "price", "money": "major"},
///     "createdAt": {"column": "createdAt", "timestamp": "epoch-ms"},
///     "vehicleId": null}},
///   "vehicles": null}}
/// ```
///
/// - A Tally table missing from `tables`, or `null`, is one the app lacks:
///   its part of every answer is left out and named in `meta.absent`.
/// - A column given as a string is that column, read as stored; `null` is
///   one the app lacks (read as NULL, named in `meta.absent`); a column not
///   listed is the app's column of the same name when there is one.
/// - Keys named `note` are ignored (the guesser explains itself in them).
///
/// For example:
///
/// ```swift
/// let map = try SchemaMap(json: Data(contentsOf: mapFile))
/// let database = try TallyDatabase.openReadOnly(path: appDatabase, schemaMap: map)
/// let dashboard = try await TallyEngine(database: database).dashboard()
/// ```
public struct SchemaMap: Sendable, Hashable {
    /// How a timestamp column's numbers are read. Text is always read as
    /// ISO 8601 (as SQLite's `julianday()` reads it: `T` or a space, any
    /// fraction of a second rounded to the millisecond, an optional `Z` or
    /// `±HH:MM`; without one it is UTC), so a column may mix them.
    public enum TimestampFormat: String, Sendable, Hashable, CaseIterable {
        /// Integer Unix epoch milliseconds (Prisma's client, Tally's own).
        case epochMilliseconds = "epoch-ms"
        /// Unix epoch seconds.
        case epochSeconds = "epoch-s"
        /// Text (Django, Rails, Prisma's `CURRENT_TIMESTAMP` default); a
        /// number in such a column is read as epoch milliseconds.
        case iso8601
        /// A Julian day number (SQLite's `julianday()`).
        case julianDay = "julian-day"
    }

    /// The unit a money column is stored in.
    public enum MoneyUnit: String, Sendable, Hashable, CaseIterable {
        /// Integer minor units (cents): read as stored.
        case minor
        /// Major units (`19.99`) as a real, an integer or decimal text:
        /// converted to minor units exactly.
        case major
    }

    /// One of Tally's columns in the app's table.
    public struct Column: Sendable, Hashable {
        /// The app's column.
        public var column: String
        public var timestamp: TimestampFormat?
        /// The zone of naive timestamp text (no `Z`, no offset): Django's
        /// `USE_TZ = False`. Without one, naive text is UTC.
        public var zone: Zone?
        public var money: MoneyUnit?
        /// Digits of the minor unit for `money: major` (2 for cents, 0 for yen).
        public var minorDigits: Int
        /// Reads `1`/`0`, `'t'`/`'f'`, `'true'`/`'false'` as Tally's 1/0.
        public var boolean: Bool
        /// Stored value → Tally's enum name (`"completed": "COMPLETED"`,
        /// Rails' integer enums as `"3": "COMPLETED"`). Other values are
        /// kept under their own key.
        public var values: [String: String]

        public init(
            _ column: String, timestamp: TimestampFormat? = nil, zone: Zone? = nil, money: MoneyUnit? = nil, minorDigits: Int = 2,
            boolean: Bool = false, values: [String: String] = [:]
        ) {
            self.column = column
            self.timestamp = timestamp
            self.zone = zone
            self.money = money
            self.minorDigits = minorDigits
            self.boolean = boolean
            self.values = values
        }

        /// Whether the value is read as stored.
        public var isRaw: Bool { timestamp == nil && zone == nil && (money ?? .minor) == .minor && !boolean && values.isEmpty }
    }

    /// One of Tally's tables in the app's database.
    public struct Table: Sendable, Hashable {
        /// The app's table.
        public var table: String
        /// Tally's column → the app's (nil: the app lacks it).
        public var columns: [String: Column?]

        public init(_ table: String, columns: [String: Column?] = [:]) {
            self.table = table
            self.columns = columns
        }
    }

    /// Tally's table → the app's (nil: the app lacks it).
    public var tables: [String: Table?]

    /// - parameter tables: Tally's table → the app's; a table left out is
    ///   one the app lacks (stored as an explicit nil).
    public init(tables: [String: Table?]) throws {
        var all = tables
        for schema in TallySchema.tables where all[schema.name] == nil { all[schema.name] = .some(nil) }
        self.tables = all
        try validate()
    }

    /// The columns each conversion applies to.
    static let timestampColumns: Set<String> = ["createdAt", "scheduledDate"]
    static let moneyColumns: Set<String> = ["bookings.price", "payments.amount"]

    /// Checks names and conversions against Tally's schema.
    ///
    /// - throws: `TallyError.Kind.invalidInput` naming the entry.
    func validate() throws {
        for (name, table) in tables {
            guard let schema = TallySchema.tables.first(where: { $0.name == name }) else {
                throw Self.error(
                    "tables.\(name)", "Tally has no table \(name) (its tables: \(TallySchema.tables.map(\.name).joined(separator: ", ")))")
            }
            guard let table else { continue }
            let entry = "tables.\(name)"
            guard !table.table.isEmpty else { throw Self.error(entry, "\"table\" must name the app's table") }
            for (columnName, column) in table.columns {
                let at = "\(entry).columns.\(columnName)"
                guard schema.columns.contains(columnName) else {
                    throw Self.error(at, "Tally's \(name) has no column \(columnName) (its columns: \(schema.columns.joined(separator: ", ")))")
                }
                guard let column else { continue }
                guard !column.column.isEmpty else { throw Self.error(at, "\"column\" must name the app's column") }
                if column.timestamp != nil, !Self.timestampColumns.contains(columnName) {
                    throw Self.error(at, "\"timestamp\" applies to createdAt and scheduledDate only")
                }
                if column.zone != nil, column.timestamp == nil {
                    throw Self.error(at, "\"zone\" needs \"timestamp\" (it names the zone of naive timestamp text)")
                }
                if column.money != nil, !Self.moneyColumns.contains("\(name).\(columnName)") {
                    throw Self.error(at, "\"money\" applies to bookings.price and payments.amount only")
                }
                if !(0...6).contains(column.minorDigits) {
                    throw Self.error(at, "\"minorDigits\" must be between 0 and 6, got \(column.minorDigits)")
                }
                if column.boolean, !TallySchema.flagColumns.contains(columnName) {
                    throw Self.error(at, "\"boolean\" applies to isActive and isAvailable only")
                }
                if !column.values.isEmpty {
                    guard let names = TallySchema.enumValues["\(name).\(columnName)"] else {
                        throw Self.error(
                            at, "\"values\" applies to enum columns only (\(TallySchema.enumValues.keys.sorted().joined(separator: ", ")))")
                    }
                    // A name outside the enum is a typo ("COMPLETD") that would
                    // silently move rows out of their group.
                    for (stored, tallyName) in column.values.sorted(by: { $0.key < $1.key }) where !names.contains(tallyName) {
                        throw Self.error(
                            at,
                            "value \"\(stored.quotedForMessage())\" maps to \"\(tallyName.quotedForMessage())\", "
                                + "not one of Tally's names (\(names.joined(separator: ", ")))")
                    }
                }
            }
        }
        // Every answer through such a map would be empty, and say nothing wrong.
        guard tables.values.contains(where: { $0 != nil }) else {
            throw Self.error("tables", "maps none of Tally's tables (\(TallySchema.tables.map(\.name).joined(separator: ", ")))")
        }
    }

    static func error(_ entry: String, _ message: String) -> TallyError {
        TallyError.invalid("schema map \(entry): \(message)")
    }
}
