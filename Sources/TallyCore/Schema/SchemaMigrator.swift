public import GRDB

extension TallySchema {
    /// Identifier of the migration that applies schema.sql.
    public static let initialMigration = "v1-schema"

    /// The schema's migrations. A later schema change is a new migration
    /// appended here, never an edit of `v1-schema`.
    ///
    /// - parameter withIndexes: whether `v1-schema` also creates the documented
    ///   indexes (`tally init --no-indexes` passes `false`). Index presence is
    ///   not part of the migration's identity: `tally indexes` manages it.
    public static func migrator(withIndexes: Bool = true) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration(initialMigration) { db in
            try db.execute(sql: withIndexes ? sql : tablesSQL)
        }
        return migrator
    }
}
