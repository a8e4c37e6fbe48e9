import GRDB
import GRDBSQLite

/// The aggregates one rollup row keeps, as triggers keep them (see `RollupSQL`).
struct RollupCell: Sendable, Equatable {
    /// Per summed column.
    struct Sum: Sendable, Equatable {
        var count: Int64 = 0
        var low: Int64 = 0
        var high: Int64 = 0
        var real: Double = 0
        var compensation: Double = 0
        var reals: Int64 = 0
        /// Values only a scan reads as SQL does: texts, blobs, infinite reals.
        var texts: Int64 = 0
        var positiveLow: Int64 = 0
        var positiveHigh: Int64 = 0

        /// Adds (`sign` 1) or removes one stored value, as the triggers do.
        mutating func add(_ value: StatValue, sign: Int64) {
            guard value != .null else { return }
            count += sign
            var y = 0.0
            switch value {
            case .integer(let x):
                let l = ((x % 4_294_967_296) + 4_294_967_296) % 4_294_967_296
                low += sign * l
                high += sign * ((x - l) / 4_294_967_296)
                if x > 0 {
                    positiveLow += sign * (x % 4_294_967_296)
                    positiveHigh += sign * (x / 4_294_967_296)
                }
                y = Double(x)
            case .real(let x):
                reals += sign
                if x.isFinite { y = x } else { texts += sign }
            default:
                texts += sign
            }
            y *= Double(sign)
            let t = real + y
            compensation += abs(real) >= abs(y) ? (real - t) + y : (y - t) + real
            real = t
        }

        /// The exact integer sum, or nil when it leaves 64 bits (SQL's overflow).
        var exactInteger: Int64? {
            ExactSum(high: high, low: low).int64
        }

        /// Whether no partial sum of the integers, in any order, leaves 64
        /// bits: each lies between the sum of the negative ones and the sum
        /// of the positive ones. Only then is SQL's SUM (which fails at the
        /// first partial sum past 64 bits, in its own row order, and stops
        /// checking after its first real) known without a scan.
        var integerPartialSumsFit: Bool {
            let total = ExactSum(high: high, low: low), positive = ExactSum(high: positiveHigh, low: positiveLow)
            guard let (th, tl) = total.normalized, let (ph, pl) = positive.normalized else { return false }
            // negative = total − positive, in (high, low) parts.
            let (nh, overflow) = th.subtractingReportingOverflow(ph)
            guard !overflow, positive.int64 != nil else { return false }
            return ExactSum(high: nh, low: tl - pl).int64 != nil
        }

        /// The real sum with its compensation.
        var realTotal: Double { real + compensation }
    }

    var count: Int64 = 0
    var sums: [Sum]

    init(sums: Int) {
        self.sums = Array(repeating: Sum(), count: sums)
    }

    /// Adds another cell of the same group (rows of several buckets, or
    /// duplicate rows). Wrapping: only a rollup table edited by hand can
    /// hold parts that large, and `verify` reports that table.
    mutating func merge(_ other: RollupCell) {
        count &+= other.count
        for j in other.sums.indices {
            sums[j].count &+= other.sums[j].count
            sums[j].low &+= other.sums[j].low
            sums[j].high &+= other.sums[j].high
            sums[j].real += other.sums[j].real
            sums[j].compensation += other.sums[j].compensation
            sums[j].reals &+= other.sums[j].reals
            sums[j].texts &+= other.sums[j].texts
            sums[j].positiveLow &+= other.sums[j].positiveLow
            sums[j].positiveHigh &+= other.sums[j].positiveHigh
        }
    }
}

/// An integer kept as `high`·2³² + `low`, with both parts unbounded by the
/// value: the triggers add low and high halves separately, so that no
/// addition ever leaves 64 bits.
struct ExactSum: Equatable {
    /// The same value with `low` in [0, 2³²); nil past Int64 in `high`.
    let normalized: (high: Int64, low: Int64)?

    init(high: Int64, low: Int64) {
        let carry = low >= 0 ? low / 4_294_967_296 : -((-(low + 1)) / 4_294_967_296) - 1
        let rest = low - carry * 4_294_967_296
        let (sum, overflow) = high.addingReportingOverflow(carry)
        normalized = overflow ? nil : (sum, rest)
    }

