import GRDB

/// Compiles stats to the SQL of the `grouped` and `naive` strategies.
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

    /// The name of the SQL function that maps a timestamp to its bucket index
    /// for stat number `index` of a request (see `registerBucketFunctions`).
    static func bucketFunction(_ index: Int) -> String { "tally_bucket_\(index)" }

    /// Registers, on this connection, one deterministic SQL function per
    /// bucketed stat: `tally_bucket_N(ts)` is the index of the bucket holding
    /// `ts`, found by binary search over boundaries computed once. This is
    /// what a hand-written `GROUP BY strftime(…)` would do, but correct in
    /// any time zone and across DST changes.
    static func registerBucketFunctions(_ stats: [Stat], in db: Database) -> [DatabaseFunction] {
        var functions: [DatabaseFunction] = []
        for (index, stat) in stats.enumerated() {
            guard let grid = stat.bucket?.grid else { continue }
            let function = DatabaseFunction(bucketFunction(index), argumentCount: 1, pure: true) { values in
                guard let t = Int64.fromDatabaseValue(values[0]) else { return nil }
                return grid.bucket(of: t)
            }
            db.add(function: function)
            functions.append(function)
        }
        return functions
    }

    /// `WHERE` conditions shared by every query of a stat: its filters and its
    /// time range. Returns the SQL fragments and their arguments.
    ///
    /// - parameter withRange: false for naive's per-bucket queries, which
    ///   bound the bucket's own range instead (a second range on the same
    ///   column can lead SQLite's planner away from the best index).
    static func baseConditions(_ stat: Stat, withRange: Bool = true) -> (sql: [String], arguments: [DatabaseValueConvertible?]) {
        var sql: [String] = []
        var arguments: [DatabaseValueConvertible?] = []
        for filter in stat.filters {
            if filter.value == .null {
                sql.append("\(filter.column) IS NULL")
            } else {
                sql.append("\(filter.column) = ?")
                arguments.append(filter.value.databaseValue)
            }
        }
        if withRange, let bucket = stat.bucket {
            sql.append("\(bucket.column) >= ? AND \(bucket.column) < ?")
            arguments.append(bucket.grid.from)
            arguments.append(bucket.grid.to)
        }
        return (sql, arguments)
    }

    static func whereClause(_ conditions: [String]) -> String {
        conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
    }

    /// The smallest and largest `column` of `table` among the rows matching
    /// `conditions`. When an index serves the range (`indexed`, see
    /// `IndexManager.hasRangeIndex`), two statements: SQLite answers a lone
    /// `MIN` or `MAX` from the index in O(log n) but scans the whole range for
    /// both together. Without one, one statement: one scan, not two.
    static func extent(of column: String, in table: String, where conditions: [String], arguments: [DatabaseValue],
                       indexed: Bool, in db: Database) throws -> (min: Int64?, max: Int64?) {
        let from = "FROM \(table)\(whereClause(conditions))"
        let arguments = StatementArguments(arguments)
        if indexed {
            let low = try DatabaseValue.fetchOne(db, sql: "SELECT MIN(\(column)) \(from)", arguments: arguments).flatMap(Int64.fromDatabaseValue)
            let high = try DatabaseValue.fetchOne(db, sql: "SELECT MAX(\(column)) \(from)", arguments: arguments).flatMap(Int64.fromDatabaseValue)
            return (low, high)
        }
        let row = try Row.fetchOne(db, sql: "SELECT MIN(\(column)), MAX(\(column)) \(from)", arguments: arguments)
        return (row.flatMap { Int64.fromDatabaseValue($0[0]) }, row.flatMap { Int64.fromDatabaseValue($0[1]) })
    }

    /// The `grouped` query of a stat: one `GROUP BY` over its columns and bucket.
    static func grouped(_ stat: Stat, index: Int) -> (sql: String, arguments: StatementArguments) {
        var keys = stat.groupBy
        if let bucket = stat.bucket { keys.append("\(bucketFunction(index))(\(bucket.column))") }
        let selected = keys + stat.aggregates.map(aggregate)
        let (conditions, arguments) = baseConditions(stat)
        var sql = "SELECT \(selected.joined(separator: ", ")) FROM \(stat.table)\(whereClause(conditions))"
        if !keys.isEmpty { sql += " GROUP BY \(keys.joined(separator: ", "))" }
        return (sql, StatementArguments(arguments))
    }

    /// Reads one `grouped` result row (`keys…, bucket?, aggregates…`) into `result`.
    static func accumulate(_ row: Row, stat: Stat, into result: inout StatResult) {
        var column = 0
        var values: [StatValue] = []
        for _ in stat.groupBy {
            values.append(StatValue(key: row[column] as DatabaseValue))
            column += 1
        }
        var bucket: Int? = nil
        if stat.bucket != nil {
            guard let b = row[column] as Int? else { return }
            bucket = b
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
        case .blob(let v): self = .text(String(decoding: v, as: UTF8.self))
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
        }
    }
}
