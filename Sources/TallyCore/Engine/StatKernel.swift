import GRDBSQLite

/// The running aggregates of one stat during a single-pass scan, in a dense
/// grid indexed by the codes of its group-by values and its time bucket.
///
/// Each dimension has a power-of-two capacity; a cell's index is the codes
/// shifted into place, so adding a row is a few shifts and stores. When a
/// code outgrows its dimension the grid is laid out again (rare: only as new
/// distinct values appear).
///
/// Storage is manually managed (`deallocate()`), and the scan reaches kernels
/// through an `UnsafeMutablePointer`: no reference counting, exclusivity or
/// bounds checks on the per-row path.
struct StatKernel {
    enum Kind: UInt8 { case count, countNonNull, sum, avg, min, max }

    let stat: Stat
    private let filterCount: Int
    private let filterSlots: UnsafeMutablePointer<Int>
    private let filterCodes: UnsafeMutablePointer<Int32>
    private let groupCount: Int
    private let groupSlots: UnsafeMutablePointer<Int>
    private let dimensions: Int
    private let capacities: UnsafeMutablePointer<Int>
    private let shifts: UnsafeMutablePointer<Int>
    private let bucketColumn: Int32
    private let bucketStarts: UnsafeMutablePointer<Int64>
    private let bucketStartCount: Int
    private let from: Int64
    private let to: Int64
    private let aggregateCount: Int
    private let kinds: UnsafeMutablePointer<Kind>
    private let aggregateColumns: UnsafeMutablePointer<Int32>

    private var cells = 0
    private var counts: UnsafeMutablePointer<Int64>
    /// Per aggregate `a`, cell `c` is at `a * cells + c`.
    private var nonNull: UnsafeMutablePointer<Int64>
    private var intSums: UnsafeMutablePointer<Int64>
    private var realSums: UnsafeMutablePointer<Double>
    private var isReal: UnsafeMutablePointer<Bool>
    private var minimums: UnsafeMutablePointer<Double>
    private var maximums: UnsafeMutablePointer<Double>
    /// Set when an integer sum overflowed; reported after the scan.
    private(set) var overflow = false

    static let maximumCells = 1 << 22

    /// - parameters:
    ///   - slot: the SELECT column index of a column name.
    ///   - filterCodes: the interned code of each filter value.
    init(stat: Stat, slot: (String) -> Int, filterCodes codes: [Int32]) {
        self.stat = stat
        filterCount = stat.filters.count
        filterSlots = .allocate(capacity: max(1, filterCount))
        filterCodes = .allocate(capacity: max(1, filterCount))
        for (i, filter) in stat.filters.enumerated() {
            filterSlots[i] = slot(filter.column)
            filterCodes[i] = codes[i]
        }
        groupCount = stat.groupBy.count
        groupSlots = .allocate(capacity: max(1, groupCount))
        for (i, column) in stat.groupBy.enumerated() { groupSlots[i] = slot(column) }
        dimensions = groupCount + (stat.bucket == nil ? 0 : 1)
        capacities = .allocate(capacity: max(1, dimensions))
        shifts = .allocate(capacity: max(1, dimensions))
        for d in 0..<groupCount { capacities[d] = 8 }
        let grid = stat.bucket?.grid
        bucketColumn = stat.bucket.map { Int32(slot($0.column)) } ?? -1
        bucketStartCount = grid?.starts.count ?? 0
        bucketStarts = .allocate(capacity: max(1, bucketStartCount))
        if let grid {
            for (i, s) in grid.starts.enumerated() { bucketStarts[i] = s }
            var c = 1
            while c < grid.count { c <<= 1 }
            capacities[groupCount] = c
        }
        from = grid?.from ?? 0
        to = grid?.to ?? 0
        aggregateCount = stat.aggregates.count
        kinds = .allocate(capacity: max(1, aggregateCount))
        aggregateColumns = .allocate(capacity: max(1, aggregateCount))
        for (a, aggregate) in stat.aggregates.enumerated() {
            switch aggregate {
            case .count: kinds[a] = .count
            case .countNonNull: kinds[a] = .countNonNull
            case .sum: kinds[a] = .sum
            case .avg: kinds[a] = .avg
            case .min: kinds[a] = .min
            case .max: kinds[a] = .max
            }
            aggregateColumns[a] = aggregate.column.map { Int32(slot($0)) } ?? -1
        }
        counts = .allocate(capacity: 1)
        nonNull = .allocate(capacity: 1)
        intSums = .allocate(capacity: 1)
        realSums = .allocate(capacity: 1)
        isReal = .allocate(capacity: 1)
        minimums = .allocate(capacity: 1)
        maximums = .allocate(capacity: 1)
        layout(oldCapacities: nil, oldShifts: nil)
    }

    func deallocate() {
        [filterSlots, groupSlots, capacities, shifts].forEach { $0.deallocate() }
        filterCodes.deallocate(); bucketStarts.deallocate(); kinds.deallocate(); aggregateColumns.deallocate()
        counts.deallocate(); nonNull.deallocate(); intSums.deallocate(); realSums.deallocate()
        isReal.deallocate(); minimums.deallocate(); maximums.deallocate()
    }

