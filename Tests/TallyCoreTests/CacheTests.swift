import Foundation
import GRDB
import TallyTestSupport
import Testing

@testable import TallyCore

@Suite("LRU store")
struct LRUStoreTests {
    @Test("least recently used goes first; a get refreshes recency")
    func order() {
        var store = LRUStore<String, Int>(maximumEntries: 3, maximumBytes: 1_000)
        store.put("a", 1, bytes: 1)
        store.put("b", 2, bytes: 1)
        store.put("c", 3, bytes: 1)
        #expect(store.get("a") == 1)
        let evicted = store.put("d", 4, bytes: 1)
        #expect(evicted.map(\.key) == ["b"])
        #expect(store.keysByRecency == ["d", "a", "c"])
        #expect(store.count == 3 && store.bytes == 3)
        store.remove("a")
        store.put("e", 5, bytes: 1)
        #expect(store.keysByRecency == ["e", "d", "c"])
    }

    @Test("the byte bound: a large entry evicts older ones; one larger than the bound is not stored")
    func bytes() {
        var store = LRUStore<String, Int>(maximumEntries: 100, maximumBytes: 100)
        for i in 0..<5 { store.put("k\(i)", i, bytes: 20) }
        #expect(store.bytes == 100)
        let evicted = store.put("big", 99, bytes: 70)
        #expect(evicted.map(\.key) == ["k0", "k1", "k2", "k3"])
        #expect(store.keysByRecency == ["big", "k4"])
        #expect(store.bytes == 90)
        #expect(store.put("huge", 1, bytes: 101).isEmpty)
        #expect(store.peek("huge") == nil)
        // Replacing an entry adjusts the byte count.
        store.put("k4", 4, bytes: 5)
        #expect(store.bytes == 75)
    }

    @Test("slots are reused: many operations keep the structure consistent")
    func churn() {
        var store = LRUStore<Int, Int>(maximumEntries: 50, maximumBytes: 1 << 30)
        var rng = SplitMix64(seed: 9)
        var reference: [Int] = []  // most recent first
        for _ in 0..<5_000 {
            let key = rng.below(120)
            if rng.chance(0.3) {
                _ = store.get(key)
                if let i = reference.firstIndex(of: key) { reference.remove(at: i); reference.insert(key, at: 0) }
            } else {
                store.put(key, key, bytes: 1)
                reference.removeAll { $0 == key }
                reference.insert(key, at: 0)
                if reference.count > 50 { reference.removeLast() }
            }
        }
        #expect(store.keysByRecency == reference)
    }
}

@Suite("Stats cache")
struct StatsCacheTests {
    static func cache(_ clock: ManualClock, entries: Int = 100, bytes: Int = 1 << 20) -> StatsCache {
        var policy = CachePolicy()
        policy.validation = .ttlOnly
        policy.maximumEntries = entries
        policy.maximumBytes = bytes
        return StatsCache(policy: policy, clock: clock, monitor: nil)
    }

    static let lifetime = CachePolicy.Lifetime(ttl: 10, staleWhileRevalidate: 5, maximumAge: 60)

    @Test("TTL: fresh until it expires, then loaded again")
    func ttl() async throws {
        let clock = ManualClock(), cache = Self.cache(clock), loads = CallCounter()
        let load: @Sendable () async throws -> Int = { loads.increment() }
        let lifetime = CachePolicy.Lifetime(ttl: 10)
        #expect(try await cache.value(for: "k", tables: ["t"], lifetime: lifetime, load: load, weigh: { _ in 8 }) == (1, .miss))
        clock.advance(9.9)
        #expect(try await cache.value(for: "k", tables: ["t"], lifetime: lifetime, load: load, weigh: { _ in 8 }) == (1, .hit))
        clock.advance(0.1)
        #expect(try await cache.value(for: "k", tables: ["t"], lifetime: lifetime, load: load, weigh: { _ in 8 }) == (2, .miss))
        let s = cache.snapshot
        #expect(s.hits == 1 && s.misses == 2 && s.loadsSucceeded == 2 && s.staleServed == 0 && s.entries == 1 && s.bytes == 8)
    }