    var int64: Int64? {
        guard let (high, low) = normalized, high >= -2_147_483_648, high < 2_147_483_648 else { return nil }
        return high * 4_294_967_296 + low
    }

    static func == (a: ExactSum, b: ExactSum) -> Bool {
        switch (a.normalized, b.normalized) {
        case (nil, nil): true
        case (let x?, let y?): x == y
        default: false
        }
    }
}

/// A rollup's rows: each group (its key values, in `groupBy` order, and its
/// 15-minute bucket) with its cell.
struct RollupRows: Sendable {
    struct Key: Sendable, Hashable {
        var values: [StatValue]
        var bucket: Int64?
    }

    var cells: [Key: RollupCell] = [:]

    /// Reads a rollup table.
    static func read(_ r: RollupDefinition, in db: Database) throws -> RollupRows {
        var rows = RollupRows()
        let keyColumns = RollupSQL.keyColumns(r)
        let values = RollupSQL.valueColumns(r).map(RollupSQL.decoded)
        let bucket = r.bucketColumn == nil ? [] : ["CAST(b AS INTEGER)"]
        let sql = "SELECT \((keyColumns.filter { $0 != "b" } + bucket + values).joined(separator: ", ")) FROM \(r.tableName)"
        let cursor = try Row.fetchCursor(db, sql: sql)
        while let row = try cursor.next() {
            var i = 0
            var values: [StatValue] = []
            for _ in r.groupBy { values.append(StatValue(key: row[i] as DatabaseValue)); i += 1 }
            var bucket: Int64?
            if r.bucketColumn != nil { bucket = row[i] as Int64?; i += 1 }
            var cell = RollupCell(sums: r.sums.count)
            cell.count = row[i] ?? 0; i += 1
            for j in r.sums.indices {
                cell.sums[j] = .init(
                    count: row[i] ?? 0, low: row[i + 1] ?? 0, high: row[i + 2] ?? 0, real: row[i + 3] ?? .nan,
                    compensation: row[i + 4] ?? .nan, reals: row[i + 5] ?? 0, texts: row[i + 6] ?? 0,
                    positiveLow: row[i + 7] ?? 0, positiveHigh: row[i + 8] ?? 0)
                i += 9
            }
            let key = Key(values: values, bucket: bucket)
            // Duplicate rows of one group (an edited table) add up.
            if var existing = rows.cells[key] {
                existing.merge(cell)
                rows.cells[key] = existing
            } else {
                rows.cells[key] = cell
            }
        }
        return rows
    }

    /// Writes every non-empty group into the rollup table (which the caller emptied).
    func write(_ r: RollupDefinition, in db: Database) throws {
        let columns = RollupSQL.keyColumns(r) + RollupSQL.valueColumns(r)
        let statement = try db.makeStatement(
            sql: "INSERT INTO \(r.tableName) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))")
        // In key order, so that the table's rows lie in its key index's
        // order: a range read (a year of buckets) then reads neighbouring
        // rows from the same pages instead of one page per row.
        let ordered = cells.filter { $0.value.count != 0 }.sorted { a, b in
            a.key.values != b.key.values ? a.key.values.lexicographicallyPrecedes(b.key.values) : (a.key.bucket ?? .min) < (b.key.bucket ?? .min)
        }
        for (key, cell) in ordered {
            var values: [DatabaseValue] = key.values.map(\.databaseValue)
            if r.bucketColumn != nil { values.append(key.bucket.databaseValue) }
            values.append(cell.count.databaseValue)
            for sum in cell.sums {
                values += [
                    sum.count.databaseValue, sum.low.databaseValue, sum.high.databaseValue, sum.real.databaseValue,
                    sum.compensation.databaseValue, sum.reals.databaseValue, sum.texts.databaseValue,
                    sum.positiveLow.databaseValue, sum.positiveHigh.databaseValue,
                ]
            }
            try statement.execute(arguments: StatementArguments(values))
        }
    }

