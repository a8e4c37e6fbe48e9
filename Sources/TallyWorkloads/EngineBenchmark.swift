public import Foundation
public import GRDB
public import TallyCore

/// Measures the engine's strategies side by side on one database, in the
/// same run, so that results are ratios against baselines measured under the
/// same conditions (page cache, CPU frequency), never absolute promises.
///
/// `tally bench` and the package-benchmark suite (`Benchmarks/`) time these
/// same workloads.
public enum EngineBenchmark {
    /// The timings of one case.
    public struct Case: Sendable, Codable, Equatable {
        public var name: String
        /// Milliseconds of each run.
        public var samples: [Double]

        public var median: Double {
            let s = samples.sorted()
            guard !s.isEmpty else { return 0 }
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        public var min: Double { samples.min() ?? 0 }
        public var max: Double { samples.max() ?? 0 }
    }

    /// A workload: a name and what one run of it does.
    public struct Workload: Sendable {
        public let name: String
        public let run: @Sendable (TallyDatabase) async throws -> Void

        public init(name: String, run: @escaping @Sendable (TallyDatabase) async throws -> Void) {
            self.name = name
            self.run = run
        }

        /// A workload run inside one read transaction on one connection,
        /// with a fresh `Execution` that reads through the database's
        /// schema map, as the engine's own computations do.
        package static func transaction(_ name: String, _ body: @escaping @Sendable (Database, Execution) throws -> Void) -> Workload {
            Workload(name: name) { database in
                try await database.reader.read { try body($0, Execution(mapping: database.mapping)) }
            }
        }
    }

    /// The floor of `single-pass`: steps the same `SELECT`s, reading every
    /// column, aggregating nothing. Returns the rows read.
    package static func floor(_ stats: [Stat], in db: Database, mapping: MappedSchema?) throws -> Int {
        try SinglePassScanner.plan(stats, mapping: mapping).reduce(0) { $0 + (try SinglePassScanner.floor($1, in: db)).rows }
    }

    /// The parallel floor: the single-pass scans of `stats`, spread over the
    /// pool as the engine spreads them. Nil when the work does not split.
    static func parallelFloor(_ stats: [Stat], pool: DatabasePool, width: Int, mapping: MappedSchema?) async throws -> Int? {
        let units = SinglePassScanner.plan(stats, mapping: mapping).map { scan in
            ParallelStats.Unit(table: scan.table) { db in try SinglePassScanner.floor(scan, in: db).rows }
        }
        return try await runOnThread(named: "tally.bench-floor") {
            try ParallelStats.fanOut(units, pool: pool, width: width, execution: Execution())?.reduce(0, +)
        }
    }

    /// The `SELECT`s `single-pass` runs for these stats, one per table.
    public static func singlePassSQL(_ stats: [Stat]) -> [String] {
        SinglePassScanner.plan(stats).map { $0.sql() }
    }

    /// The dashboard with each strategy, and the floor: the single-pass
    /// SELECTs stepped with every column read and nothing aggregated. Each
    /// comes twice: as the engine runs it (tables spread over the pool's
    /// connections, one snapshot) and on one connection (`-1conn`).
    ///
    /// - parameter rollups: adds `dashboard.rollup` (the file must have
    ///   rollups enabled), through an engine as a server runs it, uncached.
    public static func dashboardWorkloads(
        parallelism: Int = ProcessInfo.processInfo.activeProcessorCount,
        rollups: Bool = false
    ) -> [Workload] {
        let stats = Dashboard.stats
        var workloads: [Workload] = [
            Workload(name: "dashboard.floor") { database in
                if let pool = database.reader as? DatabasePool, parallelism > 1,
                    try await parallelFloor(stats, pool: pool, width: parallelism, mapping: database.mapping) != nil
                {
                    return
                }
                _ = try await database.reader.read { try floor(stats, in: $0, mapping: database.mapping) }
            }
        ]
        for strategy in Strategy.scans {
            workloads.append(
                Workload(name: "dashboard.\(strategy.rawValue)") { database in
                    _ = try await TallyEngine(database: database, cache: .disabled, maximumParallelism: parallelism)
                        .compute(stats, strategy: strategy, kind: "bench")
                })
        }
        if rollups { workloads.append(rollupWorkload("dashboard.rollup", stats)) }
        workloads.append(.transaction("dashboard-1conn.floor") { _ = try floor(stats, in: $0, mapping: $1.mapping) })
        for strategy in Strategy.scans {
            workloads.append(
                .transaction("dashboard-1conn.\(strategy.rawValue)") { _ = try TallyEngine.dashboard(in: $0, strategy: strategy, execution: $1) })
        }
        return workloads
    }

