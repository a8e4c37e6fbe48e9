package import GRDB
import GRDBSQLite

/// The `single-pass` strategy: one `SELECT` of the needed columns per table,
/// stepped through SQLite's C API, every stat of that table aggregated while
/// the row is under the cursor.
///
/// Per row it allocates nothing: each selected column is read once as an
/// `sqlite3_value`, key columns are mapped to dense codes by one hash probe
/// over their bytes (`ValueInterner`), and aggregates live in preallocated
/// grids (`StatKernel`).
package enum SinglePassScanner {
    /// One table's scan: the columns it selects and the stats it serves.
    package struct TableScan: Sendable {
        package let table: String
        /// Tally's columns the stats read, in `SELECT` order (their slots).
        let columns: [String]
        /// What the `SELECT` reads for each slot: the column, or through a
        /// schema map the app's stored value of a column the scan converts
        /// in Swift (`conversions`), and then last the `rowid` (`rowidSlot`)
        /// by which any other value of it is read through the view.
        let selections: [String]
        /// The slots converted in Swift, with their conversions.
        let conversions: [(slot: Int, conversion: ScanConversion)]
        let rowidSlot: Int?
        /// The stats it serves, with their positions in the request (a stat
        /// asked for twice is computed twice and answered at both positions).
        let entries: [(position: Int, stat: Stat)]
        /// The equality filters every stat of the scan applies, and the hull
        /// of their time ranges when they all bucket one column: pushed into
        /// SQL so that SQLite can use an index and skip rows (the stats
        /// still check them).
        let filters: [Stat.Filter]
        let range: (column: String, from: Int64, to: Int64)?

        var stats: [Stat] { entries.map(\.stat) }

        var conditions: (sql: [String], arguments: [DatabaseValue]) {
            var (sql, arguments) = StatSQL.conditions(filters)
            if let range {
                sql.append("\(range.column) >= ? AND \(range.column) < ?")
                arguments += [range.from.databaseValue, range.to.databaseValue]
            }
            return (sql, arguments)
        }

        /// The `SELECT`, with the shared conditions or (`pushdown: false`) without.
        package func sql(pushdown: Bool = true) -> String {
            "SELECT \(selections.joined(separator: ", ")) FROM \(table)" + (pushdown ? StatSQL.whereClause(conditions.sql) : "")
        }

        /// The statement reading one row's `column` through the view (the
        /// map's SQL conversion), for the values Swift does not convert.
        func rowValueSQL(_ column: String) -> String {
            "SELECT \(column) FROM \(table) WHERE rowid = ?"
        }

        /// The row reads the scan may make, one statement per converted
        /// column (what `explain` lists after the scan).
        package var rowValueStatements: [String] {
            conversions.map { rowValueSQL(columns[$0.slot]) }
        }

        /// The same scan with every conversion left to the view's SQL.
        var convertingInSQL: TableScan {
            TableScan(
                table: table, columns: columns, selections: columns, conversions: [], rowidSlot: nil,
                entries: entries, filters: filters, range: range)
        }
    }

    /// Thrown when more than one row in eight needs a row read: the scan
    /// then starts again with the conversions in SQL.
    struct TooManyRowReads: Error {}

    /// Groups stats by table, so that each table is read once.
    ///
    /// - parameter mapping: the schema map the tables are read through:
    ///   columns whose conversion Swift applies (`ScanConversion`) are read
    ///   as stored.
    package static func plan(_ stats: [Stat], mapping: MappedSchema? = nil) -> [TableScan] {
        var order: [String] = []
        var byTable: [String: [(Int, Stat)]] = [:]
        for (position, stat) in stats.enumerated() {
            if byTable[stat.table] == nil { order.append(stat.table) }
            byTable[stat.table, default: []].append((position, stat))
        }
        return order.map { table in
            let entries = byTable[table]!
            var columns: [String] = []
            for (_, stat) in entries {
                for c in stat.columns where !columns.contains(c) { columns.append(c) }
            }
            // `SELECT  FROM t` is not SQL; a count-only scan reads the rowid.
            if columns.isEmpty { columns = ["rowid"] }
            let stats = entries.map(\.1)
            var selections = columns
            var conversions: [(slot: Int, conversion: ScanConversion)] = []
            let convertible = mapping?.scanConversions(of: table) ?? [:]
            for (slot, column) in columns.enumerated() {
                guard let conversion = convertible[column] else { continue }
                // A converted number that differs from the stored one only
                // reaches sums: keys, filters, buckets and extremes read the
                // value itself, so they keep the view's conversion.
                if conversion.changesNumbers, !stats.allSatisfy({ $0.onlySums(column) }) { continue }
                selections[slot] = MappedSchema.storedColumn(column)
                conversions.append((slot, conversion))
            }
            var rowidSlot: Int? = nil
            if !conversions.isEmpty {
                rowidSlot = selections.count
                selections.append("rowid")
            }
            return TableScan(
                table: table, columns: columns, selections: selections, conversions: conversions, rowidSlot: rowidSlot,
                entries: entries, filters: sharedFilters(stats), range: sharedRange(stats))
        }
    }

    /// The filters every stat applies.
    static func sharedFilters(_ stats: [Stat]) -> [Stat.Filter] {
        guard let first = stats.first else { return [] }
        return first.filters.filter { filter in stats.allSatisfy { $0.filters.contains(filter) } }
    }

    /// The hull of the stats' time ranges, when every stat buckets the same column.
    static func sharedRange(_ stats: [Stat]) -> (column: String, from: Int64, to: Int64)? {
        let buckets = stats.compactMap(\.bucket)
        guard buckets.count == stats.count, let column = buckets.first?.column, buckets.allSatisfy({ $0.column == column }) else {
            return nil
        }
        return (column, buckets.map(\.grid.from).min()!, buckets.map(\.grid.to).max()!)
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
    static func prepare(_ scan: TableScan, in db: Database, execution: Execution) throws -> Statement {
        var pushdown = !scan.conditions.sql.isEmpty
        if let range = scan.range, let fraction = try coveredFraction(scan, range: range, in: db, execution: execution), fraction > 0.2 {
            pushdown = false
        }
        let statement = try db.makeStatement(sql: scan.sql(pushdown: pushdown))
        if pushdown { try statement.setArguments(StatementArguments(scan.conditions.arguments)) }
        return statement
    }

    /// Runs one table's scan.
    ///
    /// - returns: the results of its stats with their positions, and the
    ///   number of rows scanned.
    static func run(_ scan: TableScan, in db: Database, execution: Execution) throws -> (results: [(Int, StatResult)], rows: Int) {
        do {
            return try runOnce(scan, in: db, execution: execution)
        } catch is TooManyRowReads {
            return try runOnce(scan.convertingInSQL, in: db, execution: execution)
        }
    }

    private static func runOnce(_ scan: TableScan, in db: Database, execution: Execution) throws -> (results: [(Int, StatResult)], rows: Int) {
        try execution.checkCancellation()
        let statement = try prepare(scan, in: db, execution: execution)
        let handle = statement.sqliteStatement
        let slot = { (column: String) in scan.columns.firstIndex(of: column)! }
        let columnCount = scan.selections.count
        let encoding = try textEncoding(db)
        let affinities = try ColumnAffinity.of(table: scan.table, in: db, mapping: execution.mapping)

        let interners = UnsafeMutablePointer<ValueInterner>.allocate(capacity: columnCount)
        for c in 0..<columnCount { (interners + c).initialize(to: ValueInterner(utf8Database: encoding == .utf8)) }
        var isKey = Array(repeating: false, count: columnCount)
        let kernels = UnsafeMutablePointer<StatKernel>.allocate(capacity: scan.entries.count)
        var kernelCount = 0
        defer {
            kernels.deinitialize(count: kernelCount)
            kernels.deallocate()
            interners.deinitialize(count: columnCount)
            interners.deallocate()
        }
        for (_, stat) in scan.entries {
            // A filter constant is compared as SQL compares it with the column.
            let filterCodes = stat.filters.map { filter in
                let affinity = affinities[filter.column] ?? .blob
                return filter.values.map { interners[slot(filter.column)].code(of: affinity.comparand($0)) }
            }
            (stat.groupBy + stat.filters.map(\.column)).forEach { isKey[slot($0)] = true }
            (kernels + kernelCount).initialize(to: try StatKernel(stat: stat, slot: slot, filterCodes: filterCodes, encoding: encoding))
            kernelCount += 1
        }
        let keySlots = (0..<columnCount).filter { isKey[$0] }.map { Int32($0) }
        let keyCount = keySlots.count
        let codes = UnsafeMutablePointer<Int32>.allocate(capacity: columnCount)
        codes.initialize(repeating: 0, count: columnCount)
        let values = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: columnCount)
        values.initialize(repeating: nil, count: columnCount)
        // Per slot, the integer a conversion gave this row (`substituted`).
        let substitutes = UnsafeMutablePointer<Int64>.allocate(capacity: columnCount)
        substitutes.initialize(repeating: 0, count: columnCount)
        let substituted = UnsafeMutablePointer<Bool>.allocate(capacity: columnCount)
        substituted.initialize(repeating: false, count: columnCount)
        defer {
            codes.deallocate()
            values.deallocate()
            substitutes.deallocate()
            substituted.deallocate()
        }
        var rowValues = RowValues(scan, db: db, execution: execution)
        defer { execution.ran(rowValues.reads) }
        let convertsInSwift = !scan.conversions.isEmpty

        var rows = 0
        execution.ran()
        try execution.running(on: db.sqliteConnection) {
            try keySlots.withUnsafeBufferPointer { keySlots in
                while true {
                    let code = sqlite3_step(handle)
                    if code != SQLITE_ROW {
                        if code == SQLITE_DONE { break }
                        let error = DatabaseError(
                            resultCode: ResultCode(rawValue: code),
                            message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                            sql: statement.sql)
                        sqlite3_reset(handle)
                        if code == SQLITE_INTERRUPT, execution.isCancelled { throw CancellationError() }
                        throw error
                    }
                    rows &+= 1
                    if rows & 0xFFFF == 0 { try execution.checkCancellation() }
                    if convertsInSwift, rows & 0xFFF == 0, rowValues.reads > rows >> 3 {
                        sqlite3_reset(handle)
                        throw TooManyRowReads()
                    }
                    // One C call per column: the `sqlite3_value_*` accessors that
                    // follow skip the statement checks of `sqlite3_column_*`.
                    for c in 0..<columnCount {
                        values[c] = sqlite3_column_value(handle, Int32(truncatingIfNeeded: c))
                    }
                    for (slot, conversion) in scan.conversions {
                        switch conversion.convert(values[slot]) {
                        case .asStored:
                            substituted[slot] = false
                        case .integer(let converted):
                            substitutes[slot] = converted
                            substituted[slot] = true
                        case .throughSQL:
                            substituted[slot] = false
                            values[slot] = try rowValues.value(of: scan.columns[slot], row: sqlite3_column_int64(handle, Int32(scan.rowidSlot!)))
                        }
                    }
                    for k in 0..<keyCount {
                        let column = Int(keySlots[k])
                        codes[column] = interners[column].code(values[column])
                    }
                    for s in 0..<kernelCount {
                        try kernels[s].add(values, codes: codes, substitutes: substitutes, substituted: substituted)
                    }
                }
            }
        }
        sqlite3_reset(handle)
        execution.scanned(rows)
        if (0..<columnCount).contains(where: { interners[$0].readFailed }) {
            throw TallyError(.database, "out of memory while reading \(scan.table)")
        }
        var results: [(Int, StatResult)] = []
        for (k, entry) in scan.entries.enumerated() {
            results.append((entry.position, try kernels[k].result(interners: interners)))
        }
        return (results, rows)
    }

    /// The database's text encoding; a foreign file may be UTF-16.
    static func textEncoding(_ db: Database) throws -> TextEncoding {
        TextEncoding(pragma: try String.fetchOne(db, sql: "PRAGMA encoding"))
    }

    /// The fraction of the range column's extent (among rows matching the
    /// shared filters) that the range covers, when an index makes the
    /// extent cheap to read; nil otherwise.
    static func coveredFraction(
        _ scan: TableScan, range: (column: String, from: Int64, to: Int64), in db: Database,
        execution: Execution
    ) throws -> Double? {
        let equalities = Set(scan.filters.filter { $0.values.count == 1 }.map(\.column))
        guard try IndexManager.hasRangeIndex(on: scan.table, column: range.column, after: equalities, in: db) else { return nil }
        let (sql, arguments) = StatSQL.conditions(scan.filters)
        let (low, high) = try StatSQL.extent(
            of: range.column, in: scan.table, where: sql, arguments: arguments,
            indexed: true, in: db, execution: execution)
        guard let low, let high else { return 0 }
        let extent = high - low + 1
        let covered = Swift.max(0, Swift.min(Double(range.to), high + 1) - Swift.max(Double(range.from), low))
        return covered / extent
    }

    /// The floor every strategy is measured against: steps the same `SELECT`
    /// and reads every column (text bytes, integers), aggregating nothing.
    ///
    /// - returns: the number of rows and a checksum, so that the reads cannot
    ///   be optimised away.
    package static func floor(_ scan: TableScan, in db: Database) throws -> (rows: Int, checksum: Int64) {
        let statement = try prepare(scan, in: db, execution: Execution())
        let handle = statement.sqliteStatement
        let n = Int32(scan.selections.count)
        let utf8 = try textEncoding(db) == .utf8
        var rows = 0
        var checksum: Int64 = 0
        while sqlite3_step(handle) == SQLITE_ROW {
            rows += 1
            for c in 0..<n {
                // Read the way the scan reads: one `sqlite3_value` per column.
                let value = sqlite3_column_value(handle, c)
                switch sqlite3_value_type(value) {
                case SQLITE_INTEGER: checksum &+= sqlite3_value_int64(value)
                case SQLITE_FLOAT: checksum &+= Int64(sqlite3_value_double(value).bitPattern >> 1)
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

extension SinglePassScanner {
    /// Reads single values of a scan's rows through the view, for the
    /// stored values its Swift conversions leave to SQL: one prepared
    /// statement per column, by rowid, in the scan's own snapshot.
    struct RowValues {
        let scan: TableScan
        let db: Database
        let execution: Execution
        private var statements: [String: Statement] = [:]
        /// Rows read, each one statement in `Execution`'s count.
        private(set) var reads = 0

        init(_ scan: TableScan, db: Database, execution: Execution) {
            self.scan = scan
            self.db = db
            self.execution = execution
        }

        /// `column` of row `rowid`, as the view converts it. The value stays
        /// valid until this column's next read.
        mutating func value(of column: String, row rowid: Int64) throws -> OpaquePointer? {
            let statement: Statement
            if let prepared = statements[column] {
                statement = prepared
            } else {
                statement = try db.makeStatement(sql: scan.rowValueSQL(column))
                statements[column] = statement
            }
            let handle = statement.sqliteStatement
            sqlite3_reset(handle)
            sqlite3_bind_int64(handle, 1, rowid)
            reads += 1
            let code = sqlite3_step(handle)
            guard code == SQLITE_ROW else {
                if code == SQLITE_INTERRUPT, execution.isCancelled { throw CancellationError() }
                if code == SQLITE_DONE {
                    throw TallyError(.database, "row \(rowid) of \(scan.table) was not found again during its scan")
                }
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                    sql: statement.sql)
            }
            return sqlite3_column_value(handle, 0)
        }
    }
}

extension Stat {
    /// Whether `column` reaches this stat only through `COUNT`, `SUM` or
    /// `AVG` (not as a key, filter, bucket or extreme).
    func onlySums(_ column: String) -> Bool {
        guard !groupBy.contains(column), !filters.contains(where: { $0.column == column }), bucket?.column != column else {
            return false
        }
        return aggregates.allSatisfy { aggregate in
            switch aggregate {
            case .count, .countNonNull, .sum, .avg: true
            case .min(let c), .max(let c): c != column
            }
        }
    }
}
