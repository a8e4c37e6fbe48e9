public import Foundation
package import GRDB

/// Guesses a schema map for an app's database (`tally schema-map guess`):
/// tables and columns by the naming conventions of Prisma (`"Booking"`,
/// `"createdAt"`), Django (`rides_booking`, `created_at`) and Rails
/// (`bookings`, `created_at`), conversions by sampling the stored values.
/// Every guess comes with a note saying what it rests on; the user reads
/// and edits the map.
public enum SchemaMapGuesser {
    /// A guessed map and its notes (keyed `table` or `table.column`).
    public struct Guess: Sendable {
        public var map: SchemaMap
        public var notes: [String: String]

        /// The map as JSON with its notes.
        public var json: String { map.json(notes: notes) }
    }

    /// Guesses from the file at `path`, opened read-only.
    public static func guess(path: String) throws -> Guess {
        var configuration = Configuration()
        configuration.readonly = true
        do {
            switch try TallyDatabase.fileState(at: path) {
            case .missing: throw TallyError(.file, "no database at \(path)", path: path)
            case .empty, .notSQLite: throw TallyError(.schema, "\(path) is not a SQLite database", path: path)
            case .sqlite(let wal): if wal { try TallyDatabase.checkWALSideFiles(path) }
            }
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in try guess(in: db, path: path) }
        } catch {
            throw TallyError.wrapping(error, path: path)
        }
    }

    /// Tables that belong to the ORM or to Tally, never to the app's data.
    static func isBookkeeping(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasPrefix("sqlite_") || lower.hasPrefix("tally_") || lower.hasPrefix("django_")
            || ["grdb_migrations", "_prisma_migrations", "schema_migrations", "ar_internal_metadata"].contains(lower)
    }

    package static func guess(in db: Database, path: String = "the database") throws -> Guess {
        let tables = try String.fetchAll(db, sql: "SELECT name FROM main.sqlite_master WHERE type = 'table' ORDER BY name")
            .filter { !isBookkeeping($0) }
        var notes: [String: String] = [:]
        var mapped: [String: SchemaMap.Table?] = [:]
        for schema in TallySchema.tables {
            let candidates = tables.filter { tableMatches($0, schema.name) }
            // Several candidates (Django's auth_user beside rides_user): the
            // one with the most of Tally's columns.
            var scored: [(name: String, columns: [(name: String, type: String)], score: Int)] = []
            for name in candidates {
                let appColumns = try columns(of: name, in: db)
                let score = schema.columns.filter { columnMatch($0, in: appColumns) != nil }.count
                scored.append((name, appColumns, score))
            }
            scored.sort { a, b in a.score != b.score ? a.score > b.score : a.name < b.name }
            guard let best = scored.first else {
                mapped[schema.name] = .some(nil)
                notes[schema.name] =
                    "no table named like \(schema.name) (Prisma \(prismaName(schema.name)), Rails \(schema.name), Django <app>_\(singular(schema.name))): left out of every answer"
                continue
            }
            let appTable = best.name, appColumns = best.columns
            var note = "matched table \(appTable.quotedIdentifier)"
            if scored.count > 1 { note += " (also considered \(scored.dropFirst().map(\.name.quotedIdentifier).joined(separator: ", ")))" }
            notes[schema.name] = note
            var columns: [String: SchemaMap.Column?] = [:]
            for name in schema.columns {
                guard let column = columnMatch(name, in: appColumns) else {
                    columns[name] = .some(nil)
                    notes["\(schema.name).\(name)"] = "no column like \(name) or \(snakeCase(name)): read as NULL"
                    continue
                }
                let (guessed, note) = try conversion(for: name, of: schema.name, column: column, table: appTable, in: db)
                columns[name] = guessed
                if let note { notes["\(schema.name).\(name)"] = note }
            }
            mapped[schema.name] = SchemaMap.Table(appTable, columns: columns)
        }
        // A map of nothing would answer every question with nothing.
        guard mapped.values.contains(where: { $0 != nil }) else {
            throw TallyError(
                .schema,
                "\(path) has no table named like any of Tally's (\(TallySchema.tables.map(\.name).joined(separator: ", ")), "
                    + "as Prisma, Django or Rails name them): nothing to guess from; write the map by hand "
                    + "(README, \"Your existing database\")", path: path)
        }
        return Guess(map: try SchemaMap(tables: mapped), notes: notes)
    }

    // MARK: - Names

    static func singular(_ table: String) -> String { String(table.dropLast()) }

    static func prismaName(_ table: String) -> String { singular(table).prefix(1).uppercased() + singular(table).dropFirst() }

    /// `users` ↔ `User`, `users`, `user`, `rides_user`.
    static func tableMatches(_ name: String, _ table: String) -> Bool {
        let lower = name.lowercased()
        return lower == table || lower == singular(table) || lower.hasSuffix("_" + singular(table)) || lower.hasSuffix("_" + table)
    }

    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// The names an app may give one of Tally's columns, most likely first.
    static func candidates(_ column: String) -> [String] {
        var names = [column, snakeCase(column)]
        switch column {
        case "isActive": names += ["active", "enabled"]
        case "isAvailable": names += ["available"]
        case "scheduledDate": names += ["scheduledAt", "scheduled_at", "scheduledFor", "scheduled_for"]
        case "type": names += ["vehicleType", "vehicle_type", "kind"]
        case "plate": names += ["licensePlate", "license_plate", "plateNumber", "plate_number"]
        case "key": names += ["moduleKey", "module_key", "name"]
        case "price": names += ["amount", "total", "fare"]
        case "createdAt": names += ["created", "inserted_at", "insertedAt"]
        default: break
        }
        return names
    }

    static func columnMatch(_ column: String, in columns: [(name: String, type: String)]) -> (name: String, type: String)? {
        for candidate in candidates(column) {
            if let found = columns.first(where: { $0.name.lowercased() == candidate.lowercased() }) { return found }
        }
        return nil
    }

    static func columns(of table: String, in db: Database) throws -> [(name: String, type: String)] {
        try Row.fetchAll(db, sql: "SELECT name, type FROM pragma_table_info(?, 'main')", arguments: [table]).map { ($0[0], $0[1]) }
    }

    // MARK: - Conversions, from the stored values

    /// Up to 2,000 non-NULL values of a column, from both ends of the table, each row once.
    static func sample(_ column: String, of table: String, in db: Database) throws -> [DatabaseValue] {
        let c = column.quotedIdentifier, t = table.quotedIdentifier
        return try DatabaseValue.fetchAll(
            db,
            sql: """
                SELECT \(c) FROM main.\(t) WHERE rowid IN (
                  SELECT rowid FROM (SELECT rowid FROM main.\(t) WHERE \(c) IS NOT NULL ORDER BY rowid LIMIT 1000)
                  UNION SELECT rowid FROM (SELECT rowid FROM main.\(t) WHERE \(c) IS NOT NULL ORDER BY rowid DESC LIMIT 1000))
                """)
    }

    static func conversion(
        for name: String, of table: String, column: (name: String, type: String), table appTable: String, in db: Database
    ) throws -> (SchemaMap.Column, String?) {
        var result = SchemaMap.Column(column.name)
        let renamed = column.name == name ? nil : "column \(column.name.quotedIdentifier)"
        func note(_ text: String) -> String { ([renamed].compactMap { $0 } + [text]).joined(separator: "; ") }
        if SchemaMap.timestampColumns.contains(name) {
            let values = try sample(column.name, of: appTable, in: db)
            let texts = values.filter { if case .string = $0.storage { true } else { false } }
            let numbers = values.compactMap { value -> Double? in
                switch value.storage {
                case .int64(let v): Double(v)
                case .double(let v): v
                default: nil
                }
            }
            let format: SchemaMap.TimestampFormat
            var why: String
            if let typical = numbers.sorted().dropFirst(numbers.count / 2).first {
                if typical >= 1e11 {
                    format = .epochMilliseconds
                    why = "numbers look like epoch milliseconds"
                } else if typical >= 1e8 {
                    format = .epochSeconds
                    why = "numbers look like epoch seconds"
                } else if typical >= 1e6, typical < 6e6 {
                    format = .julianDay
                    why = "numbers look like Julian days"
                } else {
                    format = .epochMilliseconds
                    why = "numbers too small to tell (\(typical)): assumed epoch milliseconds"
                }
                if !texts.isEmpty { why += ", and \(texts.count) of \(values.count) sampled values are ISO 8601 text (read as such)" }
            } else {
                format = .iso8601
                why = texts.isEmpty ? "no values to sample: assumed ISO 8601 text" : "ISO 8601 text"
            }
            let naive = texts.contains { value in
                guard case .string(let text) = value.storage else { return false }
                return !(text.hasSuffix("Z") || text.range(of: #"[+-]\d\d:?\d\d$"#, options: .regularExpression) != nil)
            }
            if naive { why += "; text without Z or offset is read as UTC" }
            result.timestamp = format
            return (result, note(why))
        }
        if SchemaMap.moneyColumns.contains("\(table).\(name)") {
            let values = try sample(column.name, of: appTable, in: db)
            let affinity = ColumnAffinity(declaredType: column.type)
            let fractional = values.contains { value in
                switch value.storage {
                case .double(let v): v.rounded(.towardZero) != v
                case .string(let text): text.contains(".")
                default: false
                }
            }
            if affinity == .integer && !fractional {
                return (result, renamed.map { "\($0); integers: read as minor units (cents)" } ?? nil)
            }
            result.money = .major
            let declared = column.type.isEmpty ? "no declared type" : "declared \(column.type)"
            return (result, note("\(declared)\(fractional ? ", values with decimals" : ""): read as major units, converted to cents"))
        }
        if TallySchema.flagColumns.contains(name) {
            let values = try sample(column.name, of: appTable, in: db)
            let texts = Set(
                values.compactMap { value -> String? in
                    if case .string(let text) = value.storage { return text.lowercased() }
                    return nil
                })
            if !texts.isEmpty || column.type.uppercased().contains("BOOL") {
                result.boolean = true
                return (result, note(texts.isEmpty ? "declared \(column.type)" : "stored as \(texts.sorted().joined(separator: "/"))"))
            }
            return (result, renamed)
        }
        if let names = TallySchema.enumValues["\(table).\(name)"] {
            let distinct = try DatabaseValue.fetchAll(
                db,
                sql:
                    "SELECT DISTINCT \(column.name.quotedIdentifier) FROM main.\(appTable.quotedIdentifier) WHERE \(column.name.quotedIdentifier) IS NOT NULL LIMIT 100"
            )
            var values: [String: String] = [:]
            var unknown: [String] = []
            var integers = false
            for value in distinct {
                switch value.storage {
                case .string(let text):
                    let normalized = text.uppercased().replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: " ", with: "_")
                    if names.contains(text) { continue }
                    if names.contains(normalized) { values[text] = normalized } else { unknown.append(text) }
                case .int64:
                    integers = true
                default:
                    unknown.append("\(value)")
                }
            }
            var why: [String] = []
            if integers {
                // Rails' integer enums: their order lives in the model, not the file.
                for (index, tallyName) in names.enumerated() { values[String(index)] = tallyName }
                why.append(
                    "integers: assumed Rails' `enum \(name): {\(names.enumerated().map { "\($1.lowercased()): \($0)" }.joined(separator: ", "))}`; check your model's order"
                )
            } else if !values.isEmpty {
                why.append("stored as \(values.keys.sorted().joined(separator: ", "))")
            }
            if !unknown.isEmpty { why.append("kept under their own key: \(unknown.sorted().prefix(5).joined(separator: ", "))") }
            result.values = values
            return (result, why.isEmpty ? renamed : note(why.joined(separator: "; ")))
        }
        return (result, renamed)
    }
}
