package import Foundation
package import GRDB
import Metrics

/// The contract's answers (§4): the dashboard, revenue, module counts and
/// pages, each from one snapshot, through the cache unless asked not to.
extension TallyEngine {
    /// An answer, how it was served, and the stamp of the data it reflects
    /// (what HTTP ETags are made of).
    package struct Answered<Value: Sendable>: Sendable {
        package var value: Value
        package var status: StatsCache.Status
        package var stamp: StatsCache.Stamp?
    }

    // MARK: - Cache keys (also the basis of HTTP ETags)

    public static func dashboardKey(strategy: Strategy) -> String { "dashboard|\(strategy.rawValue)" }

    public static func revenueKey(_ query: RevenueQuery, strategy: Strategy) -> String {
        "revenue|\(query.period.rawValue)|\(query.zone.identifier)|\(query.from.map(String.init) ?? "open")|"
            + "\(query.to.map(String.init) ?? "open")|\(strategy.rawValue)"
    }

    public static func moduleCountsKey(organizations ids: [String]?, strategy: ModuleStrategy) -> String {
        "modules|\(strategy.rawValue)|" + (ids.map { Array(Set($0)).sorted().joined(separator: "\u{1F}") } ?? "*")
    }

    /// The tables each answer reads: a write to another table leaves it cached.
    public static let dashboardTables = Set(Dashboard.stats.map(\.table))
    public static let revenueTables: Set<String> = ["payments"]
    public static let moduleCountsTables: Set<String> = ["organizations", "modules"]

    // MARK: - Answers

    /// The dashboard, through the cache unless `useCache` is false.
    public func dashboard(strategy: Strategy = .auto, useCache: Bool = true) async throws -> Dashboard {
        try await answerDashboard(strategy: strategy, useCache: useCache).value
    }

    package func answerDashboard(strategy: Strategy = .auto, useCache: Bool = true) async throws -> Answered<Dashboard> {
        try await answer(
            key: Self.dashboardKey(strategy: strategy), tables: Self.dashboardTables,
            lifetime: cache?.policy.dashboard, useCache: useCache
        ) {
            let computation = try await compute(Dashboard.stats, strategy: strategy, kind: "dashboard")
            var dashboard = try Dashboard(results: computation.results)
            dashboard.meta = ResponseMeta(computation)
            dashboard.meta.absent = database.absent.isEmpty ? nil : database.absent
            return (dashboard, computation.stamp)
        }
    }

    /// Revenue per period, through the cache unless `useCache` is false. A
    /// range that ended in the past lives in the cache until payments change.
    public func revenue(_ query: RevenueQuery, strategy: Strategy = .auto, useCache: Bool = true) async throws -> Revenue {
        try await answerRevenue(query, strategy: strategy, useCache: useCache).value
    }

    package func answerRevenue(_ query: RevenueQuery, strategy: Strategy = .auto, useCache: Bool = true) async throws -> Answered<Revenue> {
        try requirePresent(["payments"], for: "revenue")
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let closed = query.to.map { $0 <= nowMillis } ?? false
        return try await answer(
            key: Self.revenueKey(query, strategy: strategy), tables: Self.revenueTables,
            lifetime: closed ? cache?.policy.closedRange : cache?.policy.revenue, useCache: useCache
        ) {
            let (revenue, computation) = try await snapshot(
                kind: "revenue", strategy: strategy, tables: Self.revenueTables,
                resolving: [RevenueQuery.stat(grid: .placeholder)]
            ) { db, resolved, execution in
                try Self.revenueAndStat(query, in: db, strategy: resolved, execution: execution)
            }
            var answer = revenue
            answer.meta = ResponseMeta(computation)
            answer.meta.absent = self.absent(in: Self.revenueTables)
            return (answer, computation.stamp)
        }
    }

    /// Active modules per organization (all of them when `organizations` is
    /// nil), through the cache unless `useCache` is false.
    public func moduleCounts(
        organizations ids: [String]? = nil, strategy: ModuleStrategy = .auto,
        useCache: Bool = true
    ) async throws -> ModuleCounts {
        try await answerModuleCounts(organizations: ids, strategy: strategy, useCache: useCache).value
    }

    package func answerModuleCounts(
        organizations ids: [String]? = nil, strategy: ModuleStrategy = .auto,
        useCache: Bool = true
    ) async throws -> Answered<ModuleCounts> {
        try requirePresent(["organizations"], for: "module counts")
        return try await answer(
            key: Self.moduleCountsKey(organizations: ids, strategy: strategy), tables: Self.moduleCountsTables,
            lifetime: cache?.policy.perEntity, useCache: useCache
        ) {
            let (organizations, computation) = try await snapshot(
                kind: "modules", strategy: strategy.strategy,
                tables: Self.moduleCountsTables, resolving: [ModuleCounts.stat()],
                label: { ModuleStrategy(running: $0).rawValue }
            ) { db, resolved, execution in
                (try ModuleCounts.compute(ids: ids, strategy: resolved, in: db, execution: execution), [ModuleCounts.stat()])
            }
            var meta = ResponseMeta(computation)
            meta.absent = self.absent(in: Self.moduleCountsTables)
            return (ModuleCounts(organizations: organizations, meta: meta), computation.stamp)
        }
    }

