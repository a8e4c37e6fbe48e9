import GRDB

/// The `rollup` strategy: answers read from rollup tables, O(groups), in the
/// same snapshot as the base rows (the triggers write both in one
/// transaction).
///
/// A stat with a time bucket sums the rollup's 15-minute buckets that lie
/// wholly inside each of its periods; a 15-minute bucket cut by a period
/// boundary (an ISO `from` off the grid, a zone whose days began off the
/// quarter hour, as before 1980 in many zones) is completed from the base
/// rows of just that slice, an index range read, so the answer stays exact.
///
/// A group holding a text or a blob in a summed column (SQLite reads a
/// number from it that only a scan reproduces), or a real sum that is no
/// longer finite, is answered by `single-pass` instead, in the same
/// snapshot: `meta.strategy` then says `rollup+single-pass`.
enum RollupStrategy {
    /// Results of `stats`; a stat a rollup cannot answer exactly (or, when
    /// `auto` chose rollups, that none serves any more) is scanned, and
    /// `execution.fellBackToScan` says so.
    ///
    /// - throws: `TallyError.Kind.state` when rollups were asked for and no
    ///   intact rollup serves a stat.
    static func run(_ stats: [Stat], catalog: RollupCatalog, in db: Database, execution: Execution) throws -> [StatResult] {
        var results = [StatResult?](repeating: nil, count: stats.count)
        var fallback: [Int] = []
        for (position, stat) in stats.enumerated() {
            guard let rollup = catalog.rollup(for: stat) else {
                guard execution.rollupsChosenByAuto else {
                    throw TallyError(.state, "no intact rollup serves stat \(stat.name): run `tally rollups enable`, "
                                     + "or see `tally rollups status`")
                }
                fallback.append(position)
                continue
            }
            results[position] = try answer(stat, from: rollup, in: db, execution: execution)
            if results[position] == nil { fallback.append(position) }
        }
        if !fallback.isEmpty {
            execution.fellBackToScan = true
            let scanned = try TallyEngine.run(fallback.map { stats[$0] }, in: db, strategy: .singlePass, execution: execution)
            for (position, result) in zip(fallback, scanned) { results[position] = result }
        }
        return results.compactMap { $0 }
    }

    /// The stats `rollups` cannot serve (what keeps the scan under `auto`).
    static func unserved(_ stats: [Stat], catalog: RollupCatalog) -> [Stat] {
        stats.filter { catalog.rollup(for: $0) == nil }
    }

    /// The statement reading `stat` from rollup `r`, and what folding its
    /// rows needs.
    struct Read {
        var sql: String
        var arguments: [DatabaseValue]
        /// The summed columns the stat needs, in the order the statement reads them.
        var needed: [String]
        /// The stat's periods, when it has them.
        var grid: PeriodGrid?
        /// 15-minute buckets cut by a period boundary: read from base rows.
        var partial: [Int64]
    }

    /// The `SELECT` on the rollup table that answers `stat` (what `explain`
    /// shows for `rollup`).
    static func read(_ stat: Stat, from r: RollupDefinition, in db: Database) throws -> Read {
        let affinities = try ColumnAffinity.of(table: stat.table, in: db)
        let keyOf = Dictionary(uniqueKeysWithValues: r.groupBy.enumerated().map { ($1, "k\($0)") })
        // The stat's own filters beyond the rollup's: on key columns, bound
        // as SQL compares them with the base column.
        let extra = stat.filters.filter { filter in !r.filters.contains { filter == .equals($0.column, $0.value) } }
        var conditions: [String] = []
        var arguments: [DatabaseValue] = []
        for filter in extra {
            let affinity = affinities[filter.column] ?? .blob
            let values = filter.values.map { affinity.comparand($0) }
            let (sql, bound) = StatSQL.conditions([Stat.Filter.oneOf(keyOf[filter.column]!, values)])
            conditions += sql
            arguments += bound
        }
        let sumIndex = Dictionary(uniqueKeysWithValues: r.sums.enumerated().map { ($1, $0) })
        let needed = Array(Set(stat.aggregates.compactMap(\.column))).sorted()
        var groupKeys = stat.groupBy.map { keyOf[$0]! }
        // CASTs: a rollup table edited by hand may hold any storage class;
        // decoding must not trap on it (verify reports such a table).
        var select = groupKeys + ["CAST(SUM(n) AS INTEGER)"]
        for column in needed {
            let j = sumIndex[column]!
            select += ["CAST(SUM(c\(j)) AS INTEGER)", "CAST(SUM(l\(j)) AS INTEGER)", "CAST(SUM(h\(j)) AS INTEGER)", "TOTAL(r\(j))",
                       "TOTAL(e\(j))", "CAST(SUM(f\(j)) AS INTEGER)", "CAST(SUM(t\(j)) AS INTEGER)"]
        }
        // Per group, and per 15-minute bucket when the stat has periods.
        var partial: [Int64] = []
        if let grid = stat.bucket?.grid {
            let m = RollupDefinition.bucketMilliseconds
            // 15-minute buckets cut by a boundary of the grid (from, to, period starts).
            let cuts = ([grid.from, grid.to] + grid.starts.dropFirst().dropLast()).filter { $0 % m != 0 }
            partial = Array(Set(cuts.map { $0.floorDiv(m) })).sorted()
            groupKeys.append("b")
            select.insert("CAST(b AS INTEGER)", at: stat.groupBy.count)
            conditions.append("b >= ? AND b < ?")
            arguments += [grid.from.floorDiv(m).databaseValue, (grid.to.floorDiv(m) + 1).databaseValue]
        }
        let group = groupKeys.isEmpty ? "" : " GROUP BY \(groupKeys.joined(separator: ", "))"
        let sql = "SELECT \(select.joined(separator: ", ")) FROM \(r.tableName)\(StatSQL.whereClause(conditions))\(group)"
        return Read(sql: sql, arguments: arguments, needed: needed, grid: stat.bucket?.grid, partial: partial)
    }