    /// Allocates storage for the current capacities and moves the old cells over.
    private mutating func layout(oldCapacities: [Int]?, oldShifts: [Int]?) {
        var shift = 0
        for d in 0..<dimensions {
            shifts[d] = shift
            shift += capacities[d].trailingZeroBitCount
        }
        let newCells = 1 << shift
        let n = max(1, aggregateCount) * newCells
        let newCounts = UnsafeMutablePointer<Int64>.allocate(capacity: newCells)
        newCounts.initialize(repeating: 0, count: newCells)
        let newNonNull = UnsafeMutablePointer<Int64>.allocate(capacity: n); newNonNull.initialize(repeating: 0, count: n)
        let newIntSums = UnsafeMutablePointer<Int64>.allocate(capacity: n); newIntSums.initialize(repeating: 0, count: n)
        let newRealSums = UnsafeMutablePointer<Double>.allocate(capacity: n); newRealSums.initialize(repeating: 0, count: n)
        let newIsReal = UnsafeMutablePointer<Bool>.allocate(capacity: n); newIsReal.initialize(repeating: false, count: n)
        let newMin = UnsafeMutablePointer<Double>.allocate(capacity: n); newMin.initialize(repeating: .infinity, count: n)
        let newMax = UnsafeMutablePointer<Double>.allocate(capacity: n); newMax.initialize(repeating: -.infinity, count: n)
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
                    newIsReal[c] = isReal[o]; newMin[c] = minimums[o]; newMax[c] = maximums[o]
                }
            }
        }
        counts.deallocate(); nonNull.deallocate(); intSums.deallocate(); realSums.deallocate()
        isReal.deallocate(); minimums.deallocate(); maximums.deallocate()
        counts = newCounts; nonNull = newNonNull; intSums = newIntSums; realSums = newRealSums
        isReal = newIsReal; minimums = newMin; maximums = newMax
        cells = newCells
    }

    /// Grows dimension `d` so that it holds `code`.
    private mutating func grow(_ d: Int, toHold code: Int) throws {
        let oldCapacities = (0..<dimensions).map { capacities[$0] }
        let oldShifts = (0..<dimensions).map { shifts[$0] }
        var capacity = capacities[d]
        while capacity <= code { capacity <<= 1 }
        let total = oldCapacities.enumerated().reduce(1) { $0 * ($1.offset == d ? capacity : $1.element) }
        guard total <= Self.maximumCells else {
            throw TallyError.invalid("stat \(stat.name): too many groups for the single-pass strategy; use grouped")
        }
        capacities[d] = capacity
        layout(oldCapacities: oldCapacities, oldShifts: oldShifts)
    }

    /// Adds the current row: `values` holds its columns (`sqlite3_column_value`),
    /// `codes` the interned code of every key column.
    @inline(__always)
    mutating func add(_ values: UnsafeMutablePointer<OpaquePointer?>, codes: UnsafeMutablePointer<Int32>) throws {
        for f in 0..<filterCount where codes[filterSlots[f]] != filterCodes[f] {
            return
        }
        var cell = 0
        for d in 0..<groupCount {
            let code = Int(codes[groupSlots[d]])
            if code >= capacities[d] { try grow(d, toHold: code) }
            cell |= code << shifts[d]
        }
        if bucketColumn >= 0 {
            let value = values[Int(bucketColumn)]
            if sqlite3_value_type(value) == SQLITE_NULL { return }
            let t = sqlite3_value_int64(value)
            guard t >= from, t < to else { return }
            // The last bucket start <= t.
            var low = 0, high = bucketStartCount - 1
            while high - low > 1 {
                let mid = (low + high) >> 1
                if bucketStarts[mid] <= t { low = mid } else { high = mid }
            }
            cell |= low << shifts[groupCount]
        }
        counts[cell] &+= 1
        for a in 0..<aggregateCount {
            let kind = kinds[a]
            if kind == .count { continue }
            let value = values[Int(aggregateColumns[a])]
            let type = sqlite3_value_type(value)
            if type == SQLITE_NULL { continue }
            let c = a * cells + cell
            nonNull[c] &+= 1
            switch kind {
            case .count, .countNonNull:
                break
            case .sum, .avg:
                if type == SQLITE_INTEGER && !isReal[c] {
                    let (sum, overflowed) = intSums[c].addingReportingOverflow(sqlite3_value_int64(value))
                    intSums[c] = sum
                    if overflowed { overflow = true }
                } else {
                    if !isReal[c] {
                        isReal[c] = true
                        realSums[c] = Double(intSums[c])
                    }
                    realSums[c] += sqlite3_value_double(value)
                }
            case .min, .max:
                let v = sqlite3_value_double(value)
                if type != SQLITE_INTEGER { isReal[c] = true }
                if v < minimums[c] { minimums[c] = v }
                if v > maximums[c] { maximums[c] = v }
            }
        }
    }

    /// The groups seen, decoded through the scan's interners.
    func result(interners: UnsafeMutablePointer<ValueInterner>) throws -> StatResult {
        if overflow { throw TallyError(.database, "stat \(stat.name): integer overflow in a sum") }
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
                    aggregates.append(n == 0 ? .null : isReal[c] ? .real(realSums[c]) : .integer(intSums[c]))
                case .avg:
                    aggregates.append(n == 0 ? .null : .real((isReal[c] ? realSums[c] : Double(intSums[c])) / Double(n)))
                case .min, .max:
                    let v = kinds[a] == .min ? minimums[c] : maximums[c]
                    if n == 0 { aggregates.append(.null) }
                    else if !isReal[c], let exact = Int64(exactly: v) { aggregates.append(.integer(exact)) }
                    else { aggregates.append(.real(v)) }
                }
            }
            result.groups[StatResult.Key(values, bucket: bucket)] = aggregates
        }
        return result
    }
}
