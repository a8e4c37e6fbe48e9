import GRDBSQLite

/// The running aggregates of one stat during a single-pass scan, in a dense
/// grid indexed by the codes of its group-by values and its bucket.
///
/// Each dimension has a power-of-two capacity; a cell's index is the codes
/// shifted into place, so updating a group is a few shifts and array writes.
/// When a code outgrows its dimension the grid is laid out again (rare: it
/// only happens as new distinct values appear).
final class StatAccumulator {
    let stat: Stat
    /// Column slot (in the scan's column list) of each group-by column.
    let groupSlots: [Int]
    /// Column slot and interned code of each filter.
    var filterSlots: [Int]
    var filterCodes: [Int32]
    /// Column slot of the bucket column, and the grid.
    let bucketSlot: Int?
    let grid: PeriodGrid?
    /// Column slot (in the SELECT) of each aggregate's column, -1 for `count`.
    let aggregateColumns: [Int32]

    private(set) var capacities: [Int]
    private(set) var shifts: [Int]
    private(set) var counts: [Int64] = []
    private var nonNull: [[Int64]]
    private var intSums: [[Int64]]
    private var realSums: [[Double]]
    private var isReal: [[Bool]]
    private var minimums: [[Double]]
    private var maximums: [[Double]]

    static let maximumCells = 1 << 24

    init(stat: Stat, groupSlots: [Int], filterSlots: [Int], filterCodes: [Int32], bucketSlot: Int?, aggregateColumns: [Int32]) {
        self.stat = stat
        self.groupSlots = groupSlots
        self.filterSlots = filterSlots
        self.filterCodes = filterCodes
        self.bucketSlot = bucketSlot
        self.grid = stat.bucket?.grid
        self.aggregateColumns = aggregateColumns
        var capacities = Array(repeating: 8, count: groupSlots.count)
        if let grid = stat.bucket?.grid {
            var c = 1
            while c < grid.count { c <<= 1 }
            capacities.append(c)
        }
        self.capacities = capacities
        self.shifts = []
        let n = stat.aggregates.count
        nonNull = Array(repeating: [], count: n)
        intSums = Array(repeating: [], count: n)
        realSums = Array(repeating: [], count: n)
        isReal = Array(repeating: [], count: n)
        minimums = Array(repeating: [], count: n)
        maximums = Array(repeating: [], count: n)
        layout(from: nil)
    }

    var cellCount: Int { capacities.reduce(1, *) }

    /// Allocates the arrays for the current capacities, moving old cells over.
    private func layout(from old: (capacities: [Int], shifts: [Int])?) {
        var shifts: [Int] = []
        var shift = 0
        for c in capacities {
            shifts.append(shift)
            shift += c.trailingZeroBitCount
        }
        let cells = cellCount
        let oldCounts = counts
        let oldNonNull = nonNull, oldIntSums = intSums, oldRealSums = realSums
        let oldIsReal = isReal, oldMin = minimums, oldMax = maximums
        counts = Array(repeating: 0, count: cells)
        for a in 0..<stat.aggregates.count {
            nonNull[a] = Array(repeating: 0, count: cells)
            intSums[a] = Array(repeating: 0, count: cells)
            realSums[a] = Array(repeating: 0, count: cells)
            isReal[a] = Array(repeating: false, count: cells)
            minimums[a] = Array(repeating: .infinity, count: cells)
            maximums[a] = Array(repeating: -.infinity, count: cells)
        }
        self.shifts = shifts
        guard let old else { return }
        for oldCell in 0..<oldCounts.count where oldCounts[oldCell] != 0 {
            var cell = 0
            for d in 0..<capacities.count {
                let code = (oldCell >> old.shifts[d]) & (old.capacities[d] - 1)
                cell |= code << shifts[d]
            }
            counts[cell] = oldCounts[oldCell]
            for a in 0..<stat.aggregates.count {
                nonNull[a][cell] = oldNonNull[a][oldCell]
                intSums[a][cell] = oldIntSums[a][oldCell]
                realSums[a][cell] = oldRealSums[a][oldCell]
                isReal[a][cell] = oldIsReal[a][oldCell]
                minimums[a][cell] = oldMin[a][oldCell]
                maximums[a][cell] = oldMax[a][oldCell]
            }
        }
    }