    /// Revenue per `period` in `zone`, each strategy and the floor: over the
    /// data's range, or over its last `lastDays` days when given.
    public static func revenueWorkloads(
        period: Period, zone: Zone, lastDays: Int? = nil,
        database: TallyDatabase? = nil, rollups: Bool = false
    ) async throws -> [Workload] {
        var query = try RevenueQuery(period: period, zone: zone)
        if let lastDays, let database,
            let last = try await database.reader.read({ try Int64.fetchOne($0, sql: "SELECT MAX(createdAt) FROM payments") })
        {
            query = try RevenueQuery(period: period, zone: zone, from: last - Int64(lastDays) * 86_400_000, to: last + 1)
        }
        let revenueQuery = query
        let prefix = "revenue.\(period.rawValue)\(lastDays.map { "-last\($0)d" } ?? "").\(zone.identifier.replacingOccurrences(of: "/", with: "-"))"
        return [
            Workload.transaction("\(prefix).floor") { db, execution in
                _ = try floor([RevenueQuery.stat(grid: try revenueQuery.grid(in: db))], in: db, mapping: execution.mapping)
            }
        ]
            + Strategy.scans.map { strategy in
                Workload.transaction("\(prefix).\(strategy.rawValue)") {
                    _ = try TallyEngine.revenue(revenueQuery, in: $0, strategy: strategy, execution: $1)
                }
            }
            + (rollups
                ? [
                    Workload(name: "\(prefix).rollup") { database in
                        _ = try await TallyEngine(database: database, cache: .disabled).revenue(revenueQuery, strategy: .rollup)
                    }
                ] : [])
    }

    /// One rollup case: `stats` through an engine (its rollup catalog
    /// cached, as in a server), uncached.
    static func rollupWorkload(_ name: String, _ stats: [Stat]) -> Workload {
        Workload(name: name) { database in
            _ = try await TallyEngine(database: database, cache: .disabled).compute(stats, strategy: .rollup, kind: "bench")
        }
    }

    /// Per table: the dashboard stats of that table in one scan, against the
    /// floor of that scan: the single-pass overhead, table by table.
    public static func tableWorkloads() -> [Workload] {
        var workloads: [Workload] = []
        for table in ["bookings", "payments", "users"] {
            let stats = Dashboard.stats.filter { $0.table == table }
            workloads.append(.transaction("scan-\(table).floor") { _ = try floor(stats, in: $0, mapping: $1.mapping) })
            workloads.append(
                .transaction("scan-\(table).single-pass") { _ = try TallyEngine.run(stats, in: $0, strategy: .singlePass, execution: $1) })
        }
        return workloads
    }

    /// Module counts of every organization, batched and per organization.
    public static func moduleWorkloads(rollups: Bool = false) -> [Workload] {
        [ModuleStrategy.batched, .perOrg].map { strategy in
            Workload.transaction("modules.\(strategy.rawValue)") {
                _ = try TallyEngine.moduleCounts(ids: nil, strategy: strategy.strategy, in: $0, execution: $1)
            }
        }
            + (rollups
                ? [
                    Workload(name: "modules.rollup") { database in
                        _ = try await TallyEngine(database: database, cache: .disabled).moduleCounts(strategy: .rollup)
                    }
                ] : [])
    }

    /// Runs every workload `runs` times, interleaved (run 1 of each, then run
    /// 2 of each, …) after one warm-up run each.
    ///
    /// - parameter budget: a case whose warm-up run takes longer than this
    ///   many seconds is not repeated: its warm-up is its one sample (naive
    ///   revenue per day without an index is a full scan per day).
    public static func measure(
        _ workloads: [Workload], database: TallyDatabase, runs: Int,
        budget: Double = .infinity
    ) async throws -> [Case] {
        var cases = workloads.map { Case(name: $0.name, samples: []) }
        var repeated = Array(repeating: true, count: workloads.count)
        for (i, workload) in workloads.enumerated() {
            let warmUp = try await milliseconds { try await workload.run(database) }
            if warmUp > budget * 1000 {
                repeated[i] = false
                cases[i].samples = [warmUp]
            }
        }
        for _ in 0..<runs {
            for (i, workload) in workloads.enumerated() where repeated[i] {
                cases[i].samples.append(try await milliseconds { try await workload.run(database) })
            }
        }
        return cases
    }

    private static func milliseconds(_ body: () async throws -> Void) async rethrows -> Double {
        let start = ContinuousClock.now
        try await body()
        return (ContinuousClock.now - start) / .milliseconds(1)
    }
}
