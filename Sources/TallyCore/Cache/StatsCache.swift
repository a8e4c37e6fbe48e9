import Foundation
public import GRDB
public import Logging
public import Metrics

/// An in-process cache in front of the engine: bounded LRU (entries and
/// bytes), TTL classes, single-flight, stale-while-revalidate with
/// stale-if-error, and freshness checked against the database before every
/// answer it serves.
///
/// For example:
///
/// ```swift
/// let database = try TallyDatabase.openReadOnly(path: "tally.sqlite")
/// let engine = TallyEngine(database: database)   // uses database.cache
/// let first = try await engine.dashboard()       // meta.cache == "miss"
/// let second = try await engine.dashboard()      // meta.cache == "hit"
/// ```
///
/// **Never stale after a write.** Before a value is served, the cache reads
/// `PRAGMA data_version` on its own connection (`ChangeMonitor`): a change
/// means some connection committed. When the file has rollup change
/// counters, they say which tables changed and only the entries that read
/// them are dropped; otherwise every entry is. A request joins a load in
/// progress only if no commit was detected since it started, and a load is
/// stored only if none was detected while it ran, so an answer computed
/// before a write is never served after it.
public final class StatsCache: Sendable {
    /// How an answer was served, as `meta.cache` reports it.
    public enum Status: String, Sendable {
        case hit, miss, stale, bypass
    }

    /// The version of the data an answer was computed from: the change
    /// counters of the tables it read, in the snapshot it read them. The
    /// same in every process on the same file.
    public struct Stamp: Sendable, Hashable {
        public let counters: [String: Int64]

        public init(counters: [String: Int64]) {
            self.counters = counters
        }

        /// `payments:42,users:7`: stable text for keys and ETags.
        public var text: String {
            counters.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
        }
    }

    /// A loaded value and the stamp of its snapshot (nil without counters).
    package typealias Loaded = (value: any Sendable, stamp: Stamp?)

    struct Entry: Sendable {
        var value: any Sendable
        var tables: Set<String>
        var stamp: Stamp?
        var storedAt: Double
        var lifetime: CachePolicy.Lifetime
        /// A background refresh failed: serve stale up to `maximumAge`.
        var refreshFailed = false
    }

    private struct State: Sendable {
        var store: LRUStore<String, Entry>
        var flights: [String: CacheFlight] = [:]
        /// Bumped when every entry is invalidated.
        var globalEpoch: UInt64 = 0
        /// Bumped when the entries reading a table are invalidated.
        var tableEpochs: [String: UInt64] = [:]
        /// The monitor's `data_version` and counters at the last check.
        var dataVersion: Int64?
        var counters: [String: Int64]?
        var lastWriterVersion: Int64?
        var statistics = CacheStatistics()
    }

    public let policy: CachePolicy
    /// The level shared with other processes behind this one, if any.
    public let sharedLevel: SharedCacheLevel?
    let clock: any CacheClock
    let monitor: ChangeMonitor?
    let logger: Logger
    let metrics: CacheMetrics
    private let state: Locked<State>
    /// Observers registered by `observe(writer:)`, kept alive here.
    private let observers = Locked<[CacheInvalidationObserver]>([])

    /// A cache validating against `database` (see `TallyDatabase.cache` for
    /// the one engines share by default).
    ///
    /// - parameters:
    ///   - database: the file whose commits invalidate entries.
    ///   - policy: bounds and TTL classes.
    ///   - logger: where load failures and stale serving are logged.
    ///   - metricsFactory: where its counters go; the global
    ///     `MetricsSystem` unless a test passes its own.
    ///   - sharedLevel: a cache shared with other processes, asked before
    ///     computing (see `SharedCacheLevel`).
    public convenience init(
        database: TallyDatabase, policy: CachePolicy = CachePolicy(),
        logger: Logger = Logger(label: "tally.cache"), metricsFactory: (any MetricsFactory)? = nil,
        sharedLevel: SharedCacheLevel? = nil
    ) {
        self.init(policy: policy, monitor: database.monitor, logger: logger, metricsFactory: metricsFactory, sharedLevel: sharedLevel)
    }

