import Foundation
import GRDB

/// Measures the engine's strategies side by side on one database, in the
/// same run, so that results are ratios against baselines measured under the
/// same conditions (page cache, CPU frequency), never absolute promises.
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
        public let run: @Sendable (any DatabaseReader) throws -> Void

        public init(name: String, run: @escaping @Sendable (any DatabaseReader) throws -> Void) {
            self.name = name
            self.run = run
        }

        /// A workload run inside one read transaction on one connection.
        public static func transaction(_ name: String, _ body: @escaping @Sendable (Database) throws -> Void) -> Workload {
            Workload(name: name) { reader in try reader.read { try body($0) } }
        }
    }

    /// The dashboard with each strategy, and the floor: the single-pass
    /// SELECTs stepped with every column read and nothing aggregated. Each
    /// comes twice: as the engine runs it (tables spread over the pool's
    /// connections, one snapshot) and on one connection (`-1conn`).
    public static func dashboardWorkloads(parallelism: Int = ProcessInfo.processInfo.activeProcessorCount) -> [Workload] {
        let stats = Dashboard.stats
        var workloads: [Workload] = [
            Workload(name: "dashboard.floor") { reader in
                if let pool = reader as? DatabasePool, parallelism > 1,
                   try ParallelStats.floor(stats, pool: pool, width: parallelism) != nil { return }
                _ = try reader.read { try TallyEngine.floor(stats, in: $0) }
            },
        ]
        for strategy in Strategy.allCases {
            workloads.append(Workload(name: "dashboard.\(strategy.rawValue)") { reader in
                _ = try TallyEngine(reader: reader, cache: .disabled, maximumParallelism: parallelism).compute(stats, strategy: strategy)
            })
        }
        workloads.append(.transaction("dashboard-1conn.floor") { _ = try TallyEngine.floor(stats, in: $0) })
        for strategy in Strategy.allCases {
            workloads.append(.transaction("dashboard-1conn.\(strategy.rawValue)") { _ = try TallyEngine.dashboard(in: $0, strategy: strategy) })
        }
        return workloads
    }

    /// Revenue per `period` in `zone`, each strategy and the floor: over the
    /// data's range, or over its last `lastDays` days when given.
    public static func revenueWorkloads(period: Period, zone: Zone, lastDays: Int? = nil, reader: (any DatabaseReader)? = nil) -> [Workload] {
        var revenueQuery = try! RevenueQuery(period: period, zone: zone)
        if let lastDays, let reader,
           let last = try? reader.read({ try Int64.fetchOne($0, sql: "SELECT MAX(createdAt) FROM payments") }) {
            revenueQuery = try! RevenueQuery(period: period, zone: zone, from: last - Int64(lastDays) * 86_400_000, to: last + 1)
        }
        let query = revenueQuery
        let prefix = "revenue.\(period.rawValue)\(lastDays.map { "-last\($0)d" } ?? "").\(zone.identifier.replacingOccurrences(of: "/", with: "-"))"
        return [Workload.transaction("\(prefix).floor") { db in
            _ = try TallyEngine.floor([RevenueQuery.stat(grid: try query.grid(in: db))], in: db)
        }] + Strategy.allCases.map { strategy in
            Workload.transaction("\(prefix).\(strategy.rawValue)") { _ = try TallyEngine.revenue(query, in: $0, strategy: strategy) }
        }
    }

    /// Per table: the dashboard stats of that table in one scan, against the
    /// floor of that scan: the single-pass overhead, table by table.
    public static func tableWorkloads() -> [Workload] {
        var workloads: [Workload] = []
        for table in ["bookings", "payments", "users"] {
            let stats = Dashboard.stats.filter { $0.table == table }
            workloads.append(.transaction("scan-\(table).floor") { _ = try TallyEngine.floor(stats, in: $0) })
            workloads.append(.transaction("scan-\(table).single-pass") { _ = try TallyEngine.run(stats, in: $0, strategy: .singlePass) })
        }
        return workloads
    }

    /// Module counts of every organization, batched and per organization.
    public static func moduleWorkloads() -> [Workload] {
        ModuleStrategy.allCases.map { strategy in
            Workload.transaction("modules.\(strategy.rawValue)") { _ = try ModuleCounts.compute(ids: nil, strategy: strategy, in: $0) }
        }
    }

    /// Runs every workload `runs` times, interleaved (run 1 of each, then run
    /// 2 of each, …) after one warm-up run each, each run in its own read
    /// transaction.
    ///
    /// - parameter budget: a case whose warm-up run takes longer than this
    ///   many seconds is not repeated: its warm-up is its one sample (naive
    ///   revenue per day without an index is a full scan per day).
    public static func measure(_ workloads: [Workload], reader: any DatabaseReader, runs: Int,
                               budget: Double = .infinity) throws -> [Case] {
        var cases = workloads.map { Case(name: $0.name, samples: []) }
        var repeated = Array(repeating: true, count: workloads.count)
        for (i, workload) in workloads.enumerated() {
            let warmUp = try milliseconds { try workload.run(reader) }
            if warmUp > budget * 1000 {
                repeated[i] = false
                cases[i].samples = [warmUp]
            }
        }
        for _ in 0..<runs {
            for (i, workload) in workloads.enumerated() where repeated[i] {
                cases[i].samples.append(try milliseconds { try workload.run(reader) })
            }
        }
        return cases
    }

    private static func milliseconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        return (ContinuousClock.now - start) / .milliseconds(1)
    }
}
