/// `meta` of every answer: how it was computed.
public struct ResponseMeta: Codable, Sendable, Equatable {
    /// The strategy that ran (`rollup`, `single-pass`, `grouped`, `naive`,
    /// or for module counts `batched`, `per-org`).
    public var strategy: String?
    /// `miss` when computed for this request; `hit` or `stale` from the
    /// cache; `bypass` without one.
    public var cache: String = "miss"
    /// When the numbers were computed, ISO 8601 UTC.
    public var computedAt: String?
    /// Time to serve this answer (from the cache: the lookup's time).
    public var durationMs: Double = 0
    /// SQL statements run to compute the answer (0 from the cache): the
    /// seeds' cost metric, since their hosted database billed per query.
    /// Schema lookups and transaction control are not counted.
    public var statements: Int = 0
    /// How the shared cache level served a computed answer (`hit`, `stored`,
    /// `waited`, `unavailable`); absent without one, and on an in-process hit.
    public var sharedCache: String?
    /// What the database lacks of Tally's schema when it is read through a
    /// schema map (`vehicles`, `drivers.rating`): a table's part of the
    /// answer is left out, a column reads as NULL. Absent otherwise.
    public var absent: [String]?

    public init(
        strategy: String? = nil, cache: String = "miss", computedAt: String? = nil, durationMs: Double = 0,
        statements: Int = 0
    ) {
        self.strategy = strategy
        self.cache = cache
        self.computedAt = computedAt
        self.durationMs = durationMs
        self.statements = statements
    }
}