    /// A cache that expires entries by time only (`CachePolicy.Validation.ttlOnly`),
    /// watching no database: the seeds' behaviour, for values of your own.
    public convenience init(ttlOnly policy: CachePolicy, logger: Logger = Logger(label: "tally.cache")) {
        var policy = policy
        policy.validation = .ttlOnly
        self.init(policy: policy, monitor: nil, logger: logger)
    }

    init(
        policy: CachePolicy = CachePolicy(), clock: any CacheClock = SystemCacheClock(), monitor: ChangeMonitor?,
        logger: Logger = Logger(label: "tally.cache"), metricsFactory: (any MetricsFactory)? = nil,
        sharedLevel: SharedCacheLevel? = nil
    ) {
        self.sharedLevel = sharedLevel
        var policy = policy
        if monitor == nil { policy.validation = .ttlOnly }
        self.policy = policy
        self.clock = clock
        self.monitor = monitor
        self.logger = logger
        metrics = CacheMetrics(factory: metricsFactory ?? MetricsSystem.factory)
        state = Locked(State(store: LRUStore(maximumEntries: policy.maximumEntries, maximumBytes: policy.maximumBytes)))
        try? refresh()
    }

    // MARK: - Reading

    /// The value for `key`: cached, joined, or loaded once for all concurrent callers.
    ///
    /// - parameters:
    ///   - key: what the value is (the answer's kind and parameters).
    ///   - tables: the tables the value is computed from (for precise invalidation).
    ///   - lifetime: its TTL class.
    ///   - load: computes the value; cancelled only when every request
    ///     waiting for it was.
    ///   - weigh: the value's size in bytes, for the byte bound.
    public func value<T: Sendable>(
        for key: String, tables: Set<String>, lifetime: CachePolicy.Lifetime,
        load: @escaping @Sendable () async throws -> T, weigh: @escaping @Sendable (T) -> Int
    ) async throws -> (T, Status) {
        let (value, status, _) = try await stamped(
            for: key, tables: tables, lifetime: lifetime,
            load: { (try await load(), nil) }, weigh: weigh)
        return (value, status)
    }

    /// `value(for:…)` for loads that report the stamp of their snapshot;
    /// returns the stamp of the value served.
    package func stamped<T: Sendable>(
        for key: String, tables: Set<String>, lifetime: CachePolicy.Lifetime,
        load: @escaping @Sendable () async throws -> (T, Stamp?), weigh: @escaping @Sendable (T) -> Int
    ) async throws -> (T, Status, Stamp?) {
        try refresh()
        switch decide(key, tables: tables, lifetime: lifetime, load: load, weigh: weigh) {
        case .hit(let value, let stamp):
            metrics.hits.increment()
            return (value, .hit, stamp)
        case .stale(let value, let stamp):
            metrics.stale.increment()
            return (value, .stale, stamp)
        case .wait(let flight, let joined, let stale):
            metrics.misses.increment()
            if joined { metrics.joins.increment() }
            do {
                let loaded = try await flight.wait()
                // A value of another type under this key (a caller's key
                // collision) is computed afresh, never force-cast.
                guard let value = loaded.value as? T else {
                    let (value, stamp) = try await load()
                    return (value, .miss, stamp)
                }
                return (value, .miss, loaded.stamp)
            } catch {
                // Stale-if-error: an expired value younger than its maximum age.
                if let stale, !(error is CancellationError) {
                    state.withLock { $0.statistics.staleServed += 1 }
                    metrics.stale.increment()
                    logger.warning("load failed, serving stale", metadata: ["key": "\(key)", "error": "\(error)"])
                    return (stale.value, .stale, stale.stamp)
                }
                throw error
            }
        }
    }

    /// What a request gets: a fresh value, a stale one (with a refresh
    /// started), or a load to wait for (started or joined).
    private enum Decision<T> {
        case hit(T, Stamp?)
        case stale(T, Stamp?)
        case wait(CacheFlight, joined: Bool, stale: (value: T, stamp: Stamp?)?)
    }

