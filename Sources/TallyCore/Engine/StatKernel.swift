import Foundation
import GRDBSQLite

/// The running aggregates of one stat during a single-pass scan, in a dense
/// grid indexed by the codes of its group-by values and its time bucket.
///
/// Each dimension has a power-of-two capacity; a cell's index is the codes
/// shifted into place, so adding a row is a few shifts and stores. When a
/// code outgrows its dimension the grid is laid out again (rare: only as new
/// distinct values appear). Every layout, the first included, stays within
/// `maximumCells`.
///
/// Aggregates follow SQLite 3's functions step for step, so that their
/// results have the same value and storage class as SQL's:
/// - `SUM`/`AVG` keep an exact integer sum until a value is not an integer
///   (or the sum overflows), and always a real sum of every value in row
///   order; text and blob values count as the number SQLite reads from them
///   (`sqlite3_value_numeric_type`), as `sumStep` does.
/// - `MIN`/`MAX` keep the best value itself, compared as `sqlite3MemCompare`
///   compares (numbers exactly, then text, then blobs, by bytes).
///
/// The kernel owns its buffers and frees them in `deinit`; it cannot be
/// copied. The scan reaches kernels through an `UnsafeMutablePointer`: no
/// reference counting, exclusivity or bounds checks on the per-row path.
struct StatKernel: ~Copyable {
    enum Kind: UInt8 { case count, countNonNull, sum, avg, min, max }

    /// The best value of a `MIN`/`MAX` cell: `type` 0 until a value is seen.
    struct Extreme {
        var type: Int32
        var length: Int32
        /// Integer, bit pattern of a real, or offset of bytes in the arena.
        var payload: Int64
    }

    /// Bits of `flags`: SQLite's `approx` (the sum is a real) and `overflow`.
    private static let approx: UInt8 = 1
    private static let overflowed: UInt8 = 2

    let stat: Stat
    private let filterCount: Int
    private let filterSlots: UnsafeMutablePointer<Int>
    /// Per filter, a table of allowed codes: code `c` passes when
    /// `c < filterLimits[f]` and `filterAllowed[f][c]`.
    private let filterLimits: UnsafeMutablePointer<Int>
    private let filterAllowed: UnsafeMutablePointer<UnsafeMutablePointer<Bool>>
    private let groupCount: Int
    private let groupSlots: UnsafeMutablePointer<Int>
    private let dimensions: Int
    private let capacities: UnsafeMutablePointer<Int>
    private let shifts: UnsafeMutablePointer<Int>
    private let bucketColumn: Int32
    private let bucketStarts: UnsafeMutablePointer<Int64>
    private let bucketStartCount: Int
    private let grid: PeriodGrid?
    private let from: Int64
    private let to: Int64
    private let aggregateCount: Int
    private let kinds: UnsafeMutablePointer<Kind>
    private let aggregateColumns: UnsafeMutablePointer<Int32>
    private let hasExtremes: Bool
    private let encoding: TextEncoding

    private var cells = 0
    private var counts: UnsafeMutablePointer<Int64>
    /// Per aggregate `a`, cell `c` is at `a * cells + c`: the non-NULL count
    /// (SQLite's `cnt`), the exact integer sum, the real sum, the flags.
    private var nonNull: UnsafeMutablePointer<Int64>
    private var intSums: UnsafeMutablePointer<Int64>
    private var realSums: UnsafeMutablePointer<Double>
    private var flags: UnsafeMutablePointer<UInt8>
    private var extremes: UnsafeMutablePointer<Extreme>
    /// Bytes of the texts and blobs `extremes` point to.
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCount = 0
    private var arenaCapacity = 0

    /// At most this many cells (groups × buckets) per stat: about 60 MB for a
    /// stat of two aggregates. Past it, an error says to use `grouped`.
    static let maximumCells = 1 << 20

