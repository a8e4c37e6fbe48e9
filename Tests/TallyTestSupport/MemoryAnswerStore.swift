public import TallyCore

/// A `SharedAnswerStore` in memory, shared by the engines of one test as
/// Redis is by processes; `failing` makes every operation throw (Redis down).
public final class MemoryAnswerStore: SharedAnswerStore {
    private struct Stored {
        let bytes: [UInt8]
        let expires: ContinuousClock.Instant
    }

    private let values = Locked<[String: Stored]>([:])
    private let failure = Locked(false)
    private let operationCount = Locked(0)

    public struct Down: Error {}

    public init() {}

    /// Every operation fails while true.
    public var failing: Bool {
        get { failure.load() }
        set { failure.withLock { $0 = newValue } }
    }

    /// Operations asked of the store so far.
    public var operations: Int { operationCount.load() }

    /// Puts raw bytes under a key (a foreign or malformed value).
    public func put(_ key: String, _ bytes: [UInt8]) {
        values.withLock { $0[key] = Stored(bytes: bytes, expires: .now + .seconds(3600)) }
    }

    public var keys: [String] { values.withLock { Array($0.keys) } }

    private func check() throws {
        operationCount.withLock { $0 += 1 }
        if failure.load() { throw Down() }
    }

    public func get(_ key: String) async throws -> [UInt8]? {
        try check()
        return values.withLock { values in
            guard let stored = values[key], stored.expires > .now else { return nil }
            return stored.bytes
        }
    }

    public func set(_ key: String, _ value: [UInt8], ttl: Duration) async throws {
        try check()
        values.withLock { $0[key] = Stored(bytes: value, expires: .now + ttl) }
    }

    public func setIfAbsent(_ key: String, _ value: [UInt8], ttl: Duration) async throws -> Bool {
        try check()
        return values.withLock { values in
            if let stored = values[key], stored.expires > .now { return false }
            values[key] = Stored(bytes: value, expires: .now + ttl)
            return true
        }
    }

    public func delete(_ key: String) async throws {
        try check()
        _ = values.withLock { $0.removeValue(forKey: key) }
    }
}