    private func decide<T: Sendable>(
        _ key: String, tables: Set<String>, lifetime: CachePolicy.Lifetime,
        load: @escaping @Sendable () async throws -> (T, Stamp?), weigh: @escaping @Sendable (T) -> Int
    ) -> Decision<T> {
        let now = clock.now()
        return state.withLock { s in
            var stale: (value: T, stamp: Stamp?)?
            if let entry = s.store.get(key), let value = entry.value as? T {
                let age = now - entry.storedAt
                if age < entry.lifetime.ttl {
                    s.statistics.hits += 1
                    return .hit(value, entry.stamp)
                }
                let staleLimit =
                    entry.refreshFailed
                    ? entry.lifetime.maximumAge
                    : entry.lifetime.ttl + entry.lifetime.staleWhileRevalidate
                if age < staleLimit {
                    s.statistics.staleServed += 1
                    if joinable(s.flights[key], tables: tables, in: s) == nil {
                        startFlight(key, tables: tables, lifetime: lifetime, background: true, load: load, weigh: weigh, in: &s)
                    }
                    return .stale(value, entry.stamp)
                }
                if age < entry.lifetime.maximumAge { stale = (value, entry.stamp) }
            }
            s.statistics.misses += 1
            if let running = joinable(s.flights[key], tables: tables, in: s) {
                s.statistics.singleFlightJoins += 1
                return .wait(running, joined: true, stale: stale)
            }
            let flight = startFlight(key, tables: tables, lifetime: lifetime, background: false, load: load, weigh: weigh, in: &s)
            return .wait(flight, joined: false, stale: stale)
        }
    }

    /// The flight a request may join: one that started after the last
    /// commit detected on its tables.
    private func joinable(_ flight: CacheFlight?, tables: Set<String>, in s: State) -> CacheFlight? {
        guard let flight, !flight.isAbandoned, flight.epochs == epochs(of: tables, in: s) else { return nil }
        return flight
    }

    @discardableResult
    private func startFlight<T: Sendable>(
        _ key: String, tables: Set<String>, lifetime: CachePolicy.Lifetime, background: Bool,
        load: @escaping @Sendable () async throws -> (T, Stamp?), weigh: @escaping @Sendable (T) -> Int, in s: inout State
    ) -> CacheFlight {
        let startEpochs = epochs(of: tables, in: s)
        let flight = CacheFlight(epochs: startEpochs, background: background) { [weak self] flight in
            self?.abandon(key, flight)
        }
        let started = clock.now()
        flight.start { [self] in
            do {
                let (value, stamp) = try await load()
                finish(
                    key, flight: flight, value: value, stamp: stamp, bytes: weigh(value), tables: tables,
                    lifetime: lifetime, started: started)
                return .success((value, stamp))
            } catch {
                fail(key, flight: flight, error: error, started: started)
                return .failure(error)
            }
        }
        s.flights[key] = flight
        return flight
    }

    private func finish(
        _ key: String, flight: CacheFlight, value: any Sendable, stamp: Stamp?, bytes: Int,
        tables: Set<String>, lifetime: CachePolicy.Lifetime, started: Double
    ) {
        // A write that landed while the load ran must not leave it stored as fresh.
        try? refresh()
        let elapsed = clock.now() - started
        let evicted = state.withLock { s -> (count: Int, bytes: Int) in
            if s.flights[key] === flight { s.flights[key] = nil }
            s.statistics.loadsSucceeded += 1
            s.statistics.loadSeconds += elapsed
            var evicted = (count: 0, bytes: 0)
            if epochs(of: tables, in: s) == flight.epochs {
                let entries = s.store.put(
                    key, Entry(value: value, tables: tables, stamp: stamp, storedAt: clock.now(), lifetime: lifetime),
                    bytes: bytes)
                evicted = (entries.count, entries.reduce(0) { $0 + $1.bytes })
                s.statistics.evictions += evicted.count
                s.statistics.evictedBytes += evicted.bytes
            } else {
                s.statistics.loadsDiscarded += 1
            }
            updateSize(&s)
            return evicted
        }
        metrics.loadDuration.recordNanoseconds(Int64(elapsed * 1e9))
        if evicted.count > 0 {
            metrics.evictions.increment(by: Int64(evicted.count))
            metrics.evictedBytes.increment(by: Int64(evicted.bytes))
        }
    }

