import GRDB

/// Checks that a database has every table and column of the contract the
/// engine reads, so that a foreign file fails with a message naming what is
/// missing instead of an SQL error halfway through a dashboard.
enum SchemaValidator {
    static func validate(_ db: Database, path: String) throws {
        for table in TallySchema.tables {
            let columns = try Row.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?)", arguments: [table.name])
                .map { $0[0] as String }
            if columns.isEmpty {
                throw TallyError(.schema, "\(path) has no table \(table.name): not a Tally database\(try mapHint(db, path: path))")
            }
            let present = Set(columns)
            if let missing = table.columns.first(where: { !present.contains($0) }) {
                throw TallyError(.schema, "\(path): table \(table.name) has no column \(missing)\(try mapHint(db, path: path))")
            }
        }
    }

    /// What to do about a file that holds tables, but not Tally's: it is
    /// most likely an app's own database, which Tally reads through a
    /// schema map. Empty for a file with no table at all.
    static func mapHint(_ db: Database, path: String) throws -> String {
        let tables =
            try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'") ?? 0
        guard tables > 0 else { return "" }
        return " (an app's own database is read through a schema map: --schema-map FILE; "
            + "start one with `tally schema-map guess --db \(path)`)"
    }
}
