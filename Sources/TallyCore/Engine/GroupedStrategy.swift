import GRDB

/// The `grouped` strategy: one `GROUP BY` query per stat (the seeds' "6
/// grouped queries" refactor of 12 counts).
///
/// On SQLite this is not always faster than the counts it replaces: there is
/// no hash aggregate, so a `GROUP BY` without an index on its columns sorts
/// the table in a temp B-tree.
enum GroupedStrategy {
    /// At most this many values of an `IN` filter per statement (SQLite's
    /// historical limit of bound parameters is 999).
    static let chunkSize = 500

    static func run(_ stats: [Stat], in db: Database, execution: Execution) throws -> [StatResult] {
        try StatSQL.withBucketFunctions(stats, in: db) {
            try stats.enumerated().map { index, stat in
                var result = StatResult(stat: stat)
                for part in chunks(stat) {
                    let (sql, arguments) = StatSQL.grouped(part, index: index)
                    try StatSQL.collect(sql, arguments: arguments, stat: stat, into: &result, in: db, execution: execution)
                }
                return result
            }
        }
    }

    /// The stat split so that no statement binds more than `chunkSize`
    /// values of an `IN` filter; only a filter on a group-by column is split,
    /// so that the parts' groups never overlap.
    static func chunks(_ stat: Stat) -> [Stat] {
        guard let f = stat.filters.firstIndex(where: { $0.values.count > chunkSize && stat.groupBy.contains($0.column) }) else {
            return [stat]
        }
        let filter = stat.filters[f]
        return stride(from: 0, to: filter.values.count, by: chunkSize).map { start in
            var part = stat
            part.filters[f] = .oneOf(filter.column, Array(filter.values[start..<min(start + chunkSize, filter.values.count)]))
            return part
        }
    }

    /// The SQL it runs (the first part of a split stat), for `tally explain`.
    static func statements(_ stats: [Stat]) -> [(sql: String, arguments: StatementArguments)] {
        stats.enumerated().map { StatSQL.grouped(chunks($1)[0], index: $0) }
    }
}