    private func fail(_ key: String, flight: CacheFlight, error: any Error, started: Double) {
        let elapsed = clock.now() - started
        state.withLock { s in
            if s.flights[key] === flight { s.flights[key] = nil }
            if error is CancellationError {
                s.statistics.loadsCancelled += 1
                return
            }
            s.statistics.loadsFailed += 1
            s.statistics.loadSeconds += elapsed
            // Stale-if-error: after a failed refresh the old value stays servable up to its maximum age.
            if flight.background, var entry = s.store.peek(key) {
                entry.refreshFailed = true
                let bytes = s.store.remove(key)?.bytes ?? 0
                s.store.put(key, entry, bytes: bytes)
            }
        }
        if !(error is CancellationError) { metrics.loadFailures.increment() }
        logger.debug("cache load failed", metadata: ["key": "\(key)", "error": "\(error)"])
    }

    /// The last waiter left: forget the flight so that the next request
    /// starts a load of its own.
    private func abandon(_ key: String, _ flight: CacheFlight) {
        state.withLock { s in
            if s.flights[key] === flight { s.flights[key] = nil }
        }
    }

    /// Whether `key` has an entry within its TTL now (as of the last check
    /// for commits; a request validates again before it is served).
    package func isFresh(_ key: String) -> Bool {
        let now = clock.now()
        return state.withLock { s in
            guard let entry = s.store.peek(key) else { return false }
            return now - entry.storedAt < entry.lifetime.ttl
        }
    }

    // MARK: - Freshness

    /// Checks the database for commits since the last check, and drops what
    /// they made wrong: the entries of the changed tables when the file has
    /// change counters, every entry otherwise.
    public func refresh() throws {
        guard let monitor, policy.validation == .always else { return }
        let version = try monitor.dataVersion()
        let changed = state.withLock { s -> Bool in
            s.statistics.validations += 1
            return s.dataVersion != version
        }
        guard changed else { return }
        // Read after the version: the counters are at least as new.
        let counters = monitor.counters()
        state.withLock { s in
            guard s.dataVersion != version else { return }
            if s.dataVersion != nil {
                if let counters, let old = s.counters, counters[ChangeCounters.epoch] == old[ChangeCounters.epoch] {
                    let changedTables = Set(counters.keys.filter { counters[$0] != old[$0] })
                        .union(old.keys.filter { counters[$0] == nil })
                    if !changedTables.isEmpty { invalidate(tables: changedTables, in: &s) }
                } else {
                    invalidateAll(in: &s)
                }
            }
            s.dataVersion = version
            s.counters = counters
        }
    }

    /// The stamp a value of `tables` computed now would have: the change
    /// counters as of the latest check. Nil when the file has none.
    package func currentStamp(tables: Set<String>) throws -> Stamp? {
        try refresh()
        return state.withLock { s in
            s.counters.flatMap { ChangeCounters.pick(tables, from: $0) }.map(Stamp.init)
        }
    }

    /// The `data_version` the cache vouches for (answers served from now on
    /// reflect at least this version), after a check. Nil without a monitor.
    package func currentDataVersion() throws -> Int64? {
        try refresh()
        return state.withLock { $0.dataVersion }
    }

    /// Drops the entries that read any of `tables`.
    public func invalidate(tables: Set<String>) {
        state.withLock { invalidate(tables: tables, in: &$0) }
    }

    /// Drops every entry.
    public func invalidateAll() {
        state.withLock { invalidateAll(in: &$0) }
    }

    private func invalidate(tables: Set<String>, in s: inout State) {
        for table in tables { s.tableEpochs[table, default: 0] &+= 1 }
        var dropped = 0
        for key in Array(s.store.keys) {
            guard let entry = s.store.peek(key), !entry.tables.isDisjoint(with: tables) else { continue }
            s.store.remove(key)
            dropped += 1
            for table in entry.tables.intersection(tables) { s.statistics.invalidationsByTable[table, default: 0] += 1 }
        }
        updateSize(&s)
        if dropped > 0 { metrics.invalidations.increment(by: Int64(dropped)) }
    }

    private func invalidateAll(in s: inout State) {
        s.globalEpoch &+= 1
        let dropped = s.store.count
        if dropped > 0 { s.statistics.invalidationsByTable["*", default: 0] += dropped }
        s.store.removeAll()
        updateSize(&s)
        if dropped > 0 { metrics.invalidations.increment(by: Int64(dropped)) }
    }

    private func epochs(of tables: Set<String>, in s: State) -> [UInt64] {
        [s.globalEpoch] + tables.sorted().map { s.tableEpochs[$0, default: 0] }
    }

