import GRDB

/// The `naive` strategy: one `COUNT`/`SUM … WHERE col = ?` query per group
/// value (and per bucket), the seeds' original "12 count queries", and for
/// module counts the N+1 pattern (one count per organization).
///
/// Group values come from a filter on the same column (the organizations
/// asked for), the schema's enums (and 0/1 for flags), or a `SELECT DISTINCT`.
/// So that a database without the CHECKs loses nothing, one `COUNT(*)` per
/// stat checks that the per-value queries of an enum domain covered every
/// row; only when they did not does a catch-all `GROUP BY` collect the values
/// outside the enum.
enum NaiveStrategy {
    static func run(_ stats: [Stat], in db: Database, execution: Execution) throws -> [StatResult] {
        try StatSQL.withBucketFunctions(stats, in: db) {
            try stats.enumerated().map { index, stat in try run(stat, index: index, in: db, execution: execution) }
        }
    }

    /// The values a group-by column is expected to hold, if the schema says.
    static func knownDomain(table: String, column: String) -> [StatValue]? {
        if let values = TallySchema.enumValues["\(table).\(column)"] { return values.map(StatValue.text) }
        if TallySchema.flagColumns.contains(column) { return [.integer(0), .integer(1)] }
        return nil
    }

    private static func run(_ original: Stat, index: Int, in db: Database, execution: Execution) throws -> StatResult {
        // A filter on a group-by column becomes that column's domain: one
        // query per value, each with its own `col = ?`.
        var stat = original
        stat.filters = original.filters.filter { !original.groupBy.contains($0.column) }
        let (base, baseArguments) = StatSQL.conditions(stat)
        var domains: [[StatValue]] = []
        var allEnums = true
        for column in stat.groupBy {
            if let filter = original.filters.first(where: { $0.column == column }) {
                domains.append(filter.values)
                allEnums = false
            } else if let domain = knownDomain(table: stat.table, column: column) {
                domains.append(domain)
            } else {
                allEnums = false
                let sql = "SELECT DISTINCT \(column) FROM \(stat.table)\(StatSQL.whereClause(base))"
                try execution.checkCancellation()
                execution.ran()
                let values = try DatabaseValue.fetchAll(db, sql: sql, arguments: StatementArguments(baseArguments))
                domains.append(values.map(StatValue.init(key:)))
            }
        }
        var result = StatResult(stat: original)
        let sql = perValueSQL(stat)
        let (_, filterArguments) = StatSQL.conditions(stat, withRange: false)
        let buckets: [Int?] = stat.bucket.map { bucket in (0..<bucket.grid.count).map { $0 } } ?? [nil]
        var covered: Int64 = 0
        for combination in cartesian(domains) {
            for bucket in buckets {
                var arguments = filterArguments
                for value in combination where value != .null { arguments.append(value.databaseValue) }
                if let bucket, let grid = stat.bucket?.grid {
                    let range = grid.range(ofBucket: bucket)
                    arguments += [range.lowerBound.databaseValue, range.upperBound.databaseValue]
                }
                try execution.checkCancellation()
                execution.ran()
                let row: Row?
                do {
                    row = try Row.fetchOne(db, sql: sql(combination), arguments: StatementArguments(arguments))
                } catch let error as DatabaseError where error.message == "integer overflow" {
                    throw StatSQL.overflow(in: original)
                }
                guard let row, case .int64(let count) = (row[0] as DatabaseValue).storage, count > 0 else { continue }
                covered += count
                result.groups[StatResult.Key(combination, bucket: bucket)] = StatSQL.aggregates(row, from: 1, count: stat.aggregates.count)
            }
        }
        guard !stat.groupBy.isEmpty, allEnums else { return result }
        // Values outside the enums (a database without the CHECKs)?
        try execution.checkCancellation()
        execution.ran()
        let total =
            try Int64.fetchOne(
                db, sql: "SELECT COUNT(*) FROM \(stat.table)\(StatSQL.whereClause(base))",
                arguments: StatementArguments(baseArguments)) ?? 0
        if total != covered {
            var outsiders = StatResult(stat: stat)
            try collectOutsiders(stat, index: index, domains: domains, into: &outsiders, in: db, execution: execution)
            result.groups.merge(outsiders.groups) { $1 }
        }
        return result
    }

    /// `SELECT COUNT(*), aggregates FROM t WHERE filters AND g1 = ? … [AND ts >= ? AND ts < ?]`.
    private static func perValueSQL(_ stat: Stat) -> ([StatValue]) -> String {
        let (base, _) = StatSQL.conditions(stat, withRange: false)
        let selected = (["COUNT(*)"] + stat.aggregates.map(StatSQL.aggregate)).joined(separator: ", ")
        return { combination in
            var conditions = base
            for (column, value) in zip(stat.groupBy, combination) {
                conditions.append(value == .null ? "\(column) IS NULL" : "\(column) = ?")
            }
            if let bucket = stat.bucket {
                conditions.append("\(bucket.column) >= ? AND \(bucket.column) < ?")
            }
            return "SELECT \(selected) FROM \(stat.table)\(StatSQL.whereClause(conditions))"
        }
    }

    private static func collectOutsiders(
        _ stat: Stat, index: Int, domains: [[StatValue]], into result: inout StatResult,
        in db: Database, execution: Execution
    ) throws {
        var (conditions, arguments) = StatSQL.conditions(stat)
        var inside: [String] = []
        for (column, domain) in zip(stat.groupBy, domains) {
            inside.append("coalesce(\(column) IN (\(domain.map { _ in "?" }.joined(separator: ", "))), 0)")
            arguments += domain.map(\.databaseValue)
        }
        conditions.append("NOT (\(inside.joined(separator: " AND ")))")
        var keys = stat.groupBy
        if let bucket = stat.bucket { keys.append("\(StatSQL.bucketFunction(index))(\(bucket.column))") }
        let sql =
            "SELECT \((keys + stat.aggregates.map(StatSQL.aggregate)).joined(separator: ", ")) FROM \(stat.table)"
            + StatSQL.whereClause(conditions) + " GROUP BY \(keys.joined(separator: ", "))"
        try StatSQL.collect(sql, arguments: StatementArguments(arguments), stat: stat, into: &result, in: db, execution: execution)
    }

    private static func cartesian(_ domains: [[StatValue]]) -> [[StatValue]] {
        domains.reduce([[]]) { partial, domain in
            partial.flatMap { prefix in domain.map { prefix + [$0] } }
        }
    }

    /// The distinct SQL texts it runs (each with many argument sets), for `tally explain`.
    static func statements(_ stats: [Stat]) -> [(sql: String, arguments: StatementArguments)] {
        stats.map { original in
            var stat = original
            stat.filters = original.filters.filter { !original.groupBy.contains($0.column) }
            let (_, baseArguments) = StatSQL.conditions(stat, withRange: false)
            let combination = stat.groupBy.map { column in
                original.filters.first { $0.column == column }?.values.first
                    ?? knownDomain(table: stat.table, column: column)?.first ?? .text("?")
            }
            var arguments = baseArguments
            arguments += combination.filter { $0 != .null }.map(\.databaseValue)
            if let grid = stat.bucket?.grid, grid.count > 0 {
                arguments += [grid.range(ofBucket: 0).lowerBound.databaseValue, grid.range(ofBucket: 0).upperBound.databaseValue]
            } else if stat.bucket != nil {
                arguments += [0.databaseValue, 0.databaseValue]
            }
            return (perValueSQL(stat)(combination), StatementArguments(arguments))
        }
    }
}