    @Test("stale-while-revalidate: the stale value at once, one background refresh")
    func staleWhileRevalidate() async throws {
        let clock = ManualClock(), cache = Self.cache(clock), loads = CallCounter()
        let load: @Sendable () async throws -> Int = { loads.increment() }
        _ = try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 })
        clock.advance(12)  // past the TTL, inside the SWR window
        async let a = cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 })
        async let b = cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 })
        let (ra, rb) = try await (a, b)
        #expect(ra == (1, .stale) && rb == (1, .stale))
        await cache.idle()
        #expect(loads.value == 2)  // one refresh for both
        #expect(try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 }) == (2, .hit))
        let s = cache.snapshot
        #expect(s.staleServed == 2 && s.hits == 1 && s.misses == 1 && s.loadsSucceeded == 2)
        // Past TTL + SWR: a plain miss.
        clock.advance(16)
        #expect(try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 }) == (3, .miss))
    }

    @Test("stale-if-error: a failed refresh keeps the old value, until the hard maximum age")
    func staleIfError() async throws {
        let clock = ManualClock(), cache = Self.cache(clock), loads = CallCounter()
        let failing = FlagBox()
        let load: @Sendable () async throws -> Int = {
            let n = loads.increment()
            if failing.isSet { throw TestFailure(id: n) }
            return n
        }
        _ = try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 })
        failing.set()
        clock.advance(12)
        #expect(try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 }) == (1, .stale))
        await cache.idle()
        #expect(cache.snapshot.loadsFailed == 1)
        // Beyond TTL + SWR (17 s) but within the maximum age: still served stale.
        clock.advance(30)
        #expect(try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 }) == (1, .stale))
        await cache.idle()
        // Past the maximum age: the error reaches the caller.
        clock.advance(20)
        await #expect(throws: TestFailure.self) {
            _ = try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 })
        }
    }

    @Test("a foreground miss whose load fails serves an expired value younger than its maximum age")
    func staleIfErrorOnMiss() async throws {
        let clock = ManualClock(), cache = Self.cache(clock)
        let failing = FlagBox()
        let load: @Sendable () async throws -> Int = {
            if failing.isSet { throw TestFailure(id: 0) }
            return 7
        }
        _ = try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 })
        failing.set()
        clock.advance(20)  // past TTL + SWR, within the maximum age
        #expect(try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 }) == (7, .stale))
    }

    @Test("LRU order and evictions are counted, in entries and bytes")
    func evictionStats() async throws {
        let clock = ManualClock(), cache = Self.cache(clock, entries: 2, bytes: 100)
        let lifetime = CachePolicy.Lifetime(ttl: 100)
        for key in ["a", "b"] {
            _ = try await cache.value(for: key, tables: [], lifetime: lifetime, load: { key }, weigh: { _ in 30 })
        }
        _ = try await cache.value(for: "a", tables: [], lifetime: lifetime, load: { "x" }, weigh: { _ in 30 })  // a is recent
        _ = try await cache.value(for: "d", tables: [], lifetime: lifetime, load: { "d" }, weigh: { _ in 30 })  // evicts b (count)
        #expect(cache.keysByRecency == ["d", "a"])
        _ = try await cache.value(for: "c", tables: [], lifetime: lifetime, load: { "c" }, weigh: { _ in 80 })  // evicts a (count) and d (bytes)
        #expect(cache.keysByRecency == ["c"])
        let s = cache.snapshot
        #expect(s.evictions == 3 && s.evictedBytes == 90 && s.entries == 1 && s.bytes == 80)
    }

    @Test("single-flight: 200 concurrent cold requests run one computation")
    func singleFlight() async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 2_000)
        let cache = StatsCache(database: database)
        let engine = TallyEngine(database: database, cache: .using(cache))
        let dashboards = try await withThrowingTaskGroup(of: Dashboard.self) { group in
            for _ in 0..<200 { group.addTask { try await engine.dashboard() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(dashboards.count == 200)
        #expect(Set(dashboards.map(\.bookings.total)) == [2_000])
        let s = cache.snapshot
        #expect(s.loadsSucceeded == 1)
        #expect(s.misses + s.hits == 200)
        #expect(s.singleFlightJoins == s.misses - 1)
    }

    @Test("a failing computation is shared by all waiters and not cached")
    func sharedFailure() async throws {
        let clock = ManualClock(), cache = Self.cache(clock), loads = CallCounter()
        let gate = Gate()
        let load: @Sendable () async throws -> Int = {
            let n = loads.increment()
            await gate.wait()
            throw TestFailure(id: n)
        }
        let requests = (0..<50).map { _ in
            Task { () -> TestFailure? in
                do { _ = try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 }); return nil } catch {
                    return error as? TestFailure
                }
            }
        }
        // Every request waits on the one load before it fails.
        await eventually { cache.waiters(for: "k") == 50 }
        gate.open()
        var errors: [TestFailure?] = []
        for request in requests { errors.append(await request.value) }
        #expect(Set(errors) == [TestFailure(id: 1)])
        #expect(loads.value == 1)
        #expect(cache.snapshot.entries == 0 && cache.snapshot.loadsFailed == 1)
        // Not cached: the next request loads again.
        await #expect(throws: TestFailure.self) {
            _ = try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 })
        }
        #expect(loads.value == 2)
    }

    @Test("cancelling one waiter neither cancels the computation nor starts another")
    func cancellation() async throws {
        let clock = ManualClock(), cache = Self.cache(clock), loads = CallCounter()
        let gate = Gate()
        let load: @Sendable () async throws -> Int = {
            loads.increment()
            await gate.wait()
            return 42
        }
        let cancelled = Task { try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 }) }
        let others = (0..<10).map { _ in
            Task { try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 }) }
        }
        await eventually { cache.waiters(for: "k") == 11 }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { _ = try await cancelled.value }
        #expect(cache.waiters(for: "k") == 10)
        gate.open()
        for task in others {
            let (value, status) = try await task.value
            #expect(value == 42 && status == .miss)
        }
        #expect(loads.value == 1)
        #expect(cache.snapshot.loadsCancelled == 0)
        #expect(try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 }) == (42, .hit))
    }

    @Test("when every waiter is cancelled (clients gone), the computation is cancelled too")
    func everyWaiterCancelled() async throws {
        let clock = ManualClock(), cache = Self.cache(clock), loads = CallCounter()
        let started = Gate(), sawCancellation = FlagBox()
        let load: @Sendable () async throws -> Int = {
            loads.increment()
            started.open()
            // Runs until cancelled: only a cancellation ends it.
            let blocker = Gate()
            await withTaskCancellationHandler {
                await blocker.wait()
            } onCancel: {
                sawCancellation.set()
                blocker.open()
            }
            throw CancellationError()
        }
        let requests = (0..<3).map { _ in
            Task { try await cache.value(for: "k", tables: [], lifetime: Self.lifetime, load: load, weigh: { _ in 1 }) }
        }
        await started.wait()
        await eventually { cache.waiters(for: "k") == 3 }
        for request in requests { request.cancel() }
        for request in requests { await #expect(throws: CancellationError.self) { _ = try await request.value } }
        await eventually { sawCancellation.isSet }
        await cache.idle()
        #expect(cache.snapshot.loadsCancelled == 1)
        #expect(cache.snapshot.entries == 0)
    }
}

