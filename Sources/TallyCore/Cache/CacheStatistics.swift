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

/// The cache's swift-metrics instruments, created once with fixed labels.
struct CacheMetrics {
    let hits = Counter(label: "tally_cache_hits_total")
    let misses = Counter(label: "tally_cache_misses_total")
    let stale = Counter(label: "tally_cache_stale_served_total")
    let joins = Counter(label: "tally_cache_single_flight_joins_total")
    let loadFailures = Counter(label: "tally_cache_load_failures_total")
    let evictions = Counter(label: "tally_cache_evictions_total")
    let evictedBytes = Counter(label: "tally_cache_evicted_bytes_total")
    let invalidations = Counter(label: "tally_cache_invalidations_total")
    let entries = Gauge(label: "tally_cache_entries")
    let bytes = Gauge(label: "tally_cache_bytes")
    let loadDuration = Metrics.Timer(label: "tally_cache_load_duration_seconds")
}