    /// - parameters:
    ///   - slot: the SELECT column index of a column name.
    ///   - filterCodes: per filter, the interned codes of its values.
    ///   - encoding: the database's text encoding (`PRAGMA encoding`).
    /// - throws: when even the first layout would exceed `maximumCells`.
    init(stat: Stat, slot: (String) -> Int, filterCodes codes: [[Int32]], encoding: TextEncoding) throws {
        self.stat = stat
        self.encoding = encoding
        filterCount = stat.filters.count
        filterSlots = .allocate(capacity: max(1, filterCount))
        filterLimits = .allocate(capacity: max(1, filterCount))
        filterAllowed = .allocate(capacity: max(1, filterCount))
        for (f, filter) in stat.filters.enumerated() {
            filterSlots[f] = slot(filter.column)
            let limit = Int((codes[f].max() ?? -1) + 1)
            filterLimits[f] = limit
            let allowed = UnsafeMutablePointer<Bool>.allocate(capacity: max(1, limit))
            allowed.initialize(repeating: false, count: max(1, limit))
            for code in codes[f] { allowed[Int(code)] = true }
            filterAllowed[f] = allowed
        }
        groupCount = stat.groupBy.count
        groupSlots = .allocate(capacity: max(1, groupCount))
        for (i, column) in stat.groupBy.enumerated() { groupSlots[i] = slot(column) }
        dimensions = groupCount + (stat.bucket == nil ? 0 : 1)
        capacities = .allocate(capacity: max(1, dimensions))
        shifts = .allocate(capacity: max(1, dimensions))
        for d in 0..<groupCount { capacities[d] = 8 }
        grid = stat.bucket?.grid
        bucketColumn = stat.bucket.map { Int32(slot($0.column)) } ?? -1
        bucketStartCount = grid?.starts.count ?? 0
        bucketStarts = .allocate(capacity: max(1, bucketStartCount))
        if let grid {
            for (i, s) in grid.starts.enumerated() { bucketStarts[i] = s }
            // Start small and grow with the buckets the data reaches.
            var c = 1
            while c < min(grid.count, 64) { c <<= 1 }
            capacities[groupCount] = c
        }
        from = grid?.from ?? 0
        to = grid?.to ?? 0
        aggregateCount = stat.aggregates.count
        kinds = .allocate(capacity: max(1, aggregateCount))
        aggregateColumns = .allocate(capacity: max(1, aggregateCount))
        var extremesNeeded = false
        for (a, aggregate) in stat.aggregates.enumerated() {
            switch aggregate {
            case .count: kinds[a] = .count
            case .countNonNull: kinds[a] = .countNonNull
            case .sum: kinds[a] = .sum
            case .avg: kinds[a] = .avg
            case .min: kinds[a] = .min; extremesNeeded = true
            case .max: kinds[a] = .max; extremesNeeded = true
            }
            aggregateColumns[a] = aggregate.column.map { Int32(slot($0)) } ?? -1
        }
        hasExtremes = extremesNeeded
        counts = .allocate(capacity: 1)
        nonNull = .allocate(capacity: 1)
        intSums = .allocate(capacity: 1)
        realSums = .allocate(capacity: 1)
        flags = .allocate(capacity: 1)
        extremes = .allocate(capacity: 1)
        arena = .allocate(capacity: 1)
        try layout(oldCapacities: nil, oldShifts: nil)
    }

    deinit {
        for f in 0..<filterCount { filterAllowed[f].deallocate() }
        filterAllowed.deallocate(); filterLimits.deallocate(); filterSlots.deallocate()
        groupSlots.deallocate(); capacities.deallocate(); shifts.deallocate()
        bucketStarts.deallocate(); kinds.deallocate(); aggregateColumns.deallocate()
        counts.deallocate(); nonNull.deallocate(); intSums.deallocate(); realSums.deallocate()
        flags.deallocate(); extremes.deallocate(); arena.deallocate()
    }