    /// Grows dimension `d` so that it holds `code`.
    private func grow(_ d: Int, toHold code: Int) throws {
        let old = (capacities, shifts)
        while capacities[d] <= code { capacities[d] <<= 1 }
        guard cellCount <= Self.maximumCells else {
            throw TallyError.invalid("stat \(stat.name): too many groups for the single-pass strategy; use grouped")
        }
        layout(from: old)
    }

    /// Adds the current row, whose key codes are in `codes`, to the stat.
    @inline(__always)
    func add(_ statement: OpaquePointer, codes: UnsafeMutablePointer<Int32>) throws {
        for f in 0..<filterSlots.count where codes[filterSlots[f]] != filterCodes[f] {
            return
        }
        var cell = 0
        for d in 0..<groupSlots.count {
            let code = Int(codes[groupSlots[d]])
            if code >= capacities[d] { try grow(d, toHold: code) }
            cell |= code << shifts[d]
        }
        if let grid, let bucketSlot {
            let t = sqlite3_column_int64(statement, Int32(bucketSlot))
            if sqlite3_column_type(statement, Int32(bucketSlot)) == SQLITE_NULL { return }
            guard let bucket = grid.bucket(of: t) else { return }
            cell |= bucket << shifts[groupSlots.count]
        }
        counts[cell] &+= 1
        for a in 0..<aggregateColumns.count {
            let column = aggregateColumns[a]
            if column < 0 { continue }
            let type = sqlite3_column_type(statement, column)
            if type == SQLITE_NULL { continue }
            nonNull[a][cell] &+= 1
            switch stat.aggregates[a] {
            case .count, .countNonNull:
                break
            case .sum, .avg:
                if type == SQLITE_INTEGER && !isReal[a][cell] {
                    let (sum, overflow) = intSums[a][cell].addingReportingOverflow(sqlite3_column_int64(statement, column))
                    if overflow { throw TallyError(.database, "stat \(stat.name): integer overflow in \(stat.aggregates[a])") }
                    intSums[a][cell] = sum
                } else {
                    if !isReal[a][cell] {
                        isReal[a][cell] = true
                        realSums[a][cell] = Double(intSums[a][cell])
                    }
                    realSums[a][cell] += sqlite3_column_double(statement, column)
                }
            case .min, .max:
                let v = sqlite3_column_double(statement, column)
                if type != SQLITE_INTEGER { isReal[a][cell] = true }
                if v < minimums[a][cell] { minimums[a][cell] = v }
                if v > maximums[a][cell] { maximums[a][cell] = v }
            }
        }
    }

    /// The groups seen, decoded through the scan's interners.
    func result(interners: [ValueInterner]) -> StatResult {
        var result = StatResult(stat: stat)
        for cell in 0..<counts.count where counts[cell] != 0 {
            var values: [StatValue] = []
            for d in 0..<groupSlots.count {
                let code = Int32((cell >> shifts[d]) & (capacities[d] - 1))
                values.append(interners[groupSlots[d]].value(code))
            }
            var bucket: Int? = nil
            if grid != nil {
                let d = groupSlots.count
                bucket = (cell >> shifts[d]) & (capacities[d] - 1)
            }
            var aggregates: [StatValue] = []
            for a in 0..<stat.aggregates.count {
                let n = nonNull[a][cell]
                switch stat.aggregates[a] {
                case .count: aggregates.append(.integer(counts[cell]))
                case .countNonNull: aggregates.append(.integer(n))
                case .sum:
                    if n == 0 { aggregates.append(.null) }
                    else if isReal[a][cell] { aggregates.append(.real(realSums[a][cell])) }
                    else { aggregates.append(.integer(intSums[a][cell])) }
                case .avg:
                    let sum = isReal[a][cell] ? realSums[a][cell] : Double(intSums[a][cell])
                    aggregates.append(n == 0 ? .null : .real(sum / Double(n)))
                case .min, .max:
                    let isMin: Bool
                    if case .min = stat.aggregates[a] { isMin = true } else { isMin = false }
                    let v = isMin ? minimums[a][cell] : maximums[a][cell]
                    if n == 0 { aggregates.append(.null) }
                    else if !isReal[a][cell], let exact = Int64(exactly: v) { aggregates.append(.integer(exact)) }
                    else { aggregates.append(.real(v)) }
                }
            }
            result.groups[StatResult.Key(values, bucket: bucket)] = aggregates
        }
        return result
    }
}