    private func updateSize(_ s: inout State) {
        s.statistics.entries = s.store.count
        s.statistics.bytes = s.store.bytes
        metrics.entries.record(s.store.count)
        metrics.bytes.record(s.store.bytes)
    }

    /// A commit through an observed writer touched `tables`: drop exactly
    /// their entries, and absorb the data version change it caused, unless
    /// another connection committed too (then everything goes).
    ///
    /// - parameter writerVersion: reads `data_version` on the writer's
    ///   connection, which changes only when *other* connections commit.
    func ownCommit(tables: Set<String>, writerVersion: () throws -> Int64) {
        let seen = try? monitor?.dataVersion()
        let counters = monitor?.counters()
        let writer = try? writerVersion()
        state.withLock { s in
            invalidate(tables: tables, in: &s)
            guard monitor != nil else { return }
            // Monitor first, writer second: a foreign commit in between shows
            // in the writer's version, and everything is dropped.
            guard let seen, let writer else {
                invalidateAll(in: &s)
                s.dataVersion = nil
                return
            }
            if s.lastWriterVersion != writer { invalidateAll(in: &s) }
            s.lastWriterVersion = writer
            s.dataVersion = seen
            s.counters = counters
        }
    }

    /// Invalidates precisely at commit for writes made through `writer`.
    public func observe(writer: DatabasePool) throws {
        let observer = CacheInvalidationObserver(cache: self)
        let version = try writer.write { db in
            db.add(transactionObserver: observer, extent: .observerLifetime)
            return try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0
        }
        state.withLock { $0.lastWriterVersion = version }
        observers.withLock { $0.append(observer) }
    }

    // MARK: - Maintenance

    /// Removes the entries past every window (TTL, stale-while-revalidate,
    /// maximum age). Reads do this lazily; `CacheSweeper` calls it periodically.
    @discardableResult
    public func sweep() -> Int {
        let now = clock.now()
        return state.withLock { s in
            var removed = 0
            for key in Array(s.store.keys) {
                guard let entry = s.store.peek(key) else { continue }
                let age = now - entry.storedAt
                let limit = max(entry.lifetime.maximumAge, entry.lifetime.ttl + entry.lifetime.staleWhileRevalidate)
                if age >= limit {
                    s.store.remove(key)
                    removed += 1
                }
            }
            updateSize(&s)
            return removed
        }
    }

    /// Waits until no load is running (background refreshes included).
    package func idle() async {
        while let flight = state.withLock({ $0.flights.values.first }) {
            await flight.finished()
            state.withLock { s in
                for (key, running) in s.flights where running === flight { s.flights[key] = nil }
            }
        }
    }

    /// Requests waiting for the load of `key` now.
    package func waiters(for key: String) -> Int {
        state.withLock { $0.flights[key]?.waiterCount ?? 0 }
    }

    /// The counters so far.
    public var snapshot: CacheStatistics {
        state.withLock { $0.statistics }
    }

    /// Keys from most to least recently used (for tests and diagnostics).
    public var keysByRecency: [String] {
        state.withLock { $0.store.keysByRecency }
    }
}

/// Collects the tables a transaction on an observed writer touched, and
/// tells the cache at commit. GRDB calls it on the writer's queue only, one
/// transaction at a time, so its set needs no lock beyond `Locked`'s.
final class CacheInvalidationObserver: TransactionObserver, Sendable {
    /// Weak: the cache keeps its observers alive, not the other way round.
    private struct WeakCache: Sendable { weak var cache: StatsCache? }

    private let cache: Locked<WeakCache>
    private let tables = Locked<Set<String>>([])
    private static let observed = Set(TallySchema.tables.map(\.name))

    init(cache: StatsCache) {
        self.cache = Locked(WeakCache(cache: cache))
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        Self.observed.contains(eventKind.tableName)
    }

    func databaseDidChange(with event: DatabaseEvent) {
        tables.withLock { _ = $0.insert(event.tableName) }
    }

    func databaseDidCommit(_ db: Database) {
        let touched = tables.withLock { tables in
            defer { tables = [] }
            return tables
        }
        guard !touched.isEmpty else { return }
        cache.load().cache?.ownCommit(tables: touched) { try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
    }

    func databaseDidRollback(_ db: Database) {
        tables.withLock { $0 = [] }
    }
}