@Suite("Cache freshness", .serialized)
struct CacheFreshnessTests {
    static let payment = "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 12345, 'COMPLETED', 1700000000000)"

    @Test("a write through Tally's pool invalidates exactly the entries of the written tables")
    func ownWrites() async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 1_000)
        let cache = StatsCache(database: database)
        try cache.observe(writer: database.writer!)
        let engine = TallyEngine(database: database, cache: .using(cache))
        let before = try await engine.dashboard()
        let modules = try await engine.moduleCounts()
        #expect(try await engine.dashboard().meta.cache == "hit")
        try await database.writer!.write { try $0.execute(sql: Self.payment) }
        let after = try await engine.dashboard()
        #expect(after.meta.cache == "miss")
        #expect(after.payments.total == before.payments.total + 1)
        #expect(after.payments.revenue == Amount.integer(before.payments.revenue.integer! + 12345))
        // The module counts read neither payments nor bookings: still cached.
        let again = try await engine.moduleCounts()
        #expect(again.meta.cache == "hit")
        #expect(again.organizations == modules.organizations)
        let s = cache.snapshot
        #expect(s.invalidationsByTable["payments"] == 1)
        #expect(s.invalidationsByTable["*"] == nil)
    }

    @Test("a write by another connection, or the sqlite3 tool, is seen by the next call")
    func foreignWrites() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("foreign.sqlite")
        try generatedDatabase(in: dir, bookings: 1_000, name: "foreign.sqlite").close()
        let reader = try TallyDatabase.openReadOnly(path: path)
        let engine = TallyEngine(database: reader)
        let before = try await engine.dashboard()
        #expect(try await engine.dashboard().meta.cache == "hit")
        let other = try DatabaseQueue(path: path)
        try await other.write { try $0.execute(sql: Self.payment) }
        let after = try await engine.dashboard()
        #expect(after.meta.cache == "miss")
        #expect(after.payments.total == before.payments.total + 1)
        #expect(try await engine.dashboard().meta.cache == "hit")

        let sqlite3 = try runProcess("sqlite3", [path, Self.payment])
        #expect(sqlite3.status == 0, "\(sqlite3.output)")
        let third = try await engine.dashboard()
        #expect(third.meta.cache == "miss")
        #expect(third.payments.total == before.payments.total + 2)
    }

    @Test("a write that lands while a computation runs does not leave it stored as fresh")
    func writeDuringLoad() async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 300)
        let cache = StatsCache(database: database)
        let writer = try DatabaseQueue(path: database.path)
        let reader = database.reader
        let load: @Sendable () async throws -> Int64 = {
            // The snapshot is read, then another connection commits.
            let count = try await reader.read { try Int64.fetchOne($0, sql: "SELECT COUNT(*) FROM payments")! }
            try await writer.write { try $0.execute(sql: Self.payment) }
            return count
        }
        let lifetime = CachePolicy.Lifetime(ttl: 300)
        let (first, status) = try await cache.value(for: "count", tables: ["payments"], lifetime: lifetime, load: load, weigh: { _ in 8 })
        #expect(status == .miss)
        #expect(cache.snapshot.loadsDiscarded == 1)
        #expect(cache.snapshot.entries == 0)
        let (second, secondStatus) = try await cache.value(
            for: "count", tables: ["payments"], lifetime: lifetime,
            load: { try await reader.read { try Int64.fetchOne($0, sql: "SELECT COUNT(*) FROM payments")! } },
            weigh: { _ in 8 })
        #expect(secondStatus == .miss)
        #expect(second == first + 1)
    }

    @Test("a request never joins a computation that started before a commit it must see")
    func noJoinAcrossCommits() async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 300)
        let cache = StatsCache(database: database)
        let writer = try DatabaseQueue(path: database.path)
        let reader = database.reader
        let snapshotTaken = Gate(), release = Gate()
        let slowLoad: @Sendable () async throws -> Int64 = {
            let count = try await reader.read { try Int64.fetchOne($0, sql: "SELECT COUNT(*) FROM payments")! }
            snapshotTaken.open()
            await release.wait()
            return count
        }
        let lifetime = CachePolicy.Lifetime(ttl: 300)
        let first = Task { try await cache.value(for: "count", tables: ["payments"], lifetime: lifetime, load: slowLoad, weigh: { _ in 8 }) }
        await snapshotTaken.wait()
        // A commit finishes; a request made after it must see it.
        try await writer.write { try $0.execute(sql: Self.payment) }
        let second = try await cache.value(
            for: "count", tables: ["payments"], lifetime: lifetime,
            load: { try await reader.read { try Int64.fetchOne($0, sql: "SELECT COUNT(*) FROM payments")! } },
            weigh: { _ in 8 })
        release.open()
        let (old, _) = try await first.value
        #expect(second.0 == old + 1)
        #expect(cache.snapshot.singleFlightJoins == 0)
    }

    @Test("ttlOnly keeps serving the cached value after a write, as the seeds did")
    func ttlOnly() async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 300)
        let engine = TallyEngine(database: database, cache: .using(StatsCache(ttlOnly: CachePolicy())))
        let before = try await engine.dashboard()
        try await database.writer!.write { try $0.execute(sql: Self.payment) }
        let after = try await engine.dashboard()
        #expect(after.meta.cache == "hit")
        #expect(after.payments.total == before.payments.total)
        #expect(try await engine.dashboard(useCache: false).payments.total == before.payments.total + 1)
    }

    @Test("a closed revenue range outlives the TTL; an open one does not")
    func periodAwareLifetimes() async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 300)
        let clock = ManualClock()
        let engine = TallyEngine(database: database, cache: .using(StatsCache(clock: clock, monitor: database.monitor)))
        let closed = try RevenueQuery(period: "month", timeZone: "UTC", from: "2024-01-01", to: "2025-01-01")
        let open = try RevenueQuery(period: "month", timeZone: "UTC", from: "2024-01-01")
        _ = try await engine.revenue(closed)
        _ = try await engine.revenue(open)
        clock.advance(24 * 3600)
        #expect(try await engine.revenue(closed).meta.cache == "hit")
        #expect(try await engine.revenue(open).meta.cache == "miss")
    }

    @Test("an in-memory database gets no cache: nothing could tell it about writes")
    func inMemoryHasNoCache() async throws {
        let queue = try DatabaseQueue()
        try await queue.write { db in try db.execute(sql: TallySchema.sql) }
        let database = try TallyDatabase(queue)
        #expect(database.cache == nil)
        let engine = TallyEngine(database: database)
        #expect(try await engine.dashboard().meta.cache == "bypass")
        try await queue.write { try $0.execute(sql: "INSERT INTO organizations (id, name, createdAt) VALUES ('o', 'O', 0)") }
        #expect(try await engine.dashboard().modules.organizations == 1, "every answer computed: the write is seen")
    }
}

@Suite("Cache sweeper")
struct CacheSweeperTests {
    @Test("sweep removes only entries past every window")
    func sweep() async throws {
        let clock = ManualClock()
        let cache = StatsCache(clock: clock, monitor: nil)
        let short = CachePolicy.Lifetime(ttl: 10, staleWhileRevalidate: 5, maximumAge: 20)
        let long = CachePolicy.Lifetime(ttl: 100)
        _ = try await cache.value(for: "short", tables: [], lifetime: short, load: { 1 }, weigh: { _ in 1 })
        _ = try await cache.value(for: "long", tables: [], lifetime: long, load: { 2 }, weigh: { _ in 1 })
        clock.advance(19)
        #expect(cache.sweep() == 0)
        clock.advance(1)
        #expect(cache.sweep() == 1)
        #expect(cache.keysByRecency == ["long"])
    }
}
