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
                throw TallyError(.schema, "\(path) has no table \(table.name): not a Tally database")
            }
            let present = Set(columns)
            if let missing = table.columns.first(where: { !present.contains($0) }) {
                throw TallyError(.schema, "\(path): table \(table.name) has no column \(missing)")
            }
        }
    }
}
