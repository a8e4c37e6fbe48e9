import GRDB

/// Compiles stats to SQL: the one place that writes filters, grouped
/// `SELECT`s, extents and bucket functions, for every strategy.
///
/// Identifiers come only from validated stats (the contract's names); every
/// value, boundary and filter constant is a bound argument.
enum StatSQL {
    static func aggregate(_ aggregate: Stat.Aggregate) -> String {
        switch aggregate {
        case .count: "COUNT(*)"
        case .countNonNull(let c): "COUNT(\(c))"
        case .sum(let c): "SUM(\(c))"
        case .avg(let c): "AVG(\(c))"
        case .min(let c): "MIN(\(c))"
        case .max(let c): "MAX(\(c))"
        }
    }

    /// `WHERE` fragments and arguments of filters: `col = ?`, `col IS NULL`,
    /// `col IN (?, …)` (with `OR col IS NULL` when NULL is among the values).
    static func conditions(_ filters: [Stat.Filter]) -> (sql: [String], arguments: [DatabaseValue]) {
        var sql: [String] = []
        var arguments: [DatabaseValue] = []
        for filter in filters {
            let values = filter.values.filter { $0 != .null }
            let matchesNull = values.count < filter.values.count
            var parts: [String] = []
            if values.count == 1 {
                parts.append("\(filter.column) = ?")
            } else if values.count > 1 {
                parts.append("\(filter.column) IN (\(values.map { _ in "?" }.joined(separator: ", ")))")
            }
            if matchesNull { parts.append("\(filter.column) IS NULL") }
            sql.append(parts.isEmpty ? "0" : parts.count == 1 ? parts[0] : "(\(parts.joined(separator: " OR ")))")
            arguments += values.map(\.databaseValue)
        }
        return (sql, arguments)
    }

    /// The conditions of a stat: its filters and, unless `withRange` is
    /// false, its time range.
    static func conditions(_ stat: Stat, withRange: Bool = true) -> (sql: [String], arguments: [DatabaseValue]) {
        var (sql, arguments) = conditions(stat.filters)
        if withRange, let bucket = stat.bucket {
            sql.append("\(bucket.column) >= ? AND \(bucket.column) < ?")
            arguments += [bucket.grid.from.databaseValue, bucket.grid.to.databaseValue]
        }
        return (sql, arguments)
    }

    static func whereClause(_ conditions: [String]) -> String {
        conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
    }

    /// The name of the SQL function that maps a timestamp to its bucket index
    /// for stat number `index` of a request (see `registerBucketFunctions`).
    static func bucketFunction(_ index: Int) -> String { "tally_bucket_\(index)" }

    /// Registers, on this connection, one deterministic SQL function per
    /// bucketed stat: `tally_bucket_N(ts)` is the index of the bucket holding
    /// `ts` (as SQLite compares numbers), found by binary search over
    /// boundaries computed once. This is what a hand-written `GROUP BY
    /// strftime(…)` would do, but correct in any time zone and across
    /// changes of offset.
    static func registerBucketFunctions(_ stats: [Stat], in db: Database) -> [DatabaseFunction] {
        var functions: [DatabaseFunction] = []
        for (index, stat) in stats.enumerated() {
            guard let grid = stat.bucket?.grid else { continue }
            let function = DatabaseFunction(bucketFunction(index), argumentCount: 1, pure: true) { values in
                switch values[0].storage {
                case .int64(let t): return grid.bucket(of: t)
                case .double(let t): return grid.bucket(of: t)
                default: return nil
                }
            }
            db.add(function: function)
            functions.append(function)
        }
        return functions
    }

    /// Runs `body` with the bucket functions of `stats` registered.
    static func withBucketFunctions<T>(_ stats: [Stat], in db: Database, _ body: () throws -> T) rethrows -> T {
        let functions = registerBucketFunctions(stats, in: db)
        defer { functions.forEach { db.remove(function: $0) } }
        return try body()
    }

