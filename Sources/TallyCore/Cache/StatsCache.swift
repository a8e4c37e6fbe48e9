import Foundation
import GRDB
import Logging

/// An in-process cache in front of the engine: bounded LRU (entries and
/// bytes), TTL classes, single-flight, stale-while-revalidate with
/// stale-if-error, and freshness checked against the database.
///
/// For example:
///
/// ```swift
/// let cache = try StatsCache(path: "tally.sqlite")
/// let engine = TallyEngine(reader: pool, cache: cache)
/// let first = try await engine.dashboard()   // meta.cache == "miss"
/// let second = try await engine.dashboard()  // meta.cache == "hit"
/// ```
///
/// **Never stale after a write.** Before a value is served, the cache reads
/// `PRAGMA data_version` on its own connection (`DataVersionMonitor`); a
/// change means another connection committed, and every entry is dropped
/// (which tables changed is unknown). Writes through a pool given to
/// `observe(writer:)` invalidate at commit only the entries that read the
/// tables the commit touched. A load is stored only if no invalidation
/// happened while it ran, so a computation that started before a write is
/// never kept as fresh after it.
public final class StatsCache: @unchecked Sendable {
    /// How an answer was served, as `meta.cache` reports it.
    public enum Status: String, Sendable {
        case hit, miss, stale, bypass
    }

    struct Entry {
        var value: any Sendable
        var tables: Set<String>
        var storedAt: Double
        var lifetime: CachePolicy.Lifetime
        /// A background refresh failed: serve stale up to `maximumAge`.
        var refreshFailed = false
    }

    /// A load in progress, shared by every request for its key.
    final class Flight: @unchecked Sendable {
        var task: Task<any Sendable, any Error>?
    }

    public let policy: CachePolicy
    public let clock: any CacheClock
    public let monitor: DataVersionMonitor?
    let logger: Logger

    // Everything below is guarded by `lock`.
    private let lock = NSLock()
    private var store: LRUStore<String, Entry>
    private var flights: [String: Flight] = [:]
    /// Bumped when every entry is invalidated.
    private var globalEpoch: UInt64 = 0
    /// Bumped when entries reading a table are invalidated.
    private var tableEpochs: [String: UInt64] = [:]
    private var baseline: Int64?
    private var lastWriterVersion: Int64?
    private var statistics = CacheStatistics()
    private let metrics = CacheMetrics()
    /// Observers registered by `observe(writer:)`, kept alive here.
    private var observers: [CacheInvalidationObserver] = []

    public init(policy: CachePolicy = CachePolicy(), clock: any CacheClock = SystemCacheClock(),
                monitor: DataVersionMonitor?, logger: Logger = Logger(label: "tally.cache")) {
        precondition(monitor != nil || policy.validation == .ttlOnly,
                     "validation .always needs a DataVersionMonitor")
        self.policy = policy
        self.clock = clock
        self.monitor = monitor
        self.logger = logger
        store = LRUStore(maximumEntries: policy.maximumEntries, maximumBytes: policy.maximumBytes)
    }

    /// A cache validating against the database file at `path`.
    public convenience init(path: String, policy: CachePolicy = CachePolicy(), clock: any CacheClock = SystemCacheClock(),
                            logger: Logger = Logger(label: "tally.cache")) throws {
        self.init(policy: policy, clock: clock,
                  monitor: policy.validation == .always ? try DataVersionMonitor(path: path) : nil, logger: logger)
    }

    // MARK: - Reading

    /// The value for `key`: cached, joined, or loaded once for all concurrent callers.
    ///
    /// - parameters:
    ///   - tables: the tables the value is computed from (for precise invalidation).
    ///   - lifetime: its TTL class.
    ///   - load: computes the value; not cancelled when one caller is.
    ///   - weigh: the value's size in bytes, for the byte bound.
    public func value<T: Sendable>(
        for key: String, tables: Set<String>, lifetime: CachePolicy.Lifetime,
        load: @escaping @Sendable () async throws -> T, weigh: @escaping @Sendable (T) -> Int
    ) async throws -> (T, Status) {
        if policy.validation == .always { try validate() }
        switch decide(key, tables: tables, lifetime: lifetime, load: load, weigh: weigh) {
        case .hit(let value):
            metrics.hits.increment()
            return (value, .hit)
        case .stale(let value):
            metrics.stale.increment()
            return (value, .stale)
        case .wait(let flight, let joined, let stale):
            metrics.misses.increment()
            if joined { metrics.joins.increment() }
            do {
                let value = try await flight.task!.value
                return (value as! T, .miss)
            } catch {
                // Stale-if-error: an expired value younger than its maximum age.
                if let stale, !(error is CancellationError) {
                    countStaleServed()
                    metrics.stale.increment()
                    logger.warning("load failed, serving stale", metadata: ["key": "\(key)", "error": "\(error)"])
                    return (stale, .stale)
                }
                throw error
            }
        }
    }

