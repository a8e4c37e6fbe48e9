public import TallyCore

/// The shared cache level's store in Redis: `GET`, `SET … PX`, `SET … PX NX`
/// (the cross-process lock) and `DEL` through a `RedisClient`'s pool.
///
/// For example, behind an engine's in-process cache:
///
/// ```swift
/// let database = try TallyDatabase.openReadOnly(path: "tally.sqlite")
/// let client = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:6379"))
/// let level = try SharedCacheLevel(store: RedisAnswerStore(client: client), database: database)
/// let engine = TallyEngine(database: database, cache: .using(StatsCache(database: database, sharedLevel: level)))
/// ```
public struct RedisAnswerStore: SharedAnswerStore {
    public let client: RedisClient

    public init(client: RedisClient) {
        self.client = client
    }

    public func get(_ key: String) async throws -> [UInt8]? {
        try await client.get(key)
    }

    public func set(_ key: String, _ value: [UInt8], ttl: Duration) async throws {
        _ = try await client.set(key, value, expiresInMilliseconds: Self.milliseconds(ttl))
    }

    public func setIfAbsent(_ key: String, _ value: [UInt8], ttl: Duration) async throws -> Bool {
        try await client.set(key, value, expiresInMilliseconds: Self.milliseconds(ttl), onlyIfAbsent: true)
    }

    public func delete(_ key: String) async throws {
        _ = try await client.del(key)
    }

    /// The client fails an operation by itself within its pool, connect and
    /// command timeouts: the level then needs no timer of its own.
    public var operationTimeLimit: Duration? {
        let c = client.configuration
        return c.poolTimeout + c.connectTimeout + c.commandTimeout
    }

    /// Redis refuses a `PX` of 0 or less.
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1_000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}
