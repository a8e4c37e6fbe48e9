import GRDB
import GRDBSQLite

/// The `single-pass` strategy: one `SELECT` of the needed columns per table,
/// stepped through SQLite's C API, every stat of that table aggregated while
/// the row is under the cursor.
///
/// Per row it allocates nothing: key columns are mapped to dense codes by
/// comparing their bytes with the values already seen (`ValueInterner`), and
/// aggregates live in preallocated arrays (`StatAccumulator`).
struct SinglePassScanner {
    /// One table's scan: the columns it selects and the stats it serves.
    struct TableScan {
        let table: String
        let columns: [String]
        let stats: [Stat]
        /// Conditions every stat of the scan applies (pushed into SQL so that
        /// SQLite can use an index and skip rows; the stats still check them).
        let conditions: [String]
        let arguments: [DatabaseValue]

        var sql: String {
            "SELECT \(columns.joined(separator: ", ")) FROM \(table)" + StatSQL.whereClause(conditions)
        }
    }

    /// Groups stats by table, so that each table is read once.
    static func plan(_ stats: [Stat]) -> [TableScan] {
        var order: [String] = []
        var byTable: [String: [Stat]] = [:]
        for stat in stats {
            if byTable[stat.table] == nil { order.append(stat.table) }
            byTable[stat.table, default: []].append(stat)
        }
        return order.map { table in
            let stats = byTable[table]!
            var columns: [String] = []
            for stat in stats {
                for c in stat.columns where !columns.contains(c) { columns.append(c) }
            }
            // `SELECT  FROM t` is not SQL; a count-only scan reads the rowid.
            if columns.isEmpty { columns = ["rowid"] }
            let (conditions, arguments) = commonConditions(stats)
            return TableScan(table: table, columns: columns, stats: stats, conditions: conditions, arguments: arguments)
        }
    }

    /// The filters shared by every stat, and the hull of their time ranges
    /// when every stat is bucketed on the same column: a revenue scan reads
    /// `WHERE status = 'COMPLETED' AND createdAt >= ? AND createdAt < ?`.
    static func commonConditions(_ stats: [Stat]) -> ([String], [DatabaseValue]) {
        var conditions: [String] = []
        var arguments: [DatabaseValue] = []
        if let first = stats.first {
            for filter in first.filters where stats.allSatisfy({ $0.filters.contains(filter) }) {
                if filter.value == .null {
                    conditions.append("\(filter.column) IS NULL")
                } else {
                    conditions.append("\(filter.column) = ?")
                    arguments.append(filter.value.databaseValue)
                }
            }
            let buckets = stats.compactMap(\.bucket)
            if buckets.count == stats.count, let column = buckets.first?.column, buckets.allSatisfy({ $0.column == column }) {
                conditions.append("\(column) >= ? AND \(column) < ?")
                arguments.append(buckets.map(\.grid.from).min()!.databaseValue)
                arguments.append(buckets.map(\.grid.to).max()!.databaseValue)
            }
        }
        return (conditions, arguments)
    }

    /// Prepares a scan's statement with its arguments bound.
    private static func prepare(_ scan: TableScan, in db: Database) throws -> Statement {
        let statement = try db.makeStatement(sql: scan.sql)
        if !scan.arguments.isEmpty { try statement.setArguments(StatementArguments(scan.arguments)) }
        return statement
    }

    /// Runs one table's scan.
    ///
    /// - returns: the results of its stats, and the number of rows scanned.
    static func run(_ scan: TableScan, in db: Database) throws -> (results: [StatResult], rows: Int) {
        let statement = try prepare(scan, in: db)
        let handle = statement.sqliteStatement
        let slot = { (column: String) in scan.columns.firstIndex(of: column)! }
        let columnCount = scan.columns.count

        let interners = UnsafeMutablePointer<ValueInterner>.allocate(capacity: columnCount)
        for c in 0..<columnCount { (interners + c).initialize(to: ValueInterner()) }
        var isKey = Array(repeating: false, count: columnCount)
        let kernels = UnsafeMutablePointer<StatKernel>.allocate(capacity: scan.stats.count)
        var kernelCount = 0
        defer {
            for k in 0..<kernelCount { kernels[k].deallocate() }
            kernels.deinitialize(count: kernelCount)
            kernels.deallocate()
            for c in 0..<columnCount { interners[c].deallocate() }
            interners.deinitialize(count: columnCount)
            interners.deallocate()
        }
        for stat in scan.stats {
            let filterCodes = stat.filters.map { interners[slot($0.column)].code(of: $0.value) }
            (stat.groupBy + stat.filters.map(\.column)).forEach { isKey[slot($0)] = true }
            (kernels + kernelCount).initialize(to: StatKernel(stat: stat, slot: slot, filterCodes: filterCodes))
            kernelCount += 1
        }
        let keySlots = UnsafeMutablePointer<Int32>.allocate(capacity: columnCount)
        var keyCount = 0
        for c in 0..<columnCount where isKey[c] {
            keySlots[keyCount] = Int32(c)
            keyCount += 1
        }
        let codes = UnsafeMutablePointer<Int32>.allocate(capacity: columnCount)
        codes.initialize(repeating: 0, count: columnCount)
        defer {
            keySlots.deallocate()
            codes.deallocate()
        }

        var rows = 0
        while true {
            let code = sqlite3_step(handle)
            if code != SQLITE_ROW {
                if code == SQLITE_DONE { break }
                let error = DatabaseError(resultCode: ResultCode(rawValue: code),
                                          message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                                          sql: scan.sql)
                sqlite3_reset(handle)
                throw error
            }
            rows &+= 1
            for k in 0..<keyCount {
                let column = keySlots[k]
                codes[Int(column)] = interners[Int(column)].code(handle, column)
            }
            for s in 0..<kernelCount {
                try kernels[s].add(handle, codes: codes)
            }
        }
        sqlite3_reset(handle)
        let results = try (0..<kernelCount).map { try kernels[$0].result(interners: interners) }
        return (results, rows)
    }

    /// The floor every strategy is measured against: steps the same `SELECT`
    /// and reads every column (text bytes, integers), aggregating nothing.
    ///
    /// - returns: the number of rows and a checksum, so that the reads cannot
    ///   be optimised away.
    static func floor(_ scan: TableScan, in db: Database) throws -> (rows: Int, checksum: Int64) {
        let statement = try prepare(scan, in: db)
        let handle = statement.sqliteStatement
        let n = Int32(scan.columns.count)
        var rows = 0
        var checksum: Int64 = 0
        while sqlite3_step(handle) == SQLITE_ROW {
            rows += 1
            for c in 0..<n {
                switch sqlite3_column_type(handle, c) {
                case SQLITE_INTEGER: checksum &+= sqlite3_column_int64(handle, c)
                case SQLITE_FLOAT: checksum &+= Int64(sqlite3_column_double(handle, c))
                case SQLITE_NULL: break
                default:
                    if let text = sqlite3_column_text(handle, c) {
                        checksum &+= Int64(text.pointee) &+ Int64(sqlite3_column_bytes(handle, c))
                    }
                }
            }
        }
        sqlite3_reset(handle)
        return (rows, checksum)
    }
}