    /// What a request gets: a fresh value, a stale one (with a refresh
    /// started), or a load to wait for (started or joined).
    enum Decision<T> {
        case hit(T)
        case stale(T)
        case wait(Flight, joined: Bool, stale: T?)
    }

    private func decide<T: Sendable>(
        _ key: String, tables: Set<String>, lifetime: CachePolicy.Lifetime,
        load: @escaping @Sendable () async throws -> T, weigh: @escaping @Sendable (T) -> Int
    ) -> Decision<T> {
        let now = clock.now()
        lock.lock()
        defer { lock.unlock() }
        var stale: T?
        if let entry = store.get(key) {
            let age = now - entry.storedAt
            if age < entry.lifetime.ttl {
                statistics.hits += 1
                return .hit(entry.value as! T)
            }
            let staleLimit = entry.refreshFailed ? entry.lifetime.maximumAge
                : entry.lifetime.ttl + entry.lifetime.staleWhileRevalidate
            if age < staleLimit {
                statistics.staleServed += 1
                if flights[key] == nil {
                    _ = startFlight(key, tables: tables, lifetime: lifetime, background: true, load: load, weigh: weigh)
                }
                return .stale(entry.value as! T)
            }
            if age < entry.lifetime.maximumAge { stale = entry.value as? T }
        }
        statistics.misses += 1
        if let running = flights[key] {
            statistics.singleFlightJoins += 1
            return .wait(running, joined: true, stale: stale)
        }
        let flight = startFlight(key, tables: tables, lifetime: lifetime, background: false, load: load, weigh: weigh)
        return .wait(flight, joined: false, stale: stale)
    }

    private func countStaleServed() {
        lock.lock()
        statistics.staleServed += 1
        lock.unlock()
    }

    /// Starts a load for `key`; the caller holds `lock`.
    private func startFlight<T: Sendable>(
        _ key: String, tables: Set<String>, lifetime: CachePolicy.Lifetime, background: Bool,
        load: @escaping @Sendable () async throws -> T, weigh: @escaping @Sendable (T) -> Int
    ) -> Flight {
        let flight = Flight()
        let startEpochs = epochs(of: tables)
        let started = clock.now()
        flight.task = Task.detached { [self] in
            do {
                let value = try await load()
                self.finish(key, value: value, bytes: weigh(value), tables: tables, lifetime: lifetime,
                            startEpochs: startEpochs, started: started)
                return value as any Sendable
            } catch {
                self.fail(key, error: error, background: background, started: started)
                throw error
            }
        }
        flights[key] = flight
        return flight
    }

    private func finish(_ key: String, value: any Sendable, bytes: Int, tables: Set<String>,
                        lifetime: CachePolicy.Lifetime, startEpochs: [UInt64], started: Double) {
        // A write that landed while the load ran must not leave it stored as fresh.
        if policy.validation == .always { try? validate() }
        let elapsed = clock.now() - started
        lock.lock()
        flights[key] = nil
        statistics.loadsSucceeded += 1
        statistics.loadSeconds += elapsed
        var evicted = (count: 0, bytes: 0)
        let current = epochs(of: tables)
        if current == startEpochs {
            let entries = store.put(key, Entry(value: value, tables: tables, storedAt: clock.now(), lifetime: lifetime), bytes: bytes)
            evicted = (entries.count, entries.reduce(0) { $0 + $1.bytes })
            statistics.evictions += evicted.count
            statistics.evictedBytes += evicted.bytes
        } else {
            statistics.loadsDiscarded += 1
        }
        updateSizeLocked()
        lock.unlock()
        metrics.loadDuration.recordNanoseconds(Int64(elapsed * 1e9))
        if evicted.count > 0 {
            metrics.evictions.increment(by: Int64(evicted.count))
            metrics.evictedBytes.increment(by: Int64(evicted.bytes))
        }
    }

    private func fail(_ key: String, error: any Error, background: Bool, started: Double) {
        let elapsed = clock.now() - started
        lock.lock()
        flights[key] = nil
        statistics.loadsFailed += 1
        statistics.loadSeconds += elapsed
        // Stale-if-error: after a failed refresh the old value stays servable up to its maximum age.
        if background, var entry = store.peek(key) {
            entry.refreshFailed = true
            store.put(key, entry, bytes: store.remove(key)?.bytes ?? 0)
        }
        lock.unlock()
        metrics.loadFailures.increment()
        logger.debug("cache load failed", metadata: ["key": "\(key)", "error": "\(error)"])
    }

    // MARK: - Freshness

    /// Reads `data_version`; drops every entry if another connection committed.
    public func validate() throws {
        guard let monitor else { return }
        let version = try monitor.read()
        lock.lock()
        defer { lock.unlock() }
        statistics.validations += 1
        if let baseline, baseline != version {
            invalidateAllLocked()
        }
        baseline = version
    }

