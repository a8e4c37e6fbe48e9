import GRDB
import GRDBSQLite

/// The `single-pass` strategy: one `SELECT` of the needed columns per table,
/// stepped through SQLite's C API, every stat of that table aggregated while
/// the row is under the cursor.
///
/// Per row it allocates nothing: each selected column is read once as an
/// `sqlite3_value`, key columns are mapped to dense codes by one hash probe
/// over their bytes (`ValueInterner`), and aggregates live in preallocated
/// grids (`StatKernel`).
struct SinglePassScanner {
    /// One table's scan: the columns it selects and the stats it serves.
    struct TableScan {
        let table: String
        let columns: [String]
        let stats: [Stat]
        /// The equality filters every stat of the scan applies: SQL
        /// fragments, their arguments, and the columns they constrain.
        let filters: [String]
        let filterArguments: [DatabaseValue]
        let filterColumns: Set<String>
        /// The hull of the stats' time ranges, when they all bucket one column.
        let range: (column: String, from: Int64, to: Int64)?

        /// Filters and range, pushed into SQL so that SQLite can use an index
        /// and skip rows (the stats still check them).
        var conditions: [String] {
            filters + (range.map { ["\($0.column) >= ? AND \($0.column) < ?"] } ?? [])
        }
        var arguments: [DatabaseValue] {
            filterArguments + (range.map { [$0.from.databaseValue, $0.to.databaseValue] } ?? [])
        }

        var sql: String { sql(pushdown: true) }

        /// Without pushdown, the plain scan: see `prepare(_:in:)`.
        func sql(pushdown: Bool) -> String {
            "SELECT \(columns.joined(separator: ", ")) FROM \(table)" + (pushdown ? StatSQL.whereClause(conditions) : "")
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
            let (filters, filterArguments, filterColumns, range) = commonConditions(stats)
            return TableScan(table: table, columns: columns, stats: stats, filters: filters, filterArguments: filterArguments,
                             filterColumns: filterColumns, range: range)
        }
    }

    /// The filters shared by every stat, and the hull of their time ranges
    /// when every stat is bucketed on the same column: a revenue scan reads
    /// `WHERE status = 'COMPLETED' AND createdAt >= ? AND createdAt < ?`.
    static func commonConditions(_ stats: [Stat])
        -> (filters: [String], arguments: [DatabaseValue], columns: Set<String>, range: (column: String, from: Int64, to: Int64)?) {
        var filters: [String] = []
        var arguments: [DatabaseValue] = []
        var columns: Set<String> = []
        var range: (column: String, from: Int64, to: Int64)?
        if let first = stats.first {
            for filter in first.filters where stats.allSatisfy({ $0.filters.contains(filter) }) {
                columns.insert(filter.column)
                if filter.value == .null {
                    filters.append("\(filter.column) IS NULL")
                } else {
                    filters.append("\(filter.column) = ?")
                    arguments.append(filter.value.databaseValue)
                }
            }
            let buckets = stats.compactMap(\.bucket)
            if buckets.count == stats.count, let column = buckets.first?.column, buckets.allSatisfy({ $0.column == column }) {
                range = (column, buckets.map(\.grid.from).min()!, buckets.map(\.grid.to).max()!)
            }
        }
        return (filters, arguments, columns, range)
    }

    /// Prepares a scan's statement with its arguments bound.
    ///
    /// The shared conditions are pushed into SQL when the range is selective:
    /// SQLite then reads only the matching rows, through an index when there
    /// is one. When it is not, they are left to the stats: SQLite has no
    /// histogram here (no STAT4) and takes any index on a range for selective,
    /// and an index that does not cover the selected columns costs one table
    /// lookup per row, several times slower than a plain scan over most of
    /// the table (and the interned comparisons in Swift are cheaper than
    /// SQLite's per-row `WHERE`). When an index leads with the range column,
    /// its two ends (O(log n)) tell how much of the column's extent the
    /// range covers; above a fifth, the plain scan wins.
    static func prepare(_ scan: TableScan, in db: Database) throws -> Statement {
        var pushdown = !scan.conditions.isEmpty
        if let range = scan.range, let fraction = try coveredFraction(scan, range: range, in: db), fraction > 0.2 {
            pushdown = false
        }
        let statement = try db.makeStatement(sql: scan.sql(pushdown: pushdown))
        if pushdown { try statement.setArguments(StatementArguments(scan.arguments)) }
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

        let utf8 = try isUTF8(db)
        let interners = UnsafeMutablePointer<ValueInterner>.allocate(capacity: columnCount)
        for c in 0..<columnCount { (interners + c).initialize(to: ValueInterner(utf8Database: utf8)) }
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
        let values = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: columnCount)
        values.initialize(repeating: nil, count: columnCount)
        defer {
            keySlots.deallocate()
            codes.deallocate()
            values.deallocate()
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
            // One C call per column: the `sqlite3_value_*` accessors that
            // follow skip the statement checks of `sqlite3_column_*`.
            for c in 0..<columnCount {
                values[c] = sqlite3_column_value(handle, Int32(truncatingIfNeeded: c))
            }
            for k in 0..<keyCount {
                let column = Int(keySlots[k])
                codes[column] = interners[column].code(values[column])
            }
            for s in 0..<kernelCount {
                try kernels[s].add(values, codes: codes)
            }
        }
        sqlite3_reset(handle)
        if (0..<columnCount).contains(where: { interners[$0].readFailed }) {
            throw TallyError(.database, "out of memory while reading \(scan.table)")
        }
        let results = try (0..<kernelCount).map { try kernels[$0].result(interners: interners) }
        return (results, rows)
    }

    /// Whether the database stores text as UTF-8 (`PRAGMA encoding`); a
    /// foreign file may be UTF-16.
    static func isUTF8(_ db: Database) throws -> Bool {
        try String.fetchOne(db, sql: "PRAGMA encoding") == "UTF-8"
    }

    /// The fraction of the range column's extent (among rows matching the
    /// shared filters) that the range covers, when an index makes the
    /// extent cheap to read; nil otherwise.
    static func coveredFraction(_ scan: TableScan, range: (column: String, from: Int64, to: Int64), in db: Database) throws -> Double? {
        guard try IndexManager.hasRangeIndex(on: scan.table, column: range.column, after: scan.filterColumns, in: db) else { return nil }
        let (low, high) = try StatSQL.extent(of: range.column, in: scan.table, where: scan.filters,
                                             arguments: scan.filterArguments, indexed: true, in: db)
        guard let low, let high else { return 0 }
        let extent = Double(high - low + 1)
        let covered = Double(max(0, min(range.to, high + 1) - max(range.from, low)))
        return covered / extent
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
        let utf8 = try isUTF8(db)
        var rows = 0
        var checksum: Int64 = 0
        while sqlite3_step(handle) == SQLITE_ROW {
            rows += 1
            for c in 0..<n {
                // Read the way the scan reads: one `sqlite3_value` per column.
                let value = sqlite3_column_value(handle, c)
                switch sqlite3_value_type(value) {
                case SQLITE_INTEGER: checksum &+= sqlite3_value_int64(value)
                case SQLITE_FLOAT: checksum &+= Int64(sqlite3_value_double(value))
                case SQLITE_NULL: break
                case let type:
                    if let text = ValueInterner.bytes(of: value, type: type, utf8Database: utf8) {
                        checksum &+= Int64(text.load(as: UInt8.self)) &+ Int64(sqlite3_value_bytes(value))
                    }
                }
            }
        }
        sqlite3_reset(handle)
        return (rows, checksum)
    }
}
