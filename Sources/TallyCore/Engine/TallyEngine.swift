public import Foundation
public import GRDB
public import Logging
import Metrics

/// Computes stats over a `TallyDatabase`, each answer from one snapshot.
///
/// For example:
///
/// ```swift
/// let engine = TallyEngine(database: try TallyDatabase.openReadOnly(path: "tally.sqlite"))
/// let dashboard = try await engine.dashboard()
/// let revenue = try await engine.revenue(RevenueQuery(period: "month", timeZone: "Europe/Paris"))
/// ```
///
/// Reads go through the pool's async API: a read waits (suspended, never
/// blocking a thread) for one of the database's reader permits, at most the
/// pool timeout, and cancelling the task interrupts its query. On a
/// `DatabasePool` with free readers, the independent parts of an answer
/// (table scans, per-stat queries) run on several connections whose read
/// transactions are checked to share one snapshot (`SnapshotFanOut`), on
/// threads of their own; otherwise, or when a commit keeps landing in
/// between, on one connection.
///
/// An engine is a cheap value: make as many as needed over one database.
public struct TallyEngine: Sendable {
    /// Which cache the engine's answers go through.
    public enum CacheChoice: Sendable {
        /// The database's shared cache (`TallyDatabase.cache`).
        case shared
        /// No cache: every answer is computed (`meta.cache` is `bypass`).
        case disabled
        /// A cache of your own.
        case using(StatsCache)
    }

    public let database: TallyDatabase
    /// The cache in front of the answers, if any.
    public let cache: StatsCache?
    public let logger: Logger
    /// Connections one answer may use at once; 1 runs everything on one.
    public let maximumParallelism: Int
    /// A computation slower than this is logged once at warning with its SQL
    /// and plan summary (the seeds' "analyse slow queries"); nil: never.
    public let slowQueryThreshold: Duration?

    public init(
        database: TallyDatabase, cache: CacheChoice = .shared, logger: Logger = Logger(label: "tally.engine"),
        maximumParallelism: Int = ProcessInfo.processInfo.activeProcessorCount, slowQueryThreshold: Duration? = nil
    ) {
        self.database = database
        self.logger = logger
        self.maximumParallelism = max(1, maximumParallelism)
        self.slowQueryThreshold = slowQueryThreshold
        switch cache {
        case .shared: self.cache = database.cache
        case .disabled: self.cache = nil
        case .using(let cache): self.cache = cache
        }
    }

    /// What one computation produced.
    package struct Computation: Sendable {
        package var results: [StatResult]
        /// The strategy that ran (never `auto`).
        package var strategy: Strategy
        package var statements: Int
        /// The change counters of the stats' tables in the computation's snapshot.
        package var stamp: StatsCache.Stamp?
        package var duration: Duration
        /// `meta.strategy`: the strategy's name, or `rollup+single-pass`.
        package var label: String
    }

    /// Any stats, your own included, computed from one snapshot.
    ///
    /// - returns: one result per stat, in order (a stat given twice is
    ///   answered twice).
    public func run(_ stats: [Stat], strategy: Strategy = .auto) async throws -> [StatResult] {
        try await compute(stats, strategy: strategy, kind: "stats").results
    }

    /// Computes `stats` from one snapshot, recording metrics and slow queries.
    package func compute(_ stats: [Stat], strategy: Strategy, kind: String) async throws -> Computation {
        try stats.forEach { try $0.validate() }
        let started = ContinuousClock.now
        let execution = Execution(mapping: database.mapping)
        let tables = Set(stats.map(\.table))
        let resolved = try await resolve(strategy, for: stats, execution: execution)
        let (results, stamp): ([StatResult], StatsCache.Stamp?) = try await execution.cancellingWithTask {
            try await database.gate.withPermit {
                if let fannedOut = try await fanOut(stats, strategy: resolved, tables: tables, execution: execution) {
                    return fannedOut
                }
                return try await database.reader.read { db in
                    try execution.running(on: db.sqliteConnection) {
                        if resolved == .rollup { execution.catalog = try database.rollupCatalog(in: db) }
                        return (
                            try Self.run(stats, in: db, strategy: resolved, execution: execution),
                            try ChangeCounters.read(db, tables: tables).map(StatsCache.Stamp.init)
                        )
                    }
                }
            }
        }
        let duration = ContinuousClock.now - started
        let label = execution.label(resolved)
        database.metrics.record(kind: kind, strategy: label, nanoseconds: duration.nanoseconds, statements: execution.statements)
        database.metrics.rowsScanned.increment(by: Int64(execution.rowsScanned))
        await noteDuration(duration, of: kind, strategy: resolved, stats: stats)
        return Computation(
            results: results, strategy: resolved, statements: execution.statements, stamp: stamp, duration: duration,
            label: label)
    }