    /// A stat from its rollup, or nil when a group needs a scan.
    static func answer(_ stat: Stat, from r: RollupDefinition, in db: Database, execution: Execution) throws -> StatResult? {
        if let grid = stat.bucket?.grid, grid.count == 0 { return StatResult(stat: stat) }
        let read = try read(stat, from: r, in: db)
        let (sql, arguments, needed, grid, partial) = (read.sql, read.arguments, read.needed, read.grid, read.partial)
        var cells: [StatResult.Key: RollupCell] = [:]
        func add(_ key: StatResult.Key, _ cell: RollupCell) {
            var total = cells[key] ?? RollupCell(sums: needed.count)
            total.merge(cell)
            cells[key] = total
        }
        try execution.checkCancellation()
        execution.ran()
        let partialSet = Set(partial)
        let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
        while let row = try rows.next() {
            var i = 0
            var values: [StatValue] = []
            for _ in stat.groupBy { values.append(StatValue(key: row[i] as DatabaseValue)); i += 1 }
            var gridBucket: Int?
            if let grid {
                guard let b = row[i] as Int64? else { continue }  // NULL: no time
                i += 1
                if partialSet.contains(b) { continue }
                let start = b * RollupDefinition.bucketMilliseconds
                guard start >= grid.from, start + RollupDefinition.bucketMilliseconds <= grid.to else { continue }
                gridBucket = grid.bucket(of: start)
            }
            var cell = RollupCell(sums: needed.count)
            cell.count = row[i] ?? 0; i += 1
            for j in needed.indices {
                cell.sums[j] = .init(count: row[i] ?? 0, low: row[i + 1] ?? 0, high: row[i + 2] ?? 0, real: row[i + 3] ?? 0,
                                     compensation: row[i + 4] ?? 0, reals: row[i + 5] ?? 0, texts: row[i + 6] ?? 0)
                i += 7
            }
            add(StatResult.Key(values, bucket: gridBucket), cell)
        }
        // The cut 15-minute buckets, from their base rows, segment by segment.
        if let grid, let column = stat.bucket?.column {
            for b in partial {
                let start = max(grid.from, b * RollupDefinition.bucketMilliseconds)
                let end = min(grid.to, (b + 1) * RollupDefinition.bucketMilliseconds)
                var points = [start] + grid.starts.filter { $0 > start && $0 < end } + [end]
                points = points.filter { $0 <= end }
                for (low, high) in zip(points, points.dropFirst()) where low < high {
                    guard let gridBucket = grid.bucket(of: low) else { continue }
                    for (values, cell) in try baseRows(stat, column: column, from: low, to: high, sums: needed, in: db, execution: execution) {
                        add(StatResult.Key(values, bucket: gridBucket), cell)
                    }
                }
            }
        }
        var result = StatResult(stat: stat)
        for (key, cell) in cells where cell.count != 0 {
            var aggregates: [StatValue] = []
            for aggregate in stat.aggregates {
                switch aggregate {
                case .count:
                    aggregates.append(.integer(cell.count))
                case .countNonNull(let column):
                    aggregates.append(.integer(cell.sums[needed.firstIndex(of: column)!].count))
                case .sum(let column), .avg(let column):
                    let sum = cell.sums[needed.firstIndex(of: column)!]
                    if sum.texts != 0 || !sum.realTotal.isFinite { return nil }
                    if sum.count == 0 { aggregates.append(.null); continue }
                    if case .avg = aggregate {
                        aggregates.append(.real(sum.realTotal / Double(sum.count)))
                    } else if sum.reals != 0 {
                        aggregates.append(.real(sum.realTotal))
                    } else if let exact = sum.exactInteger {
                        aggregates.append(.integer(exact))
                    } else {
                        throw TallyError.integerOverflow(table: stat.table, column: column, stat: stat.name)
                    }
                case .min, .max:
                    return nil
                }
            }
            result.groups[key] = aggregates
        }
        return result
    }

    /// The index range read of one cut 15-minute bucket's base rows.
    static func baseRowsStatement(_ stat: Stat, column: String, from: Int64, to: Int64,
                                  sums: [String]) -> (sql: String, arguments: [DatabaseValue]) {
        var (conditions, arguments) = StatSQL.conditions(stat.filters)
        conditions.append("\(column) >= ? AND \(column) < ?")
        arguments += [from.databaseValue, to.databaseValue]
        let selected = stat.groupBy + sums
        return ("SELECT \(selected.isEmpty ? "1" : selected.joined(separator: ", ")) FROM \(stat.table)\(StatSQL.whereClause(conditions))",
                arguments)
    }

    /// The base rows of `[from, to)` on the stat's bucket column, grouped as
    /// the stat groups them, accumulated as the triggers would.
    static func baseRows(_ stat: Stat, column: String, from: Int64, to: Int64, sums: [String], in db: Database,
                         execution: Execution) throws -> [[StatValue]: RollupCell] {
        let (sql, arguments) = baseRowsStatement(stat, column: column, from: from, to: to, sums: sums)
        try execution.checkCancellation()
        execution.ran()
        var cells: [[StatValue]: RollupCell] = [:]
        let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
        while let row = try rows.next() {
            let key = stat.groupBy.indices.map { StatValue(key: row[$0] as DatabaseValue) }
            var cell = cells[key] ?? RollupCell(sums: sums.count)
            cell.count += 1
            for j in sums.indices { cell.sums[j].add(StatValue(row[stat.groupBy.count + j] as DatabaseValue), sign: 1) }
            cells[key] = cell
        }
        return cells
    }
}
