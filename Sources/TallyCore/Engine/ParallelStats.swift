import Foundation
import GRDB

/// Spreads the work of one answer over several pooled connections that
/// share one snapshot (`SnapshotFanOut`): table scans for `single-pass`, one
/// stat's queries for `grouped` and `naive`.
///
/// Units are assigned to lanes longest first (by the table's row count
/// estimate), each lane to the least loaded connection.
enum ParallelStats {
    /// A piece of work that computes some stats' results.
    struct Unit: Sendable {
        let table: String
        let run: @Sendable (Database) throws -> [(Int, StatResult)]
    }

    /// How many times a fan-out is retried when a commit lands between its
    /// lanes' snapshots, before falling back to one connection.
    static let attempts = 3

    static func units(_ stats: [Stat], strategy: Strategy) -> [Unit] {
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
    static func run(_ stats: [Stat], strategy: Strategy, pool: DatabasePool, width maximumWidth: Int) throws -> [StatResult]? {
        let units = units(stats, strategy: strategy)
        let width = min(maximumWidth, units.count, pool.configuration.maximumReaderCount)
        guard width >= 2 else { return nil }
        let lanes = try assign(units, width: width, pool: pool)
        for _ in 0..<attempts {
            let laneWork: [SnapshotFanOut.Lane<[(Int, StatResult)]>] = lanes.map { lane in
                { db in try lane.flatMap { try $0.run(db) } }
            }
            if let outputs = try SnapshotFanOut.run(pool, lanes: laneWork) {
                var results = [StatResult?](repeating: nil, count: stats.count)
                for (index, result) in outputs.joined() { results[index] = result }
                return results.map { $0! }
            }
        }
        return nil
    }

    /// The parallel floor: the single-pass scans of `stats`, spread like
    /// `run` spreads them, stepping rows without aggregating. Returns the rows read.
    static func floor(_ stats: [Stat], pool: DatabasePool, width maximumWidth: Int) throws -> Int? {
        let scans = SinglePassScanner.plan(stats)
        let units = scans.map { scan in
            Unit(table: scan.table) { db in
                let rows = try SinglePassScanner.floor(scan, in: db).rows
                return [(rows, StatResult(stat: scan.stats[0]))]
            }
        }
        let width = min(maximumWidth, units.count, pool.configuration.maximumReaderCount)
        guard width >= 2 else { return nil }
        let lanes = try assign(units, width: width, pool: pool)
        for _ in 0..<attempts {
            let laneWork: [SnapshotFanOut.Lane<Int>] = lanes.map { lane in
                { db in try lane.reduce(0) { $0 + (try $1.run(db)).reduce(0) { $0 + $1.0 } } }
            }
            if let rows = try SnapshotFanOut.run(pool, lanes: laneWork) { return rows.reduce(0, +) }
        }
        return nil
    }

    /// Longest-processing-time-first assignment of units to lanes.
    private static func assign(_ units: [Unit], width: Int, pool: DatabasePool) throws -> [[Unit]] {
        let tables = Set(units.map(\.table))
        let estimates: [String: Int64] = try pool.unsafeRead { db in
            var estimates: [String: Int64] = [:]
            for table in tables {
                // The largest rowid: an O(log n) estimate of the row count.
                estimates[table] = try Int64.fetchOne(db, sql: "SELECT MAX(rowid) FROM \(table)") ?? 0
            }
            return estimates
        }
        var lanes = Array(repeating: [Unit](), count: width)
        var load = Array(repeating: Int64(0), count: width)
        for unit in units.sorted(by: { estimates[$0.table]! > estimates[$1.table]! }) {
            let lane = load.indices.min { load[$0] < load[$1] }!
            lanes[lane].append(unit)
            load[lane] += max(1, estimates[unit.table]!)
        }
        return lanes.filter { !$0.isEmpty }
    }
}