    /// One page of bookings, newest first (not cached: pages are cheap
    /// index range reads).
    ///
    /// `status`, when given, keeps only the rows whose status is exactly
    /// that value, in or outside the schema's enum.
    public func bookingsPage(limit: Int = 50, cursor: String? = nil, status: String? = nil) async throws -> BookingsPage {
        try BookingsPage.checkLimit(limit)
        return try await snapshot(kind: "bookings", strategy: .grouped, tables: ["bookings"]) { db, _, execution in
            (try BookingsPage.fetch(limit: limit, cursor: cursor, status: status, in: db, execution: execution), [])
        }.0
    }

    /// One page of organizations with their active module counts, batched.
    public func organizationsPage(limit: Int = 50, cursor: String? = nil) async throws -> OrganizationsPage {
        try BookingsPage.checkLimit(limit)
        return try await snapshot(
            kind: "organizations", strategy: .auto, tables: Self.moduleCountsTables,
            resolving: [ModuleCounts.stat()]
        ) { db, resolved, execution in
            let strategy: Strategy = resolved == .rollup ? .rollup : .grouped
            return (try OrganizationsPage.fetch(limit: limit, cursor: cursor, strategy: strategy, in: db, execution: execution), [])
        }.0
    }

    /// Whether the database answers a query now.
    public func health() async throws {
        _ = try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master") }
    }

    // MARK: - Inside a transaction (reports, benchmarks)

    /// The dashboard computed on `db`, which the caller keeps in one read transaction.
    package static func dashboard(in db: Database, strategy: Strategy, execution: Execution) throws -> Dashboard {
        try Dashboard(results: run(Dashboard.stats, in: db, strategy: strategy, execution: execution))
    }

    /// Revenue computed on `db`, which the caller keeps in one read transaction.
    package static func revenue(
        _ query: RevenueQuery, in db: Database, strategy: Strategy,
        execution: Execution
    ) throws -> Revenue {
        try revenueAndStat(query, in: db, strategy: strategy, execution: execution).0
    }

    static func revenueAndStat(
        _ query: RevenueQuery, in db: Database, strategy: Strategy,
        execution: Execution
    ) throws -> (Revenue, [Stat]) {
        let grid = try query.grid(in: db, execution: execution)
        let stat = RevenueQuery.stat(grid: grid)
        let result = try run([stat], in: db, strategy: strategy, execution: execution)[0]
        let hasRange = grid.from < grid.to || query.from != nil || query.to != nil
        return (try Revenue(grid: grid, result: result, hasRange: hasRange), [stat])
    }

    /// Module counts computed on `db`, which the caller keeps in one read transaction.
    package static func moduleCounts(
        ids: [String]?, strategy: Strategy, in db: Database,
        execution: Execution
    ) throws -> [ModuleCounts.Organization] {
        try ModuleCounts.compute(ids: ids, strategy: strategy, in: db, execution: execution)
    }

    // MARK: - Versions (HTTP ETags)

    /// The change counters of `tables` and the data version, as of a check
    /// made now: what an answer computed now reflects at least.
    package func currentVersion(tables: Set<String>) throws -> (stamp: StatsCache.Stamp?, dataVersion: Int64?) {
        if let cache {
            return (try cache.currentStamp(tables: tables), try cache.currentDataVersion())
        }
        guard let monitor = database.monitor else { return (nil, nil) }
        let version = try monitor.dataVersion()
        return (monitor.counters().flatMap { ChangeCounters.pick(tables, from: $0) }.map(StatsCache.Stamp.init), version)
    }

    /// Whether the cache holds a fresh answer for `key` (a request for it
    /// will not compute).
    package func isFresh(key: String) -> Bool {
        cache?.isFresh(key) ?? false
    }

    // MARK: - Machinery

    /// What `tables` lack in the database, as `meta.absent` states it (nil
    /// when nothing).
    private func absent(in tables: Set<String>) -> [String]? {
        let absent = database.absent.filter { tables.contains(String($0.prefix { $0 != "." })) }
        return absent.isEmpty ? nil : absent
    }

    /// Refuses an answer whose table the app's database lacks.
    private func requirePresent(_ tables: [String], for answer: String) throws {
        if let missing = tables.first(where: database.absent.contains) {
            throw TallyError(
                .state, "the database has no \(missing) table (the schema map marks it absent): \(answer) cannot be computed")
        }
    }

