import Metrics

/// A snapshot of the cache's counters (richer than Caffeine's `CacheStats`).
public struct CacheStatistics: Sendable, Equatable, Codable {
    public var hits = 0
    public var misses = 0
    /// Stale values served at once (stale-while-revalidate and stale-if-error).
    public var staleServed = 0
    /// Requests that joined a computation already running (single-flight).
    public var singleFlightJoins = 0
    public var loadsSucceeded = 0
    public var loadsFailed = 0
    /// Loads whose result was not stored because a write landed while they ran.
    public var loadsDiscarded = 0
    /// Loads cancelled because every request waiting for them was.
    public var loadsCancelled = 0
    /// Total seconds spent in loads.
    public var loadSeconds = 0.0
    public var evictions = 0
    public var evictedBytes = 0
    /// Entries invalidated, by table read (`*` when the tables of a change are unknown).
    public var invalidationsByTable: [String: Int] = [:]
    /// `PRAGMA data_version` checks made before serving.
    public var validations = 0
    public var entries = 0
    public var bytes = 0

    public var requests: Int { hits + misses + staleServed }
    public var hitRate: Double { requests == 0 ? 0 : Double(hits + staleServed) / Double(requests) }
}

/// The cache's swift-metrics instruments, created once per cache with
/// fixed labels (see `TallyMetrics` for their names and help texts).
struct CacheMetrics: Sendable {
    let hits: Counter
    let misses: Counter
    let stale: Counter
    let joins: Counter
    let loadFailures: Counter
    let evictions: Counter
    let evictedBytes: Counter
    let invalidations: Counter
    let entries: Gauge
    let bytes: Gauge
    let loadDuration: Metrics.Timer

    init(factory: any MetricsFactory) {
        hits = Counter(label: TallyMetrics.cacheHits, factory: factory)
        misses = Counter(label: TallyMetrics.cacheMisses, factory: factory)
        stale = Counter(label: TallyMetrics.cacheStale, factory: factory)
        joins = Counter(label: TallyMetrics.cacheJoins, factory: factory)
        loadFailures = Counter(label: TallyMetrics.cacheLoadFailures, factory: factory)
        evictions = Counter(label: TallyMetrics.cacheEvictions, factory: factory)
        evictedBytes = Counter(label: TallyMetrics.cacheEvictedBytes, factory: factory)
        invalidations = Counter(label: TallyMetrics.cacheInvalidations, factory: factory)
        entries = Gauge(label: TallyMetrics.cacheEntries, factory: factory)
        bytes = Gauge(label: TallyMetrics.cacheBytes, factory: factory)
        loadDuration = Metrics.Timer(label: TallyMetrics.cacheLoadDuration, factory: factory)
    }
}
