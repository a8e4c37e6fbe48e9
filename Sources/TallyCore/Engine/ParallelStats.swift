import Foundation
import GRDB

/// Spreads the work of one answer over several pooled connections that
/// share one snapshot (`SnapshotFanOut`): table scans for `single-pass`, one
/// stat's queries for `grouped` and `naive`.
///
/// Units are assigned to lanes longest first (by the table's row count
/// estimate), each lane to the least loaded connection.
enum ParallelStats {
    /// A piece of work on one table, run on whichever lane it is assigned to.
    struct Unit<Output: Sendable>: Sendable {
        let table: String
        let run: @Sendable (Database) throws -> Output
    }

    /// How many times a fan-out is retried when a commit lands between its
    /// lanes' snapshots, before falling back to one connection.
    static let attempts = 3

    /// The units of `stats`: each unit's output pairs a stat's index in
    /// `stats` with its result.
    static func units(_ stats: [Stat], strategy: Strategy) -> [Unit<[(Int, StatResult)]>] {
        switch strategy {
        case .singlePass:
            return SinglePassScanner.plan(stats).map { scan in
                Unit(table: scan.table) { db in
                    let (results, rows) = try SinglePassScanner.run(scan, in: db)
                    EngineMetrics.rowsScanned.increment(by: Int64(rows))
                    return results.map { result in (stats.firstIndex(of: result.stat)!, result) }
                }
            }
        case .grouped, .naive:
            return stats.enumerated().map { index, stat in
                Unit(table: stat.table) { db in
                    let result = strategy == .grouped ? try GroupedStrategy.run([stat], in: db) : try NaiveStrategy.run([stat], in: db)
                    return [(index, result[0])]
                }
            }
        }
    }

    /// Computes `stats` over up to `width` connections of `pool`.
    ///
    /// - returns: the results in stat order, or nil when the work does not
    ///   split (one unit, `width` < 2) or no shared snapshot could be had.
    static func run(_ stats: [Stat], strategy: Strategy, pool: DatabasePool, width: Int) throws -> [StatResult]? {
        guard let outputs = try fanOut(units(stats, strategy: strategy), pool: pool, width: width) else { return nil }
        var results = [StatResult?](repeating: nil, count: stats.count)
        for (index, result) in outputs.joined() { results[index] = result }
        return results.map { $0! }
    }

    /// The parallel floor: the single-pass scans of `stats`, spread like
    /// `run` spreads them, stepping rows without aggregating. Returns the rows read.
    static func floor(_ stats: [Stat], pool: DatabasePool, width: Int) throws -> Int? {
        let units = SinglePassScanner.plan(stats).map { scan in
            Unit(table: scan.table) { db in try SinglePassScanner.floor(scan, in: db).rows }
        }
        return try fanOut(units, pool: pool, width: width)?.reduce(0, +)
    }

    /// Runs `units` on up to `width` lanes that share one snapshot, retrying
    /// when a commit lands in between.
    ///
    /// - returns: every unit's output (in lane order), or nil when the work
    ///   does not split or no shared snapshot could be had.
    private static func fanOut<Output>(_ units: [Unit<Output>], pool: DatabasePool, width maximumWidth: Int) throws -> [Output]? {
        let width = min(maximumWidth, units.count, pool.configuration.maximumReaderCount)
        guard width >= 2 else { return nil }
        let lanes = try assign(units, width: width, pool: pool)
        let laneWork: [SnapshotFanOut.Lane<[Output]>] = lanes.map { lane in
            { db in try lane.map { try $0.run(db) } }
        }
        for _ in 0..<attempts {
            if let outputs = try SnapshotFanOut.run(pool, lanes: laneWork) { return Array(outputs.joined()) }
        }
        return nil
    }

    /// Longest-processing-time-first assignment of units to lanes.
    private static func assign<Output>(_ units: [Unit<Output>], width: Int, pool: DatabasePool) throws -> [[Unit<Output>]] {
        let tables = Set(units.map(\.table))
        let estimates: [String: Int64] = try pool.unsafeRead { db in
            var estimates: [String: Int64] = [:]
            for table in tables {
                // The largest rowid: an O(log n) estimate of the row count.
                estimates[table] = try Int64.fetchOne(db, sql: "SELECT MAX(rowid) FROM \(table)") ?? 0
            }
            return estimates
        }
        var lanes = Array(repeating: [Unit<Output>](), count: width)
        var load = Array(repeating: Int64(0), count: width)
        for unit in units.sorted(by: { estimates[$0.table]! > estimates[$1.table]! }) {
            let lane = load.indices.min { load[$0] < load[$1] }!
            lanes[lane].append(unit)
            load[lane] += max(1, estimates[unit.table]!)
        }
        return lanes.filter { !$0.isEmpty }
    }
}