    /// Validates, then returns the data version the cache now vouches for:
    /// answers served from now on reflect at least this version. Combined
    /// with a key it makes an HTTP `ETag`. Nil without a monitor.
    public func currentVersion() throws -> Int64? {
        guard monitor != nil else { return nil }
        try validate()
        lock.lock()
        defer { lock.unlock() }
        return baseline
    }

    /// Drops the entries that read any of `tables`.
    public func invalidate(tables: Set<String>) {
        lock.lock()
        invalidateLocked(tables: tables)
        lock.unlock()
    }

    /// Drops every entry.
    public func invalidateAll() {
        lock.lock()
        invalidateAllLocked()
        lock.unlock()
    }

    private func invalidateLocked(tables: Set<String>) {
        for table in tables { tableEpochs[table, default: 0] &+= 1 }
        var dropped = 0
        for key in Array(store.keys) {
            guard let entry = store.peek(key), !entry.tables.isDisjoint(with: tables) else { continue }
            store.remove(key)
            dropped += 1
            for table in entry.tables.intersection(tables) { statistics.invalidationsByTable[table, default: 0] += 1 }
        }
        updateSizeLocked()
        if dropped > 0 { metrics.invalidations.increment(by: Int64(dropped)) }
    }

    private func invalidateAllLocked() {
        globalEpoch &+= 1
        let dropped = store.count
        if dropped > 0 { statistics.invalidationsByTable["*", default: 0] += dropped }
        store.removeAll()
        updateSizeLocked()
        if dropped > 0 { metrics.invalidations.increment(by: Int64(dropped)) }
    }

    private func epochs(of tables: Set<String>) -> [UInt64] {
        [globalEpoch] + tables.sorted().map { tableEpochs[$0, default: 0] }
    }

    private func updateSizeLocked() {
        statistics.entries = store.count
        statistics.bytes = store.bytes
        metrics.entries.record(store.count)
        metrics.bytes.record(store.bytes)
    }

    /// A commit through an observed writer touched `tables`: drop exactly
    /// their entries, and absorb the data version change it caused, unless
    /// another connection committed too (then everything goes).
    ///
    /// - parameter writerVersion: reads `data_version` on the writer's
    ///   connection, which changes only when *other* connections commit.
    func ownCommit(tables: Set<String>, writerVersion: () throws -> Int64) {
        lock.lock()
        defer { lock.unlock() }
        invalidateLocked(tables: tables)
        guard let monitor else { return }
        do {
            // Monitor first, writer second: a foreign commit in between shows
            // in the writer's version, and everything is dropped.
            let seen = try monitor.read()
            let writer = try writerVersion()
            if lastWriterVersion != writer { invalidateAllLocked() }
            lastWriterVersion = writer
            baseline = seen
        } catch {
            invalidateAllLocked()
            baseline = nil
        }
    }

    /// Invalidates precisely at commit for writes made through `writer`.
    public func observe(writer: DatabasePool) throws {
        let observer = CacheInvalidationObserver(cache: self)
        try writer.write { db in
            db.add(transactionObserver: observer, extent: .observerLifetime)
            let version = try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0
            self.lock.lock()
            self.lastWriterVersion = version
            self.lock.unlock()
        }
        lock.lock()
        observers.append(observer)
        lock.unlock()
    }

    // MARK: - Maintenance

    /// Removes the entries past every window (TTL, stale-while-revalidate,
    /// maximum age). Reads do this lazily; `CacheSweeper` calls it periodically.
    @discardableResult
    public func sweep() -> Int {
        let now = clock.now()
        lock.lock()
        defer { lock.unlock() }
        var removed = 0
        for key in Array(store.keys) {
            guard let entry = store.peek(key) else { continue }
            let age = now - entry.storedAt
            let limit = max(entry.lifetime.maximumAge, entry.lifetime.ttl + entry.lifetime.staleWhileRevalidate)
            if age >= limit {
                store.remove(key)
                removed += 1
            }
        }
        updateSizeLocked()
        return removed
    }

    /// The counters so far.
    public var snapshot: CacheStatistics {
        lock.lock()
        defer { lock.unlock() }
        return statistics
    }

    /// Keys from most to least recently used (for tests and diagnostics).
    public var keysByRecency: [String] {
        lock.lock()
        defer { lock.unlock() }
        return store.keysByRecency
    }
}

/// Collects the tables a transaction on an observed writer touched, and
/// tells the cache at commit.
final class CacheInvalidationObserver: TransactionObserver, @unchecked Sendable {
    private weak var cache: StatsCache?
    private var tables: Set<String> = []
    private static let observed = Set(TallySchema.tables.map(\.name))

    init(cache: StatsCache) {
        self.cache = cache
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        Self.observed.contains(eventKind.tableName)
    }

    func databaseDidChange(with event: DatabaseEvent) {
        tables.insert(event.tableName)
    }

    func databaseDidCommit(_ db: Database) {
        let touched = tables
        tables = []
        guard !touched.isEmpty else { return }
        cache?.ownCommit(tables: touched) { try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
    }

    func databaseDidRollback(_ db: Database) {
        tables = []
    }
}
