import GRDB

/// The `naive` strategy: one `COUNT`/`SUM … WHERE col = ?` query per group
/// value (and per bucket), the seeds' original "12 count queries".
///
/// Group values come from the schema's enums (and 0/1 for flags). So that a
/// database without the CHECKs loses nothing, one `COUNT(*)` per stat checks
/// that the per-value queries covered every row; only when they did not does
/// a catch-all `GROUP BY` collect the values outside the enum.
enum NaiveStrategy {
    static func run(_ stats: [Stat], in db: Database) throws -> [StatResult] {
        let functions = StatSQL.registerBucketFunctions(stats, in: db)
        defer { functions.forEach { db.remove(function: $0) } }
        return try stats.enumerated().map { index, stat in try run(stat, index: index, in: db) }
    }

    /// The values a group-by column is expected to hold, if the schema says.
    static func knownDomain(table: String, column: String) -> [StatValue]? {
        if let values = TallySchema.enumValues["\(table).\(column)"] { return values.map(StatValue.text) }
        if TallySchema.flagColumns.contains(column) { return [.integer(0), .integer(1)] }
        return nil
    }

    private static func run(_ stat: Stat, index: Int, in db: Database) throws -> StatResult {
        let (base, baseArguments) = StatSQL.baseConditions(stat)
        var domains: [[StatValue]] = []
        var allKnown = true
        for column in stat.groupBy {
            if let domain = knownDomain(table: stat.table, column: column) {
                domains.append(domain)
            } else {
                allKnown = false
                let sql = "SELECT DISTINCT \(column) FROM \(stat.table)\(StatSQL.whereClause(base))"
                let values = try DatabaseValue.fetchAll(db, sql: sql, arguments: StatementArguments(baseArguments))
                domains.append(values.map(StatValue.init(key:)))
            }
        }
        var result = StatResult(stat: stat)
        let sql = perValueSQL(stat)
        let (_, filterArguments) = StatSQL.baseConditions(stat, withRange: false)
        let buckets: [Int?] = stat.bucket.map { grid in (0..<grid.grid.count).map { $0 } } ?? [nil]
        var covered: Int64 = 0
        for combination in cartesian(domains) {
            for bucket in buckets {
                var arguments = filterArguments
                for value in combination where value != .null { arguments.append(value.databaseValue) }
                if let bucket, let grid = stat.bucket?.grid {
                    let range = grid.range(ofBucket: bucket)
                    arguments.append(range.lowerBound)
                    arguments.append(range.upperBound)
                }
                guard let row = try Row.fetchOne(db, sql: sql(combination), arguments: StatementArguments(arguments)) else { continue }
                let count = row[0] as Int64
                guard count > 0 else { continue }
                covered += count
                result.groups[StatResult.Key(combination, bucket: bucket)] = StatSQL.aggregates(row, from: 1, count: stat.aggregates.count)
            }
        }
        guard !stat.groupBy.isEmpty, allKnown else { return result }
        // Values outside the enums (a database without the CHECKs)?
        let total = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM \(stat.table)\(StatSQL.whereClause(base))",
                                       arguments: StatementArguments(baseArguments)) ?? 0
        if total != covered {
            try collectOutsiders(stat, index: index, domains: domains, into: &result, in: db)
        }
        return result
    }

    /// `SELECT COUNT(*), aggregates FROM t WHERE filters AND g1 = ? … [AND ts >= ? AND ts < ?]`.
    private static func perValueSQL(_ stat: Stat) -> ([StatValue]) -> String {
        let (base, _) = StatSQL.baseConditions(stat, withRange: false)
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

    private static func collectOutsiders(_ stat: Stat, index: Int, domains: [[StatValue]], into result: inout StatResult, in db: Database) throws {
        var (conditions, arguments) = StatSQL.baseConditions(stat)
        var inside: [String] = []
        for (column, domain) in zip(stat.groupBy, domains) {
            inside.append("coalesce(\(column) IN (\(domain.map { _ in "?" }.joined(separator: ", "))), 0)")
            arguments.append(contentsOf: domain.map { $0.databaseValue })
        }
        conditions.append("NOT (\(inside.joined(separator: " AND ")))")
        var keys = stat.groupBy
        if let bucket = stat.bucket { keys.append("\(StatSQL.bucketFunction(index))(\(bucket.column))") }
        let sql = "SELECT \((keys + stat.aggregates.map(StatSQL.aggregate)).joined(separator: ", ")) FROM \(stat.table)"
            + StatSQL.whereClause(conditions) + " GROUP BY \(keys.joined(separator: ", "))"
        let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
        while let row = try rows.next() {
            StatSQL.accumulate(row, stat: stat, into: &result)
        }
    }

    private static func cartesian(_ domains: [[StatValue]]) -> [[StatValue]] {
        domains.reduce([[]]) { partial, domain in
            partial.flatMap { prefix in domain.map { prefix + [$0] } }
        }
    }

    /// The distinct SQL texts it runs (each with many argument sets), for `tally explain`.
    static func statements(_ stats: [Stat]) -> [(sql: String, arguments: StatementArguments)] {
        stats.map { stat in
            let (_, baseArguments) = StatSQL.baseConditions(stat, withRange: false)
            let combination = stat.groupBy.map { column in knownDomain(table: stat.table, column: column)?.first ?? .text("?") }
            var arguments = baseArguments
            arguments.append(contentsOf: combination.map { $0.databaseValue })
            if let grid = stat.bucket?.grid, grid.count > 0 {
                arguments.append(grid.range(ofBucket: 0).lowerBound)
                arguments.append(grid.range(ofBucket: 0).upperBound)
            } else if stat.bucket != nil {
                arguments.append(0); arguments.append(0)
            }
            return (perValueSQL(stat)(combination), StatementArguments(arguments))
        }
    }
}
