/// The names of every metric Tally's libraries record through swift-metrics,
/// with one line of help each, so that an executable's backend can describe
/// them (`# HELP` in Prometheus text) without the libraries choosing one.
///
/// Durations are recorded as swift-metrics timers: a Prometheus backend
/// exposes them as histograms in seconds, hence the `_seconds` names.
public enum TallyMetrics {
    public static let engineRequests = "tally_engine_requests_total"
    public static let engineDuration = "tally_engine_request_duration_seconds"
    public static let engineStatements = "tally_engine_statements_total"
    public static let engineRowsScanned = "tally_engine_rows_scanned_total"
    public static let cacheHits = "tally_cache_hits_total"
    public static let cacheMisses = "tally_cache_misses_total"
    public static let cacheStale = "tally_cache_stale_served_total"
    public static let cacheJoins = "tally_cache_single_flight_joins_total"
    public static let cacheLoadFailures = "tally_cache_load_failures_total"
    public static let cacheEvictions = "tally_cache_evictions_total"
    public static let cacheEvictedBytes = "tally_cache_evicted_bytes_total"
    public static let cacheInvalidations = "tally_cache_invalidations_total"
    public static let cacheEntries = "tally_cache_entries"
    public static let cacheBytes = "tally_cache_bytes"
    public static let cacheLoadDuration = "tally_cache_load_duration_seconds"
    public static let httpRequests = "tally_http_requests_total"
    public static let httpDuration = "tally_http_request_duration_seconds"
    public static let sharedHits = "tally_shared_cache_hits_total"
    public static let sharedMisses = "tally_shared_cache_misses_total"
    public static let sharedErrors = "tally_shared_cache_errors_total"
    public static let sharedDuration = "tally_shared_cache_request_duration_seconds"
    public static let sharedState = "tally_shared_cache_available"
    public static let sharedExact = "tally_shared_cache_exact"

    /// One line of help per metric name.
    public static let help: [String: String] = [
        engineRequests: "Answers computed by the engine (cache misses and bypasses), by kind and strategy.",
        engineDuration: "Time to compute an answer, by kind and strategy.",
        engineStatements: "SQL statements the engine ran to compute answers, by kind and strategy.",
        engineRowsScanned: "Rows stepped by single-pass scans.",
        cacheHits: "Answers served fresh from the in-process cache.",
        cacheMisses: "Requests the in-process cache could not answer (computed or joined).",
        cacheStale: "Stale answers served while refreshing or after a failed refresh.",
        cacheJoins: "Requests that waited for a computation already running (single-flight).",
        cacheLoadFailures: "Computations behind the cache that failed.",
        cacheEvictions: "Entries evicted by the entry or byte bound.",
        cacheEvictedBytes: "Bytes of the entries evicted.",
        cacheInvalidations: "Entries dropped because a committed write changed their tables.",
        cacheEntries: "Entries in the in-process cache.",
        cacheBytes: "Bytes of the answers in the in-process cache.",
        cacheLoadDuration: "Time of the computations behind the cache.",
        httpRequests: "HTTP requests answered, by route, method and status.",
        httpDuration: "Time to answer an HTTP request, by route.",
        sharedHits: "Answers found in the shared (Redis) cache.",
        sharedMisses: "Shared cache lookups that found nothing usable.",
        sharedErrors: "Shared cache operations that failed or timed out.",
        sharedDuration: "Time of shared cache operations.",
        sharedState: "1 while the shared cache is reachable, 0 while its circuit breaker is open.",
        sharedExact: "1 when shared answers are keyed by the file's change counters (exact), 0 when shared by time only.",
    ]
}
