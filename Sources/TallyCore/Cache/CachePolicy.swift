/// How long entries live, how much the cache holds, and how it checks freshness.
public struct CachePolicy: Sendable {
    /// Lifetimes of one class of entries.
    public struct Lifetime: Sendable, Equatable {
        /// Served as fresh for this long.
        public var ttl: Double
        /// After `ttl`, served stale at once for this long while one background refresh runs.
        public var staleWhileRevalidate: Double
        /// After a failed refresh, the old value is served stale up to this age; never beyond.
        public var maximumAge: Double

        public init(ttl: Double, staleWhileRevalidate: Double = 0, maximumAge: Double? = nil) {
            self.ttl = ttl
            self.staleWhileRevalidate = staleWhileRevalidate
            self.maximumAge = maximumAge ?? (ttl + staleWhileRevalidate)
        }
    }

    /// When a cached value is checked against the database before being served.
    public enum Validation: String, Sendable, Equatable {
        /// `PRAGMA data_version` on a dedicated connection before each hit (default):
        /// never serves what a committed write made wrong.
        case always
        /// TTL only, the seeds' behaviour: a write is visible once the entry expires.
        case ttlOnly
    }

    /// The dashboard (the seeds' 5 minutes).
    public var dashboard = Lifetime(ttl: 300, staleWhileRevalidate: 60, maximumAge: 3600)
    /// Revenue over a range that is not closed yet (the seeds' 5 minutes).
    public var revenue = Lifetime(ttl: 300, staleWhileRevalidate: 60, maximumAge: 3600)
    /// Per-user / per-organization data such as module counts (the seeds' 2 minutes).
    public var perEntity = Lifetime(ttl: 120, staleWhileRevalidate: 30, maximumAge: 1800)
    /// Revenue over a range entirely in the past: lives until its tables change.
    public var closedRange = Lifetime(ttl: .infinity)

    public var validation = Validation.always
    public var maximumEntries = 1_000
    public var maximumBytes = 16 * 1024 * 1024

    public init() {}
}