    /// `auto` becomes `rollup` when an intact rollup serves every stat, and
    /// `single-pass` otherwise. The catalog is read again only when the
    /// file's schema changed.
    func resolve(_ strategy: Strategy, for stats: [Stat], execution: Execution) async throws -> Strategy {
        switch strategy {
        case .auto:
            let catalog = try await database.rollupCatalog()
            guard !stats.isEmpty, !catalog.intact.isEmpty, RollupStrategy.unserved(stats, catalog: catalog).isEmpty else {
                return .singlePass
            }
            execution.rollupsChosenByAuto = true
            return .rollup
        default:
            return strategy
        }
    }

    /// Spreads a scan strategy over several readers that share one snapshot,
    /// when the pool has free readers now (never waiting for more).
    private func fanOut(
        _ stats: [Stat], strategy: Strategy, tables: Set<String>,
        execution: Execution
    ) async throws -> ([StatResult], StatsCache.Stamp?)? {
        guard maximumParallelism > 1, Strategy.scans.contains(strategy), let pool = database.reader as? DatabasePool else { return nil }
        let extra = database.gate.tryAcquire(maximumParallelism - 1)
        guard extra > 0 else { return nil }
        defer { database.gate.release(extra) }
        return try await runOnThread(named: "tally.fan-out") {
            try ParallelStats.run(stats, strategy: strategy, pool: pool, width: extra + 1, tables: tables, execution: execution)
        }
    }

    /// A read transaction through the database's reader permits: what any
    /// other read by an embedding server (pages, health) should use too.
    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let execution = Execution()
        return try await execution.cancellingWithTask {
            try await database.gate.withPermit {
                try await database.reader.read { db in try execution.running(on: db.sqliteConnection) { try body(db) } }
            }
        }
    }

    // MARK: - Inside a transaction

    /// Runs stats on `db`, which the caller keeps inside one read transaction.
    ///
    /// - parameter execution: what the computation's statements share;
    ///   on a database read through a schema map it must carry the map
    ///   (`Execution(mapping: database.mapping)`), which the scan converts
    ///   through and takes filter affinities from. No default, so that no
    ///   caller forgets it.
    /// - returns: one result per stat, in order.
    package static func run(
        _ stats: [Stat], in db: Database, strategy: Strategy,
        execution: Execution
    ) throws -> [StatResult] {
        try stats.forEach { try $0.validate() }
        switch strategy {
        case .auto, .singlePass:
            var results = [StatResult?](repeating: nil, count: stats.count)
            for scan in SinglePassScanner.plan(stats, mapping: execution.mapping) {
                for (position, result) in try SinglePassScanner.run(scan, in: db, execution: execution).results {
                    results[position] = result
                }
            }
            return results.compactMap { $0 }
        case .grouped:
            return try GroupedStrategy.run(stats, in: db, execution: execution)
        case .naive:
            return try NaiveStrategy.run(stats, in: db, execution: execution)
        case .rollup:
            let catalog = try execution.catalog ?? RollupCatalog.load(db)
            return try RollupStrategy.run(stats, catalog: catalog, in: db, execution: execution)
        }
    }

    // MARK: - Slow queries

    /// Logs a slow computation once per kind and strategy, with its SQL and
    /// a plan summary (read now, on another connection: only the first slow
    /// computation of its kind pays for it).
    func noteDuration(_ duration: Duration, of kind: String, strategy: Strategy, stats: [Stat]) async {
        guard let threshold = slowQueryThreshold, duration > threshold,
            database.slowQueries.withLock({ $0.insert("\(kind)|\(strategy.rawValue)").inserted })
        else { return }
        let plans = (try? await read { db in try QueryPlanExplainer.explain(stats, strategy: strategy, in: db, of: database) }) ?? []
        let summary: String = plans.map { plan -> String in
            let access: String =
                plan.indexes.isEmpty
                ? "full scan of \(plan.fullScans.joined(separator: ", "))"
                : "index \(plan.indexes.joined(separator: ", "))"
            return "\(plan.sql) -- \(access)\(plan.tempBTree ? ", temp B-tree" : "")"
        }.joined(separator: " | ")
        logger.warning(
            "slow query",
            metadata: [
                "kind": "\(kind)", "strategy": "\(strategy.rawValue)",
                "ms": "\(duration.milliseconds)", "thresholdMs": "\(threshold.milliseconds)", "sql": "\(summary)",
            ])
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }

    /// Milliseconds, to the microsecond.
    var milliseconds: Double {
        (Double(nanoseconds) / 1_000).rounded() / 1_000
    }
}