    /// Allocates storage for the current capacities and moves the old cells over.
    private mutating func layout(oldCapacities: [Int]?, oldShifts: [Int]?) throws {
        var total = 1
        for d in 0..<dimensions {
            let (product, overflow) = total.multipliedReportingOverflow(by: capacities[d])
            total = overflow ? Int.max : product
        }
        guard total <= Self.maximumCells else {
            throw TallyError(
                .database,
                "stat \(stat.name): more than \(Self.maximumCells) groups × buckets for the "
                    + "single-pass strategy; use the grouped strategy or fewer buckets")
        }
        var shift = 0
        for d in 0..<dimensions {
            shifts[d] = shift
            shift += capacities[d].trailingZeroBitCount
        }
        let newCells = total
        let n = max(1, aggregateCount) * newCells
        let newCounts = UnsafeMutablePointer<Int64>.allocate(capacity: newCells)
        newCounts.initialize(repeating: 0, count: newCells)
        let newNonNull = UnsafeMutablePointer<Int64>.allocate(capacity: n); newNonNull.initialize(repeating: 0, count: n)
        let newIntSums = UnsafeMutablePointer<Int64>.allocate(capacity: n); newIntSums.initialize(repeating: 0, count: n)
        let newRealSums = UnsafeMutablePointer<Double>.allocate(capacity: n); newRealSums.initialize(repeating: 0, count: n)
        let newFlags = UnsafeMutablePointer<UInt8>.allocate(capacity: n); newFlags.initialize(repeating: 0, count: n)
        let extremeCount = hasExtremes ? n : 1
        let newExtremes = UnsafeMutablePointer<Extreme>.allocate(capacity: extremeCount)
        newExtremes.initialize(repeating: Extreme(type: 0, length: 0, payload: 0), count: extremeCount)
        if let oldCapacities, let oldShifts {
            for old in 0..<cells where counts[old] != 0 {
                var cell = 0
                for d in 0..<dimensions {
                    cell |= ((old >> oldShifts[d]) & (oldCapacities[d] - 1)) << shifts[d]
                }
                newCounts[cell] = counts[old]
                for a in 0..<aggregateCount {
                    let o = a * cells + old, c = a * newCells + cell
                    newNonNull[c] = nonNull[o]; newIntSums[c] = intSums[o]; newRealSums[c] = realSums[o]
                    newFlags[c] = flags[o]
                    if hasExtremes { newExtremes[c] = extremes[o] }
                }
            }
        }
        counts.deallocate(); nonNull.deallocate(); intSums.deallocate(); realSums.deallocate()
        flags.deallocate(); extremes.deallocate()
        counts = newCounts; nonNull = newNonNull; intSums = newIntSums; realSums = newRealSums
        flags = newFlags; extremes = newExtremes
        cells = newCells
    }

    /// Grows dimension `d` so that it holds `code`.
    private mutating func grow(_ d: Int, toHold code: Int) throws {
        let oldCapacities = (0..<dimensions).map { capacities[$0] }
        let oldShifts = (0..<dimensions).map { shifts[$0] }
        var capacity = capacities[d]
        while capacity <= code { capacity <<= 1 }
        capacities[d] = capacity
        do {
            try layout(oldCapacities: oldCapacities, oldShifts: oldShifts)
        } catch {
            capacities[d] = oldCapacities[d]
            throw error
        }
    }

    /// Adds the current row: `values` holds its columns (`sqlite3_column_value`),
    /// `codes` the interned code of every key column, and `substitutes` the
    /// integer that a column's conversion gave when `substituted` (only
    /// columns that reach nothing but `COUNT`, `SUM` and `AVG`: see
    /// `ScanConversion`).
    @inline(__always)
    mutating func add(
        _ values: UnsafeMutablePointer<OpaquePointer?>, codes: UnsafeMutablePointer<Int32>,
        substitutes: UnsafeMutablePointer<Int64>, substituted: UnsafeMutablePointer<Bool>
    ) throws {
        for f in 0..<filterCount {
            let code = Int(codes[filterSlots[f]])
            if code >= filterLimits[f] || !filterAllowed[f][code] { return }
        }
        var cell = 0
        for d in 0..<groupCount {
            let code = Int(codes[groupSlots[d]])
            if code >= capacities[d] { try grow(d, toHold: code) }
            cell |= code << shifts[d]
        }
        if bucketColumn >= 0 {
            let value = values[Int(bucketColumn)]
            let bucket: Int
            switch sqlite3_value_type(value) {
            case SQLITE_INTEGER:
                let t = sqlite3_value_int64(value)
                guard t >= from, t < to else { return }
                // The last bucket start <= t.
                var low = 0, high = bucketStartCount - 1
                while high - low > 1 {
                    let mid = (low + high) >> 1
                    if bucketStarts[mid] <= t { low = mid } else { high = mid }
                }
                bucket = low
            case SQLITE_FLOAT:
                guard let b = grid!.bucket(of: sqlite3_value_double(value)) else { return }
                bucket = b
            default:
                // NULL compares false, text and blobs above every number:
                // never inside `[from, to)`.
                return
            }
            if bucket >= capacities[groupCount] { try grow(groupCount, toHold: bucket) }
            cell |= bucket << shifts[groupCount]
        }
        counts[cell] &+= 1
        for a in 0..<aggregateCount {
            let kind = kinds[a]
            if kind == .count { continue }
            let column = Int(aggregateColumns[a])
            if substituted[column] {
                let c = a * cells + cell
                nonNull[c] &+= 1
                if kind == .sum || kind == .avg { addInteger(substitutes[column], at: c) }
                continue
            }
            let value = values[column]
            let type = sqlite3_value_type(value)
            if type == SQLITE_NULL { continue }
            let c = a * cells + cell
            nonNull[c] &+= 1
            switch kind {
            case .count, .countNonNull:
                break
            case .sum, .avg:
                switch type {
                case SQLITE_INTEGER: addInteger(sqlite3_value_int64(value), at: c)
                case SQLITE_FLOAT:
                    realSums[c] += sqlite3_value_double(value)
                    flags[c] |= Self.approx
                default: addNonNumeric(value, at: c)
                }
            case .min, .max:
                consider(value, type: type, at: c, keepSmaller: kind == .min)
            }
        }
    }

