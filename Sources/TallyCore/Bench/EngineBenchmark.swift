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

    /// A workload: a name and what one run of it does inside a read transaction.
    public struct Workload: Sendable {
        public let name: String
        public let run: @Sendable (Database) throws -> Void

        public init(name: String, run: @escaping @Sendable (Database) throws -> Void) {
            self.name = name
            self.run = run
        }
    }

    /// The dashboard with each strategy, and the floor: the single-pass SELECTs
    /// stepped with every column read and nothing aggregated.
    public static func dashboardWorkloads() -> [Workload] {
        [Workload(name: "dashboard.floor") { _ = try TallyEngine.floor(Dashboard.stats, in: $0) }]
            + Strategy.allCases.map { strategy in
                Workload(name: "dashboard.\(strategy.rawValue)") { _ = try TallyEngine.dashboard(in: $0, strategy: strategy) }
            }
    }

    /// Revenue per `period` in `zone` over the data's range, each strategy and the floor.
    public static func revenueWorkloads(period: Period, zone: Zone) -> [Workload] {
        let query = try! RevenueQuery(period: period, zone: zone)
        let prefix = "revenue.\(period.rawValue).\(zone.identifier.replacingOccurrences(of: "/", with: "-"))"
        return [Workload(name: "\(prefix).floor") { db in
            _ = try TallyEngine.floor([RevenueQuery.stat(grid: try query.grid(in: db))], in: db)
        }] + Strategy.allCases.map { strategy in
            Workload(name: "\(prefix).\(strategy.rawValue)") { _ = try TallyEngine.revenue(query, in: $0, strategy: strategy) }
        }
    }

    /// Module counts of every organization, batched and per organization.
    public static func moduleWorkloads() -> [Workload] {
        ModuleStrategy.allCases.map { strategy in
            Workload(name: "modules.\(strategy.rawValue)") { _ = try ModuleCounts.compute(ids: nil, strategy: strategy, in: $0) }
        }
    }

    /// Runs every workload `runs` times, interleaved (run 1 of each, then run
    /// 2 of each, …) after one warm-up run each, each run in its own read
    /// transaction.
    public static func measure(_ workloads: [Workload], reader: any DatabaseReader, runs: Int) throws -> [Case] {
        var cases = workloads.map { Case(name: $0.name, samples: []) }
        for workload in workloads { try reader.read { try workload.run($0) } }
        for _ in 0..<runs {
            for (i, workload) in workloads.enumerated() {
                let start = ContinuousClock.now
                try reader.read { try workload.run($0) }
                let d = ContinuousClock.now - start
                cases[i].samples.append(Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15)
            }
        }
        return cases
    }
}