    /// The smallest and largest *number* in `column` among the rows matching
    /// `conditions` (texts and blobs sort above every number, and never fall
    /// in a time range: `column < ''` keeps numbers only, through an index).
    /// When an index serves the range (`indexed`), two statements: SQLite
    /// answers a lone `MIN` or `MAX` from the index in O(log n) but scans the
    /// whole range for both together. Without one, one statement.
    static func extent(
        of column: String, in table: String, where conditions: [String], arguments: [DatabaseValue],
        indexed: Bool, in db: Database, execution: Execution
    ) throws -> (min: Double?, max: Double?) {
        let from = "FROM \(table)\(whereClause(conditions + ["\(column) < ''"]))"
        let bound = StatementArguments(arguments)
        func number(_ value: DatabaseValue?) -> Double? {
            switch value?.storage {
            case .int64(let v)?: Double(v)
            case .double(let v)?: v
            default: nil
            }
        }
        return try execution.extent("\(column) \(from) \(arguments)") {
            if indexed {
                execution.ran(2)
                let low = try DatabaseValue.fetchOne(db, sql: "SELECT MIN(\(column)) \(from)", arguments: bound)
                let high = try DatabaseValue.fetchOne(db, sql: "SELECT MAX(\(column)) \(from)", arguments: bound)
                return (number(low), number(high))
            }
            execution.ran()
            if try IndexManager.isMappedView(table, in: db) {
                // A view's column is a conversion, evaluated wherever the
                // query names it: `LIMIT -1` keeps the subquery from being
                // flattened, so each row's value is computed once, not three times.
                let inner = "SELECT \(column) AS v FROM \(table)\(whereClause(conditions)) LIMIT -1"
                let row = try Row.fetchOne(db, sql: "SELECT MIN(v), MAX(v) FROM (\(inner)) WHERE v < ''", arguments: bound)
                return (number(row?[0]), number(row?[1]))
            }
            let row = try Row.fetchOne(db, sql: "SELECT MIN(\(column)), MAX(\(column)) \(from)", arguments: bound)
            return (number(row?[0]), number(row?[1]))
        }
    }

    /// The `grouped` query of a stat: one `GROUP BY` over its columns and bucket.
    static func grouped(_ stat: Stat, index: Int) -> (sql: String, arguments: StatementArguments) {
        var keys = stat.groupBy
        if let bucket = stat.bucket { keys.append("\(bucketFunction(index))(\(bucket.column))") }
        let selected = keys + stat.aggregates.map(aggregate)
        let (conditions, arguments) = conditions(stat)
        var sql = "SELECT \(selected.joined(separator: ", ")) FROM \(stat.table)\(whereClause(conditions))"
        if !keys.isEmpty { sql += " GROUP BY \(keys.joined(separator: ", "))" }
        return (sql, StatementArguments(arguments))
    }

    /// Runs a query whose rows are `keys…, bucket?, aggregates…`, adding its
    /// groups to `result`; SQL's integer overflow names the stat's columns.
    static func collect(
        _ sql: String, arguments: StatementArguments, stat: Stat, into result: inout StatResult,
        in db: Database, execution: Execution
    ) throws {
        try execution.checkCancellation()
        execution.ran()
        do {
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() {
                accumulate(row, stat: stat, into: &result)
            }
        } catch let error as DatabaseError where error.message == "integer overflow" {
            throw overflow(in: stat)
        }
    }

    /// SQL's overflow error, naming the stat's summed columns.
    static func overflow(in stat: Stat) -> TallyError {
        let columns = stat.aggregates.compactMap { aggregate -> String? in
            if case .sum(let c) = aggregate { return c } else { return nil }
        }
        return TallyError.integerOverflow(table: stat.table, column: columns.joined(separator: ", "), stat: stat.name)
    }

    /// Reads one result row (`keys…, bucket?, aggregates…`) into `result`.
    static func accumulate(_ row: Row, stat: Stat, into result: inout StatResult) {
        var column = 0
        var values: [StatValue] = []
        for _ in stat.groupBy {
            values.append(StatValue(key: row[column] as DatabaseValue))
            column += 1
        }
        var bucket: Int? = nil
        if stat.bucket != nil {
            guard case .int64(let b) = (row[column] as DatabaseValue).storage else { return }
            bucket = Int(b)
            column += 1
        }
        result.groups[StatResult.Key(values, bucket: bucket)] = aggregates(row, from: column, count: stat.aggregates.count)
    }

    static func aggregates(_ row: Row, from start: Int, count: Int) -> [StatValue] {
        (start..<start + count).map { StatValue(row[$0] as DatabaseValue) }
    }
}

extension StatValue {
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let v): self = .integer(v)
        case .double(let v): self = .real(v)
        case .string(let v): self = .text(v)
        case .blob(let v): self = .blob(v)
        }
    }

    /// A group key as SQLite groups it: 1.0 and 1 are one group.
    init(key value: DatabaseValue) {
        if case .double(let v) = value.storage, let exact = Int64(exactly: v) {
            self = .integer(exact)
        } else {
            self.init(value)
        }
    }

    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let v): v.databaseValue
        case .real(let v): v.databaseValue
        case .text(let v): v.databaseValue
        case .blob(let v): v.databaseValue
        }
    }
}
