package import GRDB

/// A schema map checked against one database: which of Tally's tables and
/// columns the app has, the views every read connection gets, and the base
/// tables rollup triggers go on.
package struct MappedSchema: Sendable, Hashable {
    /// One of Tally's tables as the app stores it.
    package struct Source: Sendable, Hashable {
        /// Tally's table.
        package let name: String
        /// The app's table.
        package let appTable: String
        /// Tally's column → the app's, for the columns the app has.
        package let columns: [String: SchemaMap.Column]
        /// The name that reaches the app table's rowid: `rowid`, unless the
        /// app has a column of that name (then `_rowid_` or `oid`).
        let rowidName: String
        /// The affinity SQL compares each of Tally's columns with, through
        /// the view: a column read as stored keeps the app column's (the
        /// view's `COLLATE BINARY` hides its declared type from `PRAGMA
        /// table_info`, not from comparisons); a conversion has none.
        let affinities: [String: ColumnAffinity]
        /// Tally's columns whose conversion the single-pass scan may apply
        /// in Swift, with that conversion (see `ScanConversion`).
        package let scanConversions: [String: ScanConversion]

        /// - parameter declaredTypes: the app's declared type of each
        ///   column in `columns`.
        init(name: String, appTable: String, columns: [String: SchemaMap.Column], declaredTypes: [String: String], rowidName: String) {
            self.name = name
            self.appTable = appTable
            self.columns = columns
            self.rowidName = rowidName
            affinities = columns.mapValues { _ in ColumnAffinity.blob }.merging(
                columns.filter(\.value.isRaw).map { ($0.key, ColumnAffinity(declaredType: declaredTypes[$0.key] ?? "")) },
                uniquingKeysWith: { _, raw in raw })
            scanConversions = columns.compactMapValues(ScanConversion.init)
        }

        /// Tally's `column` of the row `row` (`NEW`, `OLD`, a table alias):
        /// the app's column through its conversion, or NULL when the app
        /// lacks it.
        package func expression(_ column: String, row: String) -> String {
            guard let mapped = columns[column] else { return "NULL" }
            return mapped.sql("\(row).\(mapped.column.quotedIdentifier)")
        }
    }

    /// The view column holding `column`'s value as the app stores it, for
    /// the columns of `Source.scanConversions`.
    package static func storedColumn(_ column: String) -> String { "stored_\(column)" }

    /// The conversions the single-pass scan may apply in Swift to `table`'s
    /// columns; empty for a table read without a map.
    package func scanConversions(of table: String) -> [String: ScanConversion] {
        sources[table]?.scanConversions ?? [:]
    }

    package let map: SchemaMap
    /// Tally's table → where the app keeps it; tables the app lacks are absent.
    package let sources: [String: Source]
    /// What the app lacks, as answers state it: `vehicles`, `drivers.rating`.
    package let absent: [String]
    /// The offset tables of the zones the map names for naive timestamps.
    var zoneTables: [ZoneOffsetTable] {
        let zones = Set(sources.values.flatMap { $0.columns.values.compactMap(\.zone) })
        return zones.sorted { $0.identifier < $1.identifier }.map(ZoneOffsetTable.of)
    }

    /// A short stable digest of the resolved map (FNV-1a of its tables and
    /// columns with their conversion SQL), computed once:
    /// answers through different maps of the same file never share a cache
    /// entry, and every cache lookup names it.
    package let fingerprint: String

    init(map: SchemaMap, sources: [String: Source], absent: [String]) {
        self.map = map
        self.sources = sources
        self.absent = absent
        // Of the resolved columns, not of the map: a column the map leaves
        // out resolves to the app's same-named column only if the file has one.
        let resolved = sources.keys.sorted().map { name in
            let source = sources[name]!
            return "\(name)=\(source.appTable):"
                + source.columns.keys.sorted().map { "\($0)=\(source.expression($0, row: "r"))" }.joined(separator: ";")
        }
        // The views' version: answers through older views (which grouped a
        // NOCASE column by its collation) never share a shared-cache entry.
        fingerprint = FNV1a.base36((["views 2"] + resolved).joined(separator: "\n"))
    }

    /// Checks `map` against `db`'s main schema.
    ///
    /// - throws: `TallyError` naming the map entry whose table or column the
    ///   database does not have.
    package static func resolve(_ map: SchemaMap, in db: Database, path: String) throws -> MappedSchema {
        var sources: [String: Source] = [:]
        var absent: [String] = []
        for schema in TallySchema.tables {
            guard case .some(.some(let table)) = map.tables[schema.name] else {
                absent.append(schema.name)
                continue
            }
            let entry = "tables.\(schema.name)"
            let appRows = try Row.fetchAll(
                db, sql: "SELECT name, type FROM pragma_table_info(?, 'main')", arguments: [table.table])
            let appColumns = appRows.map { $0[0] as String }
            let appTypes = Dictionary(appRows.map { ($0[0] as String, $0[1] as String? ?? "") }, uniquingKeysWith: { first, _ in first })
            guard !appColumns.isEmpty else {
                throw TallyError(.schema, "schema map \(entry): \(path) has no table \(table.table.quotedIdentifier)", path: path)
            }
            // A column the app named `rowid` hides the rowid under that name.
            let taken = Set(appColumns.map { $0.lowercased() })
            guard let rowidName = ["rowid", "_rowid_", "oid"].first(where: { !taken.contains($0) }) else {
                throw TallyError(
                    .schema,
                    "schema map \(entry): table \(table.table.quotedIdentifier) has columns named rowid, _rowid_ and oid, "
                        + "so its rows cannot be addressed", path: path)
            }
            do {
                _ = try db.makeStatement(sql: "SELECT \(rowidName) FROM main.\(table.table.quotedIdentifier)")
            } catch {
                throw TallyError(
                    .schema, "schema map \(entry): table \(table.table.quotedIdentifier) has no rowid (WITHOUT ROWID tables are not supported)",
                    path: path)
            }
            // SQLite's names are case-insensitive: find the app's spelling.
            let lookup = Dictionary(appColumns.map { ($0.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
            var columns: [String: SchemaMap.Column] = [:]
            for name in schema.columns {
                switch table.columns[name] {
                case .some(.some(var column)):
                    guard let spelled = lookup[column.column.lowercased()] else {
                        throw TallyError(
                            .schema,
                            "schema map \(entry).columns.\(name): table \(table.table.quotedIdentifier) has no column \(column.column.quotedIdentifier)",
                            path: path)
                    }
                    column.column = spelled
                    columns[name] = column
                case .some(.none):
                    absent.append("\(schema.name).\(name)")
                case .none:
                    if let spelled = lookup[name.lowercased()] {
                        columns[name] = SchemaMap.Column(spelled)
                    } else {
                        absent.append("\(schema.name).\(name)")
                    }
                }
            }
            sources[schema.name] = Source(
                name: schema.name, appTable: table.table, columns: columns,
                declaredTypes: columns.mapValues { appTypes[$0.column] ?? "" }, rowidName: rowidName)
        }
        return MappedSchema(map: map, sources: sources, absent: absent)
    }

    /// The `CREATE TEMP VIEW` of each of Tally's tables: the app's rows
    /// converted, under Tally's names, with the app's `rowid` (keyset pages
    /// and row estimates use it). A table the app lacks is an empty view.
    ///
    /// Temporary objects live in the connection's own temp schema: creating
    /// them changes nothing in the file, and read-only connections can.
    /// They shadow a main table of the same name (Rails' `bookings`), whose
    /// rows the view reads as `main."bookings"`.
    package var viewStatements: [String] {
        zoneTables.flatMap { $0.statements(schema: "temp") }
            + TallySchema.tables.map { schema in
                let names = (["rowid"] + schema.columns).joined(separator: ", ")
                guard let source = sources[schema.name] else {
                    let nulls = Array(repeating: "NULL", count: schema.columns.count + 1).joined(separator: ", ")
                    return "CREATE TEMP VIEW \(schema.name)(\(names)) AS SELECT \(nulls) WHERE 0"
                }
                // Aliased by Tally's name: query plans then say `SCAN bookings`.
                let alias = schema.name
                // After Tally's columns, the stored values of those the scan
                // converts in Swift (`stored_amount`). Every column read as
                // stored is byte for byte: so the scan and the triggers
                // compare it, and a view column otherwise takes its column's
                // collation, which SQLite refuses when only the app defines it.
                let stored = schema.columns.filter { source.scanConversions[$0] != nil }
                let viewColumns = (["rowid"] + schema.columns + stored.map(Self.storedColumn)).joined(separator: ", ")
                let values =
                    ["\(alias).\(source.rowidName)"]
                    + schema.columns.map { column in
                        let expression = source.expression(column, row: alias)
                        return source.columns[column]?.isRaw == true ? expression.bytewise : expression
                    }
                    + stored.map { "\(alias).\(source.columns[$0]!.column.quotedIdentifier)".bytewise }
                return "CREATE TEMP VIEW \(schema.name)(\(viewColumns)) AS SELECT \(values.joined(separator: ", ")) "
                    + "FROM main.\(source.appTable.quotedIdentifier) AS \(alias)"
            }
    }

}