    /// Runs `body` in one read transaction, with the strategy resolved for
    /// `tables`, recording metrics like `compute`.
    ///
    /// - parameter label: the strategy's name in metrics (module counts
    ///   name theirs `batched`, `per-org`).
    package func snapshot<T: Sendable>(
        kind: String, strategy: Strategy, tables: Set<String>, resolving stats: [Stat] = [],
        label: @Sendable (Strategy) -> String = { $0.rawValue },
        _ body: @escaping @Sendable (Database, Strategy, Execution) throws -> (T, [Stat])
    ) async throws -> (T, Computation) {
        let started = ContinuousClock.now
        let execution = Execution(mapping: database.mapping)
        let resolved = try await resolve(strategy, for: stats, execution: execution)
        let (value, stats, stamp): (T, [Stat], StatsCache.Stamp?) = try await execution.cancellingWithTask {
            try await database.gate.withPermit {
                try await database.reader.read { db in
                    try execution.running(on: db.sqliteConnection) {
                        if resolved == .rollup { execution.catalog = try database.rollupCatalog(in: db) }
                        let (value, stats) = try body(db, resolved, execution)
                        return (value, stats, try ChangeCounters.read(db, tables: tables).map(StatsCache.Stamp.init))
                    }
                }
            }
        }
        let duration = ContinuousClock.now - started
        let name = execution.fellBackToScan ? execution.label(resolved) : label(resolved)
        database.metrics.record(kind: kind, strategy: name, nanoseconds: duration.nanoseconds, statements: execution.statements)
        database.metrics.rowsScanned.increment(by: Int64(execution.rowsScanned))
        await noteDuration(duration, of: kind, strategy: resolved, stats: stats)
        return (
            value,
            Computation(
                results: [], strategy: resolved, statements: execution.statements, stamp: stamp, duration: duration,
                label: name)
        )
    }

    /// Serves an answer from the cache (computing it on a miss) or, without
    /// one, computes it; fills in `meta.cache`, the duration of this request,
    /// and no statements for an answer that ran none.
    private func answer<T: Answer>(
        key: String, tables: Set<String>, lifetime: CachePolicy.Lifetime?, useCache: Bool,
        compute: @escaping @Sendable () async throws -> (T, StatsCache.Stamp?)
    ) async throws -> Answered<T> {
        let started = ContinuousClock.now
        let key = database.cacheKey(key)
        var answered: Answered<T>
        if useCache, let cache, let lifetime {
            var load = compute
            if let shared = cache.sharedLevel {
                // In-process cache → shared level → compute.
                load = {
                    let (value, stamp, outcome) = try await shared.load(
                        key: key, currentStamp: try cache.currentStamp(tables: tables), compute: compute)
                    var answer = value
                    // TTL-only sharing says so in every answer it serves.
                    answer.meta.sharedCache = shared.mode == .exact ? outcome.rawValue : "ttl-only-\(outcome.rawValue)"
                    return (answer, stamp)
                }
            }
            let (value, status, stamp) = try await cache.stamped(for: key, tables: tables, lifetime: lifetime, load: load) { value in
                (try? JSONEncoder().encode(value).count) ?? 4096
            }
            answered = Answered(value: value, status: status, stamp: stamp)
        } else {
            let (value, stamp) = try await compute()
            answered = Answered(value: value, status: .bypass, stamp: stamp)
        }
        answered.value.meta.cache = answered.status.rawValue
        answered.value.meta.durationMs = (ContinuousClock.now - started).milliseconds
        if answered.status == .hit || answered.status == .stale {
            answered.value.meta.statements = 0
            answered.value.meta.sharedCache = nil
        }
        if let shared = answered.value.meta.sharedCache,
            shared.hasSuffix(SharedCacheLevel.Outcome.hit.rawValue) || shared.hasSuffix(SharedCacheLevel.Outcome.waited.rawValue)
        {
            answered.value.meta.statements = 0
        }
        return answered
    }
}

/// An answer with a `meta`.
package protocol Answer: Sendable, Codable {
    var meta: ResponseMeta { get set }
}

extension Dashboard: Answer {}
extension Revenue: Answer {}
extension ModuleCounts: Answer {}

extension ResponseMeta {
    init(_ computation: TallyEngine.Computation) {
        self.init(
            strategy: computation.label, computedAt: ISOTimestamp.now(),
            durationMs: computation.duration.milliseconds, statements: computation.statements)
    }
}

/// ISO 8601 UTC timestamps of the wall clock (`computedAt`, report footers).
package enum ISOTimestamp {
    package static func now() -> String { string(Date()) }

    package static func string(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
