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
/// Every strategy runs all the queries of one answer inside one read
/// transaction on one connection. SQLite on Linux is built without
/// `SQLITE_ENABLE_SNAPSHOT`, so queries spread over several pooled
/// connections could each see a different commit; one connection is the only
/// way to keep "bookings total = sum of byStatus" true under concurrent writes.
/// Concurrency comes from serving several requests at once on the pool.
public struct TallyEngine: Sendable {
    public let reader: any DatabaseReader
    public let logger: Logger

    public init(reader: any DatabaseReader, logger: Logger = Logger(label: "tally.engine")) {
        self.reader = reader
        self.logger = logger
    }

    // MARK: - Answers

    public func dashboard(strategy: Strategy = .singlePass) async throws -> Dashboard {
        let started = ContinuousClock.now
        var dashboard = try await reader.read { db in try Self.dashboard(in: db, strategy: strategy) }
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
        let results = try await reader.read { db in try Self.run(stats, in: db, strategy: strategy) }
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
