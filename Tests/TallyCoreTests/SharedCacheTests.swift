import Foundation
import MetricsTestKit
import TallyCore
import TallyTestSupport
import Testing

@Suite("Shared cache level (in-memory store)")
struct SharedCacheTests {
    static func scenarios(_ store: MemoryAnswerStore) -> SharedCacheScenarios {
        SharedCacheScenarios(prefix: "t") { store }
    }

    @Test("two engines share answers; a write by another connection is never served stale; a foreign value is ignored")
    func share() async throws {
        try await Self.scenarios(MemoryAnswerStore()).shareAnswersNeverStale()
    }

    @Test("concurrent misses on four engines compute once")
    func once() async throws {
        try await Self.scenarios(MemoryAnswerStore()).concurrentMissesComputeOnce()
    }

    @Test("a failing store never fails an answer, and is used again once it works")
    func trouble() async throws {
        let store = MemoryAnswerStore()
        try await Self.scenarios(store).storeTroubleNeverBreaksAnAnswer(
            breakStore: { store.failing = true }, repairStore: { store.failing = false })
    }

    @Test("exact sharing needs change counters: refused with what to do; TTL-only only when asked")
    func needsCounters() throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 50)
        let error = #expect(throws: TallyError.self) {
            try SharedCacheLevel(store: MemoryAnswerStore(), database: database)
        }
        #expect(error?.kind == .state && error?.message.contains("tally rollups enable") == true)
        #expect(error?.message.contains("--shared-cache-ttl-only") == true)
        let level = try SharedCacheLevel(store: MemoryAnswerStore(), mode: .ttlOnly, database: database)
        #expect(level.storeKey("k", stamp: nil) == "tally:v1:ttl:k")
    }

    @Test("shared hits, misses and errors are counted")
    func metrics() async throws {
        let dir = try TemporaryDirectory()
        let path = try SharedCacheScenarios.database(in: dir)
        let store = MemoryAnswerStore()
        let metrics = TestMetrics()
        func engine() throws -> TallyEngine {
            let database = try TallyDatabase.openReadOnly(path: path)
            let level = try SharedCacheLevel(
                store: store, database: database,
                settings: .init(operationTimeout: .seconds(120), failuresToOpen: 1, openDuration: .zero), metricsFactory: metrics)
            return TallyEngine(database: database, cache: .using(StatsCache(database: database, sharedLevel: level)))
        }
        _ = try await engine().dashboard()
        _ = try await engine().dashboard()
        store.failing = true
        _ = try await engine().dashboard()
        #expect(try metrics.expectCounter(TallyMetrics.sharedMisses).totalValue == 1)
        #expect(try metrics.expectCounter(TallyMetrics.sharedHits).totalValue == 1)
        #expect(try metrics.expectCounter(TallyMetrics.sharedErrors).totalValue >= 1)
    }
}