    /// `sumStep` for an integer: the real sum always, the exact sum until
    /// the first real or overflow.
    @inline(__always)
    private mutating func addInteger(_ v: Int64, at c: Int) {
        realSums[c] += Double(v)
        if flags[c] == 0 {
            let (sum, overflow) = intSums[c].addingReportingOverflow(v)
            intSums[c] = sum
            if overflow { flags[c] = Self.approx | Self.overflowed }
        }
    }

    /// `sumStep` for a text or blob: the number SQLite reads from it. A copy
    /// of the value is converted, so that the row's own value (which other
    /// stats may group by) keeps its storage class.
    private mutating func addNonNumeric(_ value: OpaquePointer?, at c: Int) {
        guard let copy = sqlite3_value_dup(value) else {
            realSums[c] += 0
            flags[c] |= Self.approx
            return
        }
        defer { sqlite3_value_free(copy) }
        if sqlite3_value_numeric_type(copy) == SQLITE_INTEGER {
            addInteger(sqlite3_value_int64(copy), at: c)
        } else {
            realSums[c] += sqlite3_value_double(copy)
            flags[c] |= Self.approx
        }
    }

    /// `minmaxStep`: replaces the cell's best value only by a strictly better one.
    private mutating func consider(_ value: OpaquePointer?, type: Int32, at c: Int, keepSmaller: Bool) {
        let best = extremes[c]
        if best.type != 0 {
            let order = compare(value, type: type, with: best)
            if keepSmaller ? order >= 0 : order <= 0 { return }
        }
        switch type {
        case SQLITE_INTEGER:
            extremes[c] = Extreme(type: type, length: 0, payload: sqlite3_value_int64(value))
        case SQLITE_FLOAT:
            extremes[c] = Extreme(type: type, length: 0, payload: Int64(bitPattern: sqlite3_value_double(value).bitPattern))
        default:
            let (pointer, length) = rawBytes(value, type: type)
            let offset = store(pointer, length)
            extremes[c] = Extreme(type: type, length: Int32(truncatingIfNeeded: length), payload: Int64(offset))
        }
    }

    /// The bytes SQLite's BINARY collation compares: a text in the
    /// database's own encoding, a blob as stored.
    private func rawBytes(_ value: OpaquePointer?, type: Int32) -> (UnsafeRawPointer?, Int) {
        if type == SQLITE_TEXT {
            switch encoding {
            case .utf8: return (sqlite3_value_blob(value), Int(sqlite3_value_bytes(value)))
            case .utf16le: return (sqlite3_value_text16le(value), Int(sqlite3_value_bytes16(value)))
            case .utf16be: return (sqlite3_value_text16be(value), Int(sqlite3_value_bytes16(value)))
            }
        }
        return (sqlite3_value_blob(value), Int(sqlite3_value_bytes(value)))
    }

    private mutating func store(_ pointer: UnsafeRawPointer?, _ length: Int) -> Int {
        if arenaCount + length > arenaCapacity {
            var capacity = max(256, arenaCapacity * 2)
            while capacity < arenaCount + length { capacity *= 2 }
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            grown.update(from: arena, count: arenaCount)
            arena.deallocate()
            arena = grown
            arenaCapacity = capacity
        }
        let offset = arenaCount
        if let pointer, length > 0 { (arena + offset).update(from: pointer.assumingMemoryBound(to: UInt8.self), count: length) }
        arenaCount += length
        return offset
    }

