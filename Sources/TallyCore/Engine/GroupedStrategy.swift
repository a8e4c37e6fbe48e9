import GRDB

/// The `grouped` strategy: one `GROUP BY` query per stat (the seeds' "6
/// grouped queries" refactor of 12 counts).
///
/// On SQLite this is not always faster than the counts it replaces: there is
/// no hash aggregate, so a `GROUP BY` without an index on its columns sorts
/// the table in a temp B-tree.
enum GroupedStrategy {
    static func run(_ stats: [Stat], in db: Database) throws -> [StatResult] {
        let functions = StatSQL.registerBucketFunctions(stats, in: db)
        defer { functions.forEach { db.remove(function: $0) } }
        return try stats.enumerated().map { index, stat in
            let (sql, arguments) = StatSQL.grouped(stat, index: index)
            var result = StatResult(stat: stat)
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() {
                StatSQL.accumulate(row, stat: stat, into: &result)
            }
            return result
        }
    }

    /// The SQL it runs, for `tally explain`.
    static func statements(_ stats: [Stat]) -> [(sql: String, arguments: StatementArguments)] {
        stats.enumerated().map { StatSQL.grouped($1, index: $0) }
    }
}
