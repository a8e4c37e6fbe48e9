import Foundation
import GRDB
import Logging

/// Computes Tally's stats over a database, each answer from one snapshot.
///
/// For example:
///
/// ```swift
/// let engine = TallyEngine(reader: try TallyDatabase.openReadOnly(path: "tally.sqlite"))
/// let dashboard = try await engine.dashboard()
/// let revenue = try await engine.revenue(RevenueQuery(period: "month", timeZone: "Europe/Paris"))
/// ```
///
/// Every number of one answer comes from one snapshot. On a `DatabasePool`,
/// the independent parts of an answer (table scans, per-stat queries) run on
/// up to `maximumParallelism` connections whose read transactions are
/// checked to share one snapshot (`SnapshotFanOut`); otherwise, or when a
/// commit keeps landing in between, they run in one read transaction.
public struct TallyEngine: Sendable {
    public let reader: any DatabaseReader
    public let logger: Logger
    /// Connections one answer may use at once; 1 runs everything on one.
    public let maximumParallelism: Int

    public init(reader: any DatabaseReader, logger: Logger = Logger(label: "tally.engine"),
                maximumParallelism: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.reader = reader
        self.logger = logger
        self.maximumParallelism = max(1, maximumParallelism)
    }

    /// Computes stats from one snapshot, in parallel where the reader is a
    /// pool and the work splits. Blocking; see `background(_:)`.
    public func compute(_ stats: [Stat], strategy: Strategy) throws -> [StatResult] {
        try stats.forEach { try $0.validate() }
        if maximumParallelism > 1, let pool = reader as? DatabasePool,
           let results = try ParallelStats.run(stats, strategy: strategy, pool: pool, width: maximumParallelism) {
            return results
        }
        return try reader.read { db in try Self.run(stats, in: db, strategy: strategy) }
    }

    /// Runs blocking database work off Swift's cooperative thread pool.
    func background<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try work() })
            }
        }
    }

    // MARK: - Answers

    public func dashboard(strategy: Strategy = .singlePass) async throws -> Dashboard {
        let started = ContinuousClock.now
        let engine = self
        var dashboard = Dashboard(results: try await background { try engine.compute(Dashboard.stats, strategy: strategy) })
        dashboard.meta = ResponseMeta(strategy: strategy.rawValue, cache: "miss",
                                      computedAt: Self.timestamp(Date()), durationMs: Self.milliseconds(since: started))
        EngineMetrics.record(request: "dashboard", strategy: strategy.rawValue, nanoseconds: Self.nanoseconds(since: started))
        logger.debug("dashboard", metadata: ["strategy": "\(strategy.rawValue)", "ms": "\(dashboard.meta.durationMs)"])
        return dashboard
    }

    public func revenue(_ query: RevenueQuery, strategy: Strategy = .singlePass) async throws -> Revenue {
        let started = ContinuousClock.now
        var revenue = try await reader.read { db in try Self.revenue(query, in: db, strategy: strategy) }
        revenue.meta = Revenue.Meta(cache: "miss", durationMs: Self.milliseconds(since: started))
        EngineMetrics.record(request: "revenue", strategy: strategy.rawValue, nanoseconds: Self.nanoseconds(since: started))
        return revenue
    }

    /// Active modules per organization (all of them when `organizations` is nil).
    public func moduleCounts(organizations ids: [String]? = nil, strategy: ModuleStrategy = .batched) async throws -> ModuleCounts {
        let started = ContinuousClock.now
        let organizations = try await reader.read { db in try ModuleCounts.compute(ids: ids, strategy: strategy, in: db) }
        EngineMetrics.record(request: "modules", strategy: strategy.rawValue, nanoseconds: Self.nanoseconds(since: started))
        return ModuleCounts(organizations: organizations,
                            meta: ResponseMeta(strategy: strategy.rawValue, cache: "miss",
                                               computedAt: Self.timestamp(Date()), durationMs: Self.milliseconds(since: started)))
    }

    /// Any stats, your own included, computed from one snapshot.
    public func run(_ stats: [Stat], strategy: Strategy = .singlePass) async throws -> [StatResult] {
        let started = ContinuousClock.now
        let engine = self
        let results = try await background { try engine.compute(stats, strategy: strategy) }
        EngineMetrics.record(request: "stats", strategy: strategy.rawValue, nanoseconds: Self.nanoseconds(since: started))
        return results
    }

    // MARK: - Inside a transaction

    /// Runs stats on `db`, which the caller keeps inside one read transaction.
    ///
    /// - returns: one result per stat, in order.
    public static func run(_ stats: [Stat], in db: Database, strategy: Strategy) throws -> [StatResult] {
        try stats.forEach { try $0.validate() }
        switch strategy {
        case .singlePass:
            var results: [Stat: StatResult] = [:]
            for scan in SinglePassScanner.plan(stats) {
                let (scanResults, rows) = try SinglePassScanner.run(scan, in: db)
                EngineMetrics.rowsScanned.increment(by: Int64(rows))
                for result in scanResults { results[result.stat] = result }
            }
            return stats.map { results[$0]! }
        case .grouped:
            return try GroupedStrategy.run(stats, in: db)
        case .naive:
            return try NaiveStrategy.run(stats, in: db)
        }
    }

    public static func dashboard(in db: Database, strategy: Strategy) throws -> Dashboard {
        Dashboard(results: try run(Dashboard.stats, in: db, strategy: strategy))
    }

    public static func revenue(_ query: RevenueQuery, in db: Database, strategy: Strategy) throws -> Revenue {
        let grid = try query.grid(in: db)
        let hasRange = grid.from < grid.to || query.from != nil || query.to != nil
        let result = try run([RevenueQuery.stat(grid: grid)], in: db, strategy: strategy)[0]
        return Revenue(grid: grid, result: result, hasRange: hasRange)
    }

    /// The floor of `single-pass`: steps the same `SELECT`s, reading every
    /// column, aggregating nothing. Returns the rows read.
    public static func floor(_ stats: [Stat], in db: Database) throws -> Int {
        try SinglePassScanner.plan(stats).reduce(0) { $0 + (try SinglePassScanner.floor($1, in: db)).rows }
    }

    /// The `SELECT`s `single-pass` runs for these stats, one per table.
    public static func singlePassSQL(_ stats: [Stat]) -> [String] {
        SinglePassScanner.plan(stats).map(\.sql)
    }

    // MARK: - Time

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func nanoseconds(since start: ContinuousClock.Instant) -> Int64 {
        let d = ContinuousClock.now - start
        return d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        (Double(nanoseconds(since: start)) / 1_000).rounded() / 1_000
    }
}