    /// SQLite's order of a row value against a kept one: numbers < text < blob.
    private func compare(_ value: OpaquePointer?, type: Int32, with best: Extreme) -> Int {
        func rank(_ t: Int32) -> Int { t == SQLITE_INTEGER || t == SQLITE_FLOAT ? 1 : t == SQLITE_TEXT ? 2 : 3 }
        let (a, b) = (rank(type), rank(best.type))
        if a != b { return a < b ? -1 : 1 }
        if a == 1 {
            switch (type, best.type) {
            case (SQLITE_INTEGER, SQLITE_INTEGER):
                let x = sqlite3_value_int64(value)
                return x == best.payload ? 0 : x < best.payload ? -1 : 1
            case (SQLITE_INTEGER, _):
                return compareExactly(sqlite3_value_int64(value), Double(bitPattern: UInt64(bitPattern: best.payload)))
            case (_, SQLITE_INTEGER):
                return -compareExactly(best.payload, sqlite3_value_double(value))
            default:
                let x = sqlite3_value_double(value), y = Double(bitPattern: UInt64(bitPattern: best.payload))
                return x == y ? 0 : x < y ? -1 : 1
            }
        }
        let (pointer, length) = rawBytes(value, type: type)
        let common = min(length, Int(best.length))
        if common > 0, let pointer {
            let order = memcmp(pointer, arena + Int(best.payload), common)
            if order != 0 { return order < 0 ? -1 : 1 }
        }
        return length == Int(best.length) ? 0 : length < Int(best.length) ? -1 : 1
    }

    /// The groups seen, decoded through the scan's interners.
    ///
    /// - throws: SQL's integer overflow for a sum that left 64 bits.
    func result(interners: UnsafeMutablePointer<ValueInterner>) throws -> StatResult {
        var result = StatResult(stat: stat)
        for cell in 0..<cells where counts[cell] != 0 {
            var values: [StatValue] = []
            for d in 0..<groupCount {
                let code = Int32((cell >> shifts[d]) & (capacities[d] - 1))
                values.append(interners[groupSlots[d]].value(code))
            }
            let bucket = bucketColumn >= 0 ? (cell >> shifts[groupCount]) & (capacities[groupCount] - 1) : nil
            var aggregates: [StatValue] = []
            for a in 0..<aggregateCount {
                let c = a * cells + cell
                let n = nonNull[c]
                switch kinds[a] {
                case .count: aggregates.append(.integer(counts[cell]))
                case .countNonNull: aggregates.append(.integer(n))
                case .sum:
                    if n == 0 { aggregates.append(.null); continue }
                    if flags[c] & Self.overflowed != 0 {
                        let column = stat.aggregates[a].column ?? ""
                        throw TallyError.integerOverflow(table: stat.table, column: column, stat: stat.name)
                    }
                    // SQLite returns NaN (+∞ plus −∞) as NULL.
                    let real = realSums[c]
                    aggregates.append(flags[c] & Self.approx == 0 ? .integer(intSums[c]) : real.isNaN ? .null : .real(real))
                case .avg:
                    let average = realSums[c] / Double(n)
                    aggregates.append(n == 0 || average.isNaN ? .null : .real(average))
                case .min, .max:
                    aggregates.append(value(of: extremes[c]))
                }
            }
            result.groups[StatResult.Key(values, bucket: bucket)] = aggregates
        }
        return result
    }

    private func value(of extreme: Extreme) -> StatValue {
        switch extreme.type {
        case 0: return .null
        case SQLITE_INTEGER: return .integer(extreme.payload)
        case SQLITE_FLOAT: return .real(Double(bitPattern: UInt64(bitPattern: extreme.payload)))
        case SQLITE_BLOB:
            return .blob(Data(UnsafeBufferPointer(start: arena + Int(extreme.payload), count: Int(extreme.length))))
        default:
            return .text(encoding.decode(UnsafeBufferPointer(start: arena + Int(extreme.payload), count: Int(extreme.length))))
        }
    }
}

/// A database's text encoding (`PRAGMA encoding`).
enum TextEncoding: Sendable {
    case utf8, utf16le, utf16be

    init(pragma: String?) {
        switch pragma {
        case "UTF-16le": self = .utf16le
        case "UTF-16be": self = .utf16be
        default: self = .utf8
        }
    }

    /// Text from its bytes in this encoding.
    func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        switch self {
        case .utf8:
            return String(decoding: bytes, as: UTF8.self)
        case .utf16le, .utf16be:
            var units: [UInt16] = []
            units.reserveCapacity(bytes.count / 2)
            var i = 0
            while i + 1 < bytes.count {
                let (first, second) = (UInt16(bytes[i]), UInt16(bytes[i + 1]))
                units.append(self == .utf16le ? first | second << 8 : first << 8 | second)
                i += 2
            }
            return String(decoding: units, as: UTF16.self)
        }
    }
}
