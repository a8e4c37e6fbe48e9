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
    /// Which cache the engine's answers go through.
    public enum CacheChoice: Sendable {
        /// A `StatsCache` with the default policy, validating against the reader's file.
        case automatic
        /// No cache: every answer is computed (`meta.cache` is `bypass`).
        case disabled
        /// A given cache, e.g. one shared with a writer through `observe(writer:)`.
        case using(StatsCache)
    }

    public let reader: any DatabaseReader
    public let logger: Logger
    /// Connections one answer may use at once; 1 runs everything on one.
    public let maximumParallelism: Int
    /// The cache in front of `dashboard`, `revenue` and `moduleCounts`, if any.
    public let cache: StatsCache?
    /// A computation slower than this many seconds is logged once at warning,
    /// with its SQL and a plan summary (the seeds' "analyse slow queries").
    public let slowQueryThreshold: Double
    private let slowQueries = SlowQueryLog()
    /// Pauses this engine's reads briefly when the WAL grows too large, so
    /// that a writer's checkpoints are never starved (see `CheckpointGap`).
    let checkpointGap: CheckpointGap?
    /// One permit per pooled reader: an engine read waits at most
    /// `readerTimeout` seconds for one (the seeds' "pool timeout").
    let permits: ReaderPermits

    public init(reader: any DatabaseReader, cache: CacheChoice = .automatic, logger: Logger = Logger(label: "tally.engine"),
                maximumParallelism: Int = ProcessInfo.processInfo.activeProcessorCount, slowQueryThreshold: Double = 0.2,
                readerTimeout: TimeInterval = 5) {
        self.reader = reader
        self.logger = logger
        self.slowQueryThreshold = slowQueryThreshold
        checkpointGap = reader.path == ":memory:" || reader.path.isEmpty ? nil : CheckpointGap(databasePath: reader.path)
        permits = ReaderPermits(count: reader.configuration.maximumReaderCount, timeout: readerTimeout)
        self.maximumParallelism = max(1, maximumParallelism)
        switch cache {
        case .disabled:
            self.cache = nil
        case .using(let cache):
            self.cache = cache
        case .automatic:
            do {
                self.cache = try StatsCache(path: reader.path)
            } catch {
                logger.warning("cache disabled: cannot watch the database for changes", metadata: ["error": "\(error)"])
                self.cache = nil
            }
        }
    }

    /// Goes through the cache unless `useCache` is false or there is none.
    private func cached<T: Sendable & Encodable>(
        _ key: String, tables: Set<String>, lifetime: CachePolicy.Lifetime, useCache: Bool,
        compute: @escaping @Sendable () async throws -> T
    ) async throws -> (T, StatsCache.Status) {
        guard useCache, let cache else { return (try await compute(), .bypass) }
        return try await cache.value(for: key, tables: tables, lifetime: lifetime, load: compute) { value in
            (try? JSONEncoder().encode(value).count) ?? 4096
        }
    }

    /// Computes stats from one snapshot, in parallel where the reader is a
    /// pool and the work splits. Blocking; see `background(_:)`.
    public func compute(_ stats: [Stat], strategy: Strategy) throws -> [StatResult] {
        try stats.forEach { try $0.validate() }
        return try gated {
            if maximumParallelism > 1, let pool = reader as? DatabasePool {
                // Fan out over the readers that are free right now, never waiting for more.
                let extra = permits.tryAcquire(maximumParallelism - 1)
                defer { permits.release(extra) }
                if extra > 0, let results = try ParallelStats.run(stats, strategy: strategy, pool: pool, width: extra + 1) {
                    return results
                }
            }
            return try reader.read { db in try Self.run(stats, in: db, strategy: strategy) }
        }
    }

    /// A read transaction through the engine's checkpoint gap: what any
    /// other read by an embedding server (pages, health) should use too.
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try gated { try reader.read(body) }
    }

    /// `read(_:)` off Swift's cooperative thread pool (see `background(_:)`),
    /// for async callers such as a server's handlers.
    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await background { try self.read(body) }
    }

    private func gated<T>(_ body: () throws -> T) throws -> T {
        try permits.withPermit {
            guard let checkpointGap else { return try body() }
            return try checkpointGap.read(body)
        }
    }

    /// Runs blocking database work off Swift's cooperative thread pool.
    public func background<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try work() })
            }
        }
    }

    // MARK: - Answers

    // MARK: - Cache keys (also the basis of HTTP ETags)

    public static func dashboardKey(strategy: Strategy) -> String { "dashboard|\(strategy.rawValue)" }

    public static func revenueKey(_ query: RevenueQuery, strategy: Strategy) -> String {
        "revenue|\(query.period.rawValue)|\(query.zone.identifier)|\(query.from.map(String.init) ?? "open")|"
            + "\(query.to.map(String.init) ?? "open")|\(strategy.rawValue)"
    }

    /// The dashboard, through the cache unless `useCache` is false.
    public func dashboard(strategy: Strategy = .singlePass, useCache: Bool = true) async throws -> Dashboard {
        let started = ContinuousClock.now
        let engine = self
        let tables = Set(Dashboard.stats.map(\.table))
        var (dashboard, status) = try await cached(Self.dashboardKey(strategy: strategy), tables: tables,
                                                   lifetime: cache?.policy.dashboard ?? .init(ttl: 0), useCache: useCache) {
            let computeStarted = ContinuousClock.now
            var dashboard = Dashboard(results: try await engine.background { try engine.compute(Dashboard.stats, strategy: strategy) })
            dashboard.meta = ResponseMeta(strategy: strategy.rawValue, computedAt: Self.timestamp(Date()),
                                          durationMs: Self.milliseconds(since: computeStarted))
            EngineMetrics.record(request: "dashboard", strategy: strategy.rawValue, nanoseconds: Self.nanoseconds(since: computeStarted))
            engine.noteDuration(of: "dashboard", strategy: strategy, since: computeStarted) { Dashboard.stats }
            return dashboard
        }
        dashboard.meta.cache = status.rawValue
        dashboard.meta.durationMs = Self.milliseconds(since: started)
        logger.debug("dashboard", metadata: ["strategy": "\(strategy.rawValue)", "cache": "\(status.rawValue)", "ms": "\(dashboard.meta.durationMs)"])
        return dashboard
    }

    /// Revenue per period, through the cache unless `useCache` is false. A
    /// range that ended in the past lives in the cache until payments change.
    public func revenue(_ query: RevenueQuery, strategy: Strategy = .singlePass, useCache: Bool = true) async throws -> Revenue {
        let started = ContinuousClock.now
        let engine = self
        let key = Self.revenueKey(query, strategy: strategy)
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let closed = query.to.map { $0 <= nowMillis } ?? false
        let lifetime = closed ? cache?.policy.closedRange : cache?.policy.revenue
        var (revenue, status) = try await cached(key, tables: ["payments"], lifetime: lifetime ?? .init(ttl: 0), useCache: useCache) {
            let computeStarted = ContinuousClock.now
            let revenue = try await engine.read { db in try Self.revenue(query, in: db, strategy: strategy) }
            EngineMetrics.record(request: "revenue", strategy: strategy.rawValue, nanoseconds: Self.nanoseconds(since: computeStarted))
            engine.noteDuration(of: "revenue", strategy: strategy, since: computeStarted) {
                (try? engine.reader.read { [RevenueQuery.stat(grid: try query.grid(in: $0))] }) ?? []
            }
            return revenue
        }
        revenue.meta = Revenue.Meta(cache: status.rawValue, durationMs: Self.milliseconds(since: started))
        return revenue
    }

    /// Active modules per organization (all of them when `organizations` is
    /// nil), through the cache unless `useCache` is false.
    public func moduleCounts(organizations ids: [String]? = nil, strategy: ModuleStrategy = .batched,
                             useCache: Bool = true) async throws -> ModuleCounts {
        let started = ContinuousClock.now
        let engine = self
        let key = "modules|\(strategy.rawValue)|" + (ids.map { Array(Set($0)).sorted().joined(separator: "\u{1F}") } ?? "*")
        var (counts, status) = try await cached(key, tables: ["organizations", "modules"],
                                                lifetime: cache?.policy.perEntity ?? .init(ttl: 0), useCache: useCache) {
            let computeStarted = ContinuousClock.now
            let organizations = try await engine.read { db in try ModuleCounts.compute(ids: ids, strategy: strategy, in: db) }
            EngineMetrics.record(request: "modules", strategy: strategy.rawValue, nanoseconds: Self.nanoseconds(since: computeStarted))
            return ModuleCounts(organizations: organizations,
                                meta: ResponseMeta(strategy: strategy.rawValue, computedAt: Self.timestamp(Date()),
                                                   durationMs: Self.milliseconds(since: computeStarted)))
        }
        counts.meta.cache = status.rawValue
        counts.meta.durationMs = Self.milliseconds(since: started)
        return counts
    }

    /// Any stats, your own included, computed from one snapshot.
    public func run(_ stats: [Stat], strategy: Strategy = .singlePass) async throws -> [StatResult] {
        let started = ContinuousClock.now
        let engine = self
        let results = try await background { try engine.compute(stats, strategy: strategy) }
        EngineMetrics.record(request: "stats", strategy: strategy.rawValue, nanoseconds: Self.nanoseconds(since: started))
        return results
    }

    /// Logs a slow computation once per kind and strategy, with its SQL and plans.
    func noteDuration(of kind: String, strategy: Strategy, since start: ContinuousClock.Instant, stats: () -> [Stat]) {
        let seconds = Double(Self.nanoseconds(since: start)) / 1e9
        guard seconds > slowQueryThreshold, slowQueries.firstTime("\(kind)|\(strategy.rawValue)") else { return }
        let stats = stats()
        let plans = (try? reader.read { try QueryPlanExplainer.explain(stats, strategy: strategy, in: $0) }) ?? []
        let summary = plans.map { plan in
            let access = plan.indexes.isEmpty ? "full scan of \(plan.fullScans.joined(separator: ", "))" : "index \(plan.indexes.joined(separator: ", "))"
            return "\(plan.sql) -- \(access)\(plan.tempBTree ? ", temp B-tree" : "")"
        }.joined(separator: " | ")
        logger.warning("slow query", metadata: [
            "kind": "\(kind)", "strategy": "\(strategy.rawValue)",
            "ms": "\((seconds * 1e6).rounded() / 1e3)", "thresholdMs": "\(slowQueryThreshold * 1e3)", "sql": "\(summary)",
        ])
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

/// Remembers which slow computations were logged, so each is logged once.
final class SlowQueryLog: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: Set<String> = []

    func firstTime(_ key: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return seen.insert(key).inserted
    }
}