    /// The differences from `other` (what `verify` reports), as sentences.
    func differences(from other: RollupRows, rollup r: RollupDefinition) -> [String] {
        var found: [(order: String, message: String)] = []
        var keys = Set(cells.keys.filter { cells[$0]!.count != 0 })
        keys.formUnion(other.cells.keys.filter { other.cells[$0]!.count != 0 })
        for key in keys {
            let a = cells[key] ?? RollupCell(sums: r.sums.count), b = other.cells[key] ?? RollupCell(sums: r.sums.count)
            guard a != b else { continue }
            let name =
                r.groupBy.isEmpty && key.bucket == nil
                ? "the table"
                : (zip(r.groupBy, key.values).map { "\($0)=\($1)" } + (key.bucket.map { ["bucket=\($0)"] } ?? [])).joined(separator: " ")
            if a.count != b.count { found.append((name, "\(r.name) \(name): \(a.count) rows kept, \(b.count) in the table")) }
            for (j, column) in r.sums.enumerated() {
                let x = a.sums[j], y = b.sums[j]
                let integersDiffer =
                    ExactSum(high: x.high, low: x.low) != ExactSum(high: y.high, low: y.low)
                    || ExactSum(high: x.positiveHigh, low: x.positiveLow) != ExactSum(high: y.positiveHigh, low: y.positiveLow)
                // Both NaN: the same overflow seen by both sides (answers then read the base rows).
                let realsDiffer =
                    !(abs(x.realTotal - y.realTotal) <= 1e-9 * max(abs(x.realTotal), abs(y.realTotal)) || x.realTotal == y.realTotal
                    || (x.realTotal.isNaN && y.realTotal.isNaN))
                if x.count != y.count || x.reals != y.reals || x.texts != y.texts || integersDiffer {
                    found.append(
                        (
                            name,
                            "\(r.name) \(name): sum of \(column) kept \(x.exactInteger.map(String.init) ?? "\(x.realTotal)") "
                                + "(\(x.count) values, \(x.reals) reals, \(x.texts) read by scan only), the table gives "
                                + "\(y.exactInteger.map(String.init) ?? "\(y.realTotal)") (\(y.count), \(y.reals), \(y.texts))"
                        ))
                } else if realsDiffer {
                    found.append(
                        (
                            name,
                            x.realTotal.isNaN
                                ? "\(r.name) \(name): the real sum of \(column) was lost (a sum past the largest real, then a removal); "
                                    + "answers read the base rows until `tally rollups enable` rebuilds it"
                                : "\(r.name) \(name): real sum of \(column) kept \(x.realTotal), the table gives \(y.realTotal)"
                        ))
                }
            }
        }
        // Only the differing groups are described and sorted.
        return found.sorted { $0.order < $1.order }.map(\.message)
    }
}

