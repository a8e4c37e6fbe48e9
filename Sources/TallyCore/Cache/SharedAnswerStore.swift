/// Where a `SharedCacheLevel` keeps answers between processes: Redis in the
/// `TallyRedis` library, or anything offering these four operations.
///
/// `TallyCore` defines the protocol and not a client, so that an embedder
/// that does not share a cache links no networking code. Every operation
/// should fail fast (a short timeout) rather than wait: the level treats any
/// error as "not shared this time" and computes the answer itself.
public protocol SharedAnswerStore: Sendable {
    /// The bytes stored under `key`, or nil.
    func get(_ key: String) async throws -> [UInt8]?

    /// Stores `value` under `key`, expiring after `ttl`.
    func set(_ key: String, _ value: [UInt8], ttl: Duration) async throws

    /// Stores `value` under `key` only when nothing is there (`SET NX PX`):
    /// true when it was stored. The level's cross-process lock.
    func setIfAbsent(_ key: String, _ value: [UInt8], ttl: Duration) async throws -> Bool

    /// Removes `key`.
    func delete(_ key: String) async throws

    /// The longest any one operation can take before it fails by itself,
    /// when the store guarantees one (a client with its own pool, connect
    /// and command timeouts); nil when it does not. Within the level's
    /// `operationTimeout`, the level adds no timer of its own: a race
    /// against a timer costs a task group per operation.
    var operationTimeLimit: Duration? { get }
}

extension SharedAnswerStore {
    /// No guarantee: the level times each operation itself.
    public var operationTimeLimit: Duration? { nil }
}
