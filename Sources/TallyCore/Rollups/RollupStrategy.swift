import GRDB
import GRDBSQLite

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
                    throw TallyError(
                        .state,
                        "no intact rollup serves stat \(stat.name): run `tally rollups enable`, "
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
    static func read(_ stat: Stat, from r: RollupDefinition, in db: Database, mapping: MappedSchema?) throws -> Read {
        let affinities = try ColumnAffinity.of(table: stat.table, in: db, mapping: mapping)
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
        // The rows as stored, added up in Swift by the stat's groups: a
        // GROUP BY would cost SQLite an aggregate context per row (a rollup
        // keeps one row per key). Decoded as `RollupSQL.decoded` says (verify
        // reports a table edited by hand).
        var select = stat.groupBy.map { keyOf[$0]! } + [RollupSQL.decoded("n")]
        for column in needed {
            let j = sumIndex[column]!
            // Every kept part, in `sumColumns` order: `answer` reads them by position.
            select += RollupSQL.sumColumns(r, j).map(RollupSQL.decoded)
        }
        // Per group, and per 15-minute bucket when the stat has periods.
        var partial: [Int64] = []
        if let grid = stat.bucket?.grid {
            let m = RollupDefinition.bucketMilliseconds
            // 15-minute buckets cut by a boundary of the grid (from, to, period starts).
            let cuts = ([grid.from, grid.to] + grid.starts.dropFirst().dropLast()).filter { $0 % m != 0 }
            partial = Array(Set(cuts.map { $0.floorDiv(m) })).sorted()
            select.insert("CAST(b AS INTEGER)", at: stat.groupBy.count)
            conditions.append("b >= ? AND b < ?")
            arguments += [grid.from.floorDiv(m).databaseValue, (grid.to.floorDiv(m) + 1).databaseValue]
        }
        let sql = "SELECT \(select.joined(separator: ", ")) FROM \(r.tableName)\(StatSQL.whereClause(conditions))"
        return Read(sql: sql, arguments: arguments, needed: needed, grid: stat.bucket?.grid, partial: partial)
    }

    /// A stat from its rollup, or nil when a group needs a scan.
    static func answer(_ stat: Stat, from r: RollupDefinition, in db: Database, execution: Execution) throws -> StatResult? {
        if let grid = stat.bucket?.grid, grid.count == 0 { return StatResult(stat: stat) }
        let read = try read(stat, from: r, in: db, mapping: execution.mapping)
        let (sql, arguments, needed, grid, partial) = (read.sql, read.arguments, read.needed, read.grid, read.partial)
        // Cells stored once, found by key; rows are added in place (no
        // allocation per row: a year of 15-minute buckets is 35,000 rows).
        var slots: [StatResult.Key: Int] = [:]
        var storage: [RollupCell] = []
        func slot(_ key: StatResult.Key) -> Int {
            if let index = slots[key] { return index }
            storage.append(RollupCell(sums: needed.count))
            slots[key] = storage.count - 1
            return storage.count - 1
        }
        func add(_ key: StatResult.Key, _ cell: RollupCell) { storage[slot(key)].merge(cell) }
        try execution.checkCancellation()
        execution.ran()
        let partialSet = Set(partial)
        let statement = try db.makeStatement(sql: sql)
        try statement.setArguments(StatementArguments(arguments))
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        let m = RollupDefinition.bucketMilliseconds
        while true {
            let step = sqlite3_step(handle)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: step), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
            }
            var i: Int32 = 0
            var values: [StatValue] = []
            if !stat.groupBy.isEmpty {
                values.reserveCapacity(stat.groupBy.count)
                for _ in stat.groupBy { values.append(StatValue(key: DatabaseValue(sqliteStatement: handle, index: i))); i += 1 }
            }
            var gridBucket: Int?
            if let grid {
                defer { i += 1 }
                guard sqlite3_column_type(handle, i) != SQLITE_NULL else { continue }  // NULL: no time
                let b = sqlite3_column_int64(handle, i)
                if partialSet.contains(b) { continue }
                // b lies in [from / m, to / m]: the WHERE clause bounds it.
                let start = b * m
                guard start >= grid.from, start + m <= grid.to else { continue }
                gridBucket = grid.bucket(of: start)
            }
            // An emptied group holds nothing, whatever its parts say.
            guard sqlite3_column_int64(handle, i) != 0 else { continue }
            let index = slot(StatResult.Key(values, bucket: gridBucket))
            storage[index].count &+= sqlite3_column_int64(handle, i); i += 1
            for j in needed.indices {
                storage[index].sums[j].count &+= sqlite3_column_int64(handle, i)
                storage[index].sums[j].low &+= sqlite3_column_int64(handle, i + 1)
                storage[index].sums[j].high &+= sqlite3_column_int64(handle, i + 2)
                // NULL: SQLite stored a NaN there (see `RollupRows.read`).
                let lost = sqlite3_column_type(handle, i + 3) == SQLITE_NULL || sqlite3_column_type(handle, i + 4) == SQLITE_NULL
                storage[index].sums[j].real += lost ? .nan : sqlite3_column_double(handle, i + 3)
                storage[index].sums[j].compensation += lost ? .nan : sqlite3_column_double(handle, i + 4)
                storage[index].sums[j].reals &+= sqlite3_column_int64(handle, i + 5)
                storage[index].sums[j].texts &+= sqlite3_column_int64(handle, i + 6)
                storage[index].sums[j].positiveLow &+= sqlite3_column_int64(handle, i + 7)
                storage[index].sums[j].positiveHigh &+= sqlite3_column_int64(handle, i + 8)
                i += 9
            }
        }
        // The cut 15-minute buckets, from their base rows: each cut into
        // segments that lie in one period.
        if let grid, let column = stat.bucket?.column, !partial.isEmpty {
            var segments: [(low: Int64, high: Int64, bucket: Int)] = []
            for b in partial {
                let start = max(grid.from, b * RollupDefinition.bucketMilliseconds)
                let end = min(grid.to, (b + 1) * RollupDefinition.bucketMilliseconds)
                let points = [start] + grid.starts.filter { $0 > start && $0 < end } + [end]
                for (low, high) in zip(points, points.dropFirst()) where low < high {
                    if let gridBucket = grid.bucket(of: low) { segments.append((low, high, gridBucket)) }
                }
            }
            let indexed = try IndexManager.hasRangeIndex(on: stat.table, column: column, after: Set(stat.filters.map(\.column)), in: db)
            if indexed {
                // An index range read per segment: O(log n + rows) each.
                for segment in segments {
                    for row in try baseRows(stat, column: column, ranges: [(segment.low, segment.high)], sums: needed, in: db, execution: execution) {
                        add(StatResult.Key(row.values, bucket: segment.bucket), row.cell)
                    }
                }
            } else if segments.count <= 32 {
                // Without an index each range would be a scan: one scan for all.
                for row in try baseRows(stat, column: column, ranges: segments.map { ($0.low, $0.high) }, sums: needed, in: db, execution: execution)
                {
                    add(StatResult.Key(row.values, bucket: segments[row.range].bucket), row.cell)
                }
            } else {
                return nil  // many cuts and no index: the single pass is cheaper
            }
        }
        var result = StatResult(stat: stat)
        for (key, index) in slots where storage[index].count != 0 {
            let cell = storage[index]
            var aggregates: [StatValue] = []
            for aggregate in stat.aggregates {
                switch aggregate {
                case .count:
                    aggregates.append(.integer(cell.count))
                case .countNonNull(let column):
                    aggregates.append(.integer(cell.sums[needed.firstIndex(of: column)!].count))
                case .sum(let column), .avg(let column):
                    let sum = cell.sums[needed.firstIndex(of: column)!]
                    // The scan answers what SQL's SUM does with values (or an
                    // order of partial sums) the kept parts cannot tell.
                    if sum.texts != 0 || !sum.realTotal.isFinite || !sum.integerPartialSumsFit { return nil }
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

    /// The first and last 15-minute bucket holding rows of a time-bucketed
    /// rollup: two steps of its key index. Nil when it holds none.
    static func bucketRange(of r: RollupDefinition, in db: Database, execution: Execution) throws -> (Int64, Int64)? {
        guard r.bucketColumn != nil, r.groupBy.isEmpty else { return nil }
        try execution.checkCancellation()
        execution.ran(2)
        let select = "SELECT CAST(b AS INTEGER) FROM \(r.tableName) WHERE n > 0 AND typeof(b) = 'integer' ORDER BY b"
        guard let low = try Int64.fetchOne(db, sql: select + " LIMIT 1"),
            let high = try Int64.fetchOne(db, sql: select + " DESC LIMIT 1")
        else { return nil }
        return (low, high)
    }

    /// The read of base rows in `ranges` of the stat's bucket column (cut
    /// 15-minute buckets), with the column itself first.
    static func baseRowsStatement(
        _ stat: Stat, column: String, ranges: [(Int64, Int64)],
        sums: [String]
    ) -> (sql: String, arguments: [DatabaseValue]) {
        var (conditions, arguments) = StatSQL.conditions(stat.filters)
        conditions.append("(" + ranges.map { _ in "\(column) >= ? AND \(column) < ?" }.joined(separator: " OR ") + ")")
        for (low, high) in ranges { arguments += [low.databaseValue, high.databaseValue] }
        let selected = [column] + stat.groupBy + sums
        return ("SELECT \(selected.joined(separator: ", ")) FROM \(stat.table)\(StatSQL.whereClause(conditions))", arguments)
    }

    /// The base rows in `ranges` (sorted, disjoint) of the stat's bucket
    /// column, grouped by the range holding their time and the stat's group
    /// values, accumulated as the triggers would.
    static func baseRows(
        _ stat: Stat, column: String, ranges: [(Int64, Int64)], sums: [String], in db: Database,
        execution: Execution
    ) throws -> [(range: Int, values: [StatValue], cell: RollupCell)] {
        let (sql, arguments) = baseRowsStatement(stat, column: column, ranges: ranges, sums: sums)
        try execution.checkCancellation()
        execution.ran()
        var cells: [[StatValue]: RollupCell] = [:]
        let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
        while let row = try rows.next() {
            // The range holding this row's time (a real time: its floor, as the scan buckets it).
            let time: Int64
            switch (row[0] as DatabaseValue).storage {
            case .int64(let t): time = t
            case .double(let t): time = Int64(t.rounded(.down))  // within the ranges: no overflow
            default: continue
            }
            var low = 0, high = ranges.count  // the first range ending after `time`
            while low < high {
                let mid = (low + high) / 2
                if ranges[mid].1 > time { high = mid } else { low = mid + 1 }
            }
            let range = low
            guard range < ranges.count, ranges[range].0 <= time else { continue }
            let key = [StatValue.integer(Int64(range))] + stat.groupBy.indices.map { StatValue(key: row[1 + $0] as DatabaseValue) }
            var cell = cells[key] ?? RollupCell(sums: sums.count)
            cell.count += 1
            for j in sums.indices { cell.sums[j].add(StatValue(row[1 + stat.groupBy.count + j] as DatabaseValue), sign: 1) }
            cells[key] = cell
        }
        return cells.map { key, cell in
            guard case .integer(let range) = key[0] else { return (0, Array(key.dropFirst()), cell) }
            return (Int(range), Array(key.dropFirst()), cell)
        }
    }
}