/// Computes rollups from their base rows: one scan per table for all its
/// rollups (what `enable` stores and `verify` compares with).
enum RollupBackfill {
    /// The rows of every rollup of `table`, from one `SELECT` stepped
    /// through SQLite's C API.
    static func compute(_ rollups: [RollupDefinition], table: String, in db: Database, mapping: MappedSchema?) throws -> [RollupRows] {
        var columns: [String] = []
        for column in rollups.flatMap(\.columns) where !columns.contains(column) { columns.append(column) }
        if columns.isEmpty { columns = ["rowid"] }
        let slot = { (column: String) in columns.firstIndex(of: column)! }
        let statement = try db.makeStatement(sql: "SELECT \(columns.joined(separator: ", ")) FROM \(table)")
        let handle = statement.sqliteStatement
        let encoding = try SinglePassScanner.textEncoding(db)
        let affinities = try ColumnAffinity.of(table: table, in: db, mapping: mapping)
        let interners = UnsafeMutablePointer<ValueInterner>.allocate(capacity: columns.count)
        for c in columns.indices { (interners + c).initialize(to: ValueInterner(utf8Database: encoding == .utf8)) }
        defer {
            interners.deinitialize(count: columns.count)
            interners.deallocate()
        }
        // Filter constants get their codes first, compared as SQL compares them.
        let filterCodes: [[(slot: Int, code: Int32)]] = rollups.map { r in
            r.filters.map { filter in
                let s = slot(filter.column)
                return (s, interners[s].code(of: (affinities[filter.column] ?? .blob).comparand(filter.value)))
            }
        }
        // Group keys by interned codes (at most three) and bucket: no
        // allocation per row.
        struct CellKey: Hashable {
            var codes: (Int32, Int32, Int32)
            var bucket: Int64
            var hasBucket: Bool
            static func == (a: CellKey, b: CellKey) -> Bool {
                a.codes == b.codes && a.bucket == b.bucket && a.hasBucket == b.hasBucket
            }
            func hash(into hasher: inout Hasher) {
                hasher.combine(codes.0); hasher.combine(codes.1); hasher.combine(codes.2)
                hasher.combine(bucket); hasher.combine(hasBucket)
            }
        }
        struct Accumulator {
            var index: [CellKey: Int] = [:]
            var keys: [CellKey] = []
            var cells: [RollupCell] = []
        }
        let keySlots = rollups.map { r in r.groupBy.map(slot) }
        let bucketSlots = rollups.map { r in r.bucketColumn.map(slot) }
        let sumSlots = rollups.map { r in r.sums.map(slot) }
        var isKey = Array(repeating: false, count: columns.count)
        for (i, r) in rollups.enumerated() {
            for s in keySlots[i] { isKey[s] = true }
            for filter in r.filters { isKey[slot(filter.column)] = true }
        }
        var accumulators = Array(repeating: Accumulator(), count: rollups.count)
        var numbers = [StatValue](repeating: .null, count: columns.count)
        var codes = [Int32](repeating: 0, count: columns.count)
        while true {
            let step = sqlite3_step(handle)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else {
                let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
                sqlite3_reset(handle)
                throw DatabaseError(resultCode: ResultCode(rawValue: step), message: message, sql: statement.sql)
            }
            for c in columns.indices {
                let value = sqlite3_column_value(handle, Int32(c))
                if isKey[c] { codes[c] = interners[c].code(value) }
                // Sums and buckets need the number only; a text or blob
                // counts as one (its bytes are not kept).
                switch sqlite3_value_type(value) {
                case SQLITE_INTEGER: numbers[c] = .integer(sqlite3_value_int64(value))
                case SQLITE_FLOAT: numbers[c] = .real(sqlite3_value_double(value))
                case SQLITE_NULL: numbers[c] = .null
                default: numbers[c] = .text("")
                }
            }
            for i in rollups.indices {
                guard filterCodes[i].allSatisfy({ codes[$0.slot] == $0.code }) else { continue }
                let k = keySlots[i]
                var timeBucket: Int64?
                if let s = bucketSlots[i] { timeBucket = Self.bucket(numbers[s]) }
                let first: Int32 = k.count > 0 ? codes[k[0]] : -1
                let second: Int32 = k.count > 1 ? codes[k[1]] : -1
                let third: Int32 = k.count > 2 ? codes[k[2]] : -1
                let key = CellKey(codes: (first, second, third), bucket: timeBucket ?? 0, hasBucket: timeBucket != nil)
                let position: Int
                if let known = accumulators[i].index[key] {
                    position = known
                } else {
                    position = accumulators[i].cells.count
                    accumulators[i].index[key] = position
                    accumulators[i].keys.append(key)
                    accumulators[i].cells.append(RollupCell(sums: sumSlots[i].count))
                }
                accumulators[i].cells[position].count += 1
                for (j, s) in sumSlots[i].enumerated() {
                    accumulators[i].cells[position].sums[j].add(numbers[s], sign: 1)
                }
            }
        }
        sqlite3_reset(handle)
        return rollups.enumerated().map { i, r in
            var rows = RollupRows()
            for (position, key) in accumulators[i].keys.enumerated() {
                let codes = [key.codes.0, key.codes.1, key.codes.2]
                let values = keySlots[i].enumerated().map { interners[$1].value(codes[$0]) }
                rows.cells[RollupRows.Key(values: values, bucket: key.hasBucket ? key.bucket : nil)] = accumulators[i].cells[position]
            }
            return rows
        }
    }

    /// The 15-minute bucket of a stored timestamp, as the triggers compute it.
    static func bucket(_ value: StatValue) -> Int64? {
        let m = RollupDefinition.bucketMilliseconds
        switch value {
        case .integer(let x): return x.floorDiv(m)
        case .real(let x):
            guard x > -9.0e18, x < 9.0e18 else { return nil }
            let whole = Int64(x.rounded(.towardZero))
            return (whole - (x < Double(whole) ? 1 : 0)).floorDiv(m)
        default: return nil
        }
    }
}
