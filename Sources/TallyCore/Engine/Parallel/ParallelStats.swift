import Foundation
package import GRDB

/// Spreads the work of one answer over several pooled connections that
/// share one snapshot (`SnapshotFanOut`): table scans for `single-pass`, one
/// stat's queries for `grouped` and `naive`.
///
/// Units are assigned to lanes longest first (by the table's row count
/// estimate), each lane to the least loaded connection.
package enum ParallelStats {
    /// A piece of work on one table, run on whichever lane it is assigned to.
    package struct Unit<Output: Sendable>: Sendable {
        let table: String
        let run: @Sendable (Database) throws -> Output

        package init(table: String, run: @escaping @Sendable (Database) throws -> Output) {
            self.table = table
            self.run = run
        }
    }

    /// How many times a fan-out is retried when a commit lands between its
    /// lanes' snapshots, before falling back to one connection.
    static let attempts = 3

    /// What a unit of a stats fan-out produces: results at their positions
    /// in the request, or (one unit) the change counters of the snapshot.
    struct Partial: Sendable {
        var results: [(Int, StatResult)] = []
        var stamp: StatsCache.Stamp?
    }

    /// The units of `stats` under a scan strategy, plus one reading the
    /// change counters of `tables` in the same snapshot.
    static func units(_ stats: [Stat], strategy: Strategy, tables: Set<String>, execution: Execution) -> [Unit<Partial>] {
        var units: [Unit<Partial>]
        switch strategy {
        case .singlePass:
            units = SinglePassScanner.plan(stats, mapping: execution.mapping).map { scan in
                Unit(table: scan.table) { db in
                    Partial(results: try SinglePassScanner.run(scan, in: db, execution: execution).results)
                }
            }
        default:
            units = stats.enumerated().map { position, stat in
                Unit(table: stat.table) { db in
                    let results =
                        strategy == .naive
                        ? try NaiveStrategy.run([stat], in: db, execution: execution)
                        : try GroupedStrategy.run([stat], in: db, execution: execution)
                    return Partial(results: [(position, results[0])])
                }
            }
        }
        units.append(
            Unit(table: ChangeCounters.table) { db in
                Partial(stamp: try ChangeCounters.read(db, tables: tables).map(StatsCache.Stamp.init))
            })
        return units
    }

    /// Computes `stats` over up to `width` connections of `pool`.
    ///
    /// - returns: one result per stat, in order, and the snapshot's change
    ///   counters; nil when the work does not split (one unit, `width` < 2)
    ///   or no shared snapshot could be had.
    static func run(
        _ stats: [Stat], strategy: Strategy, pool: DatabasePool, width: Int, tables: Set<String>,
        execution: Execution
    ) throws -> ([StatResult], StatsCache.Stamp?)? {
        let units = units(stats, strategy: strategy, tables: tables, execution: execution)
        guard units.count > 2, let outputs = try fanOut(units, pool: pool, width: width, execution: execution) else { return nil }
        var results = [StatResult?](repeating: nil, count: stats.count)
        var stamp: StatsCache.Stamp?
        for partial in outputs {
            for (position, result) in partial.results { results[position] = result }
            if let found = partial.stamp { stamp = found }
        }
        return (results.compactMap { $0 }, stamp)
    }

    /// Runs `units` on up to `width` lanes that share one snapshot, retrying
    /// when a commit lands in between.
    ///
    /// - returns: every unit's output (in lane order), or nil when the work
    ///   does not split or no shared snapshot could be had.
    package static func fanOut<Output>(
        _ units: [Unit<Output>], pool: DatabasePool, width maximumWidth: Int,
        execution: Execution
    ) throws -> [Output]? {
        let width = min(maximumWidth, units.count, pool.configuration.maximumReaderCount)
        guard width >= 2 else { return nil }
        let lanes = try assign(units, width: width, pool: pool)
        let laneWork: [SnapshotFanOut.Lane<[Output]>] = lanes.map { lane in
            { db in try execution.running(on: db.sqliteConnection) { try lane.map { try $0.run(db) } } }
        }
        for _ in 0..<attempts {
            try execution.checkCancellation()
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
                guard table != ChangeCounters.table else { estimates[table] = 0; continue }
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
