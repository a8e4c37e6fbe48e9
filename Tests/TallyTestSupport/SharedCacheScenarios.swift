public import Foundation
import GRDB
public import TallyCore
import Testing

/// What a shared cache level must do, whatever its store: run against the
/// in-memory store in `TallyCoreTests` and against a real `redis-server`
/// in `TallyRedisTests`.
public struct SharedCacheScenarios: Sendable {
    public let makeStore: @Sendable () throws -> any SharedAnswerStore
    let settings: SharedCacheLevel.Settings

    /// - parameter prefix: keys of this run (several runs may share one Redis).
    public init(prefix: String, makeStore: @escaping @Sendable () throws -> any SharedAnswerStore) {
        self.makeStore = makeStore
        // No wall-clock wait in a test: a failed store is asked again at
        // at once, and a slow one (every test running at once on 2 cores)
        // is waited for: these tests check answers, not speed.
        settings = SharedCacheLevel.Settings(
            operationTimeout: .seconds(120), failuresToOpen: 1, openDuration: .zero, prefix: prefix)
    }

    /// A generated file with rollups (hence change counters).
    public static func database(in dir: TemporaryDirectory, bookings: Int = 400) throws -> String {
        let database = try generatedDatabase(in: dir, bookings: bookings)
        try Rollups.enable(on: database)
        try database.close()
        return database.path
    }

    /// An engine of its own (own pool, own in-process cache) on `path`,
    /// sharing `store`: what another process is.
    public func engine(_ path: String, store: any SharedAnswerStore) throws -> TallyEngine {
        let database = try TallyDatabase.openReadOnly(path: path)
        let level = try SharedCacheLevel(store: store, database: database, settings: settings)
        return TallyEngine(database: database, cache: .using(StatsCache(database: database, sharedLevel: level)))
    }

    /// The dashboard computed afresh, with no cache at all.
    static func reference(_ path: String) async throws -> Dashboard {
        var answer = try await TallyEngine(database: try TallyDatabase.openReadOnly(path: path), cache: .disabled).dashboard()
        answer.meta = ResponseMeta()
        return answer
    }

    static func numbers(_ dashboard: Dashboard) -> Dashboard {
        var copy = dashboard
        copy.meta = ResponseMeta()
        return copy
    }

    /// Two engines share answers; a write by another connection is never
    /// served stale by either; a value that is not Tally's is ignored.
    public func shareAnswersNeverStale() async throws {
        let dir = try TemporaryDirectory()
        let path = try Self.database(in: dir)
        let store = try makeStore()
        let a = try engine(path, store: store), b = try engine(path, store: store)

        let first = try await a.dashboard()
        #expect(first.meta.sharedCache == "stored")
        let shared = try await b.dashboard()
        #expect(shared.meta.sharedCache == "hit" && shared.meta.statements == 0)
        #expect(Self.numbers(shared) == Self.numbers(first))
        #expect(Self.numbers(shared) == (try await Self.reference(path)))

        // Another writer (as the sqlite3 shell would be).
        let writer = try DatabaseQueue(path: path)
        try await writer.write { db in
            try db.execute(sql: "UPDATE bookings SET status = 'CANCELLED' WHERE id IN (SELECT id FROM bookings WHERE status != 'CANCELLED' LIMIT 7)")
            try db.execute(sql: "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 12345, 'COMPLETED', 1735689600000)")
        }
        try writer.close()
        let expected = try await Self.reference(path)
        #expect(Self.numbers(first) != expected)
        for engine in [b, a] {
            let after = try await engine.dashboard()
            #expect(Self.numbers(after) == expected, "an engine served an answer the write made wrong")
        }

        // A foreign value under the key the next answer will use: ignored.
        let c = try engine(path, store: store)
        let revenueKey = TallyEngine.revenueKey(try RevenueQuery(period: "month"), strategy: .auto)
        let stamp = try #require(try c.cache?.currentStamp(tables: TallyEngine.revenueTables))
        let storeKey = try #require(c.cache?.sharedLevel?.storeKey(revenueKey, stamp: stamp))
        try await store.set(storeKey, Array("not tally's\u{0}\r\n".utf8), ttl: .seconds(60))
        let revenue = try await c.revenue(try RevenueQuery(period: "month"))
        #expect(revenue.meta.sharedCache == "stored")
        let direct = try await TallyEngine(database: try TallyDatabase.openReadOnly(path: path), cache: .disabled)
            .revenue(try RevenueQuery(period: "month"))
        #expect(revenue.buckets == direct.buckets && revenue.total == direct.total)
        // The stored value replaced the foreign one: another engine reads it.
        let d = try engine(path, store: store)
        #expect(try await d.revenue(try RevenueQuery(period: "month")).meta.sharedCache == "hit")
    }

    /// Concurrent misses on several engines compute once.
    public func concurrentMissesComputeOnce(engines count: Int = 4) async throws {
        let dir = try TemporaryDirectory()
        let path = try Self.database(in: dir, bookings: 3_000)
        let store = try makeStore()
        let engines = try (0..<count).map { _ in try engine(path, store: store) }
        let outcomes = try await withThrowingTaskGroup(of: (String?, Dashboard).self) { group in
            for engine in engines {
                group.addTask {
                    let answer = try await engine.dashboard(strategy: .singlePass)
                    return (answer.meta.sharedCache, answer)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0.0 == "stored" }.count == 1, "\(outcomes.map(\.0))")
        #expect(outcomes.allSatisfy { $0.0 == "stored" || $0.0 == "waited" || $0.0 == "hit" })
        let expected = try await Self.reference(path)
        #expect(outcomes.allSatisfy { Self.numbers($0.1) == expected })
    }

    /// The store failing never fails an answer; when it is back, it is used again.
    public func storeTroubleNeverBreaksAnAnswer(
        breakStore: @Sendable () async throws -> Void,
        repairStore: @Sendable () async throws -> Void
    ) async throws {
        let dir = try TemporaryDirectory()
        let path = try Self.database(in: dir)
        let store = try makeStore()
        let expected = try await Self.reference(path)
        try await breakStore()
        let a = try engine(path, store: store)
        let down = try await a.dashboard()
        #expect(down.meta.sharedCache == "unavailable")
        #expect(Self.numbers(down) == expected)
        try await repairStore()
        let b = try engine(path, store: store)
        let back = try await b.dashboard()
        #expect(back.meta.sharedCache == "stored" || back.meta.sharedCache == "hit", "\(String(describing: back.meta.sharedCache))")
        #expect(Self.numbers(back) == expected)
    }
}
