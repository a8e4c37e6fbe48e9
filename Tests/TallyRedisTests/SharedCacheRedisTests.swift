import Foundation
import TallyCore
import TallyRedis
import TallyTestSupport
import Testing

/// The shared cache level on a real `redis-server`: the same scenarios as on
/// the in-memory store (`SharedCacheTests`), plus Redis killed and restarted.
@Suite(
    "Shared cache level on redis-server",
    .enabled(if: RedisServerProcess.shouldRun, "redis-server is not installed (apt-get install redis-server); with CI set these tests fail instead")
)
struct SharedCacheRedisTests {
    /// Each test its own server, so that killing one disturbs no other test.
    static func scenarios(_ server: RedisServerProcess) throws -> (SharedCacheScenarios, RedisClient) {
        let client = RedisClient(configuration: try server.configuration())
        let store = RedisAnswerStore(client: client)
        return (SharedCacheScenarios(prefix: "t\(UInt32.random(in: 0...UInt32.max))") { store }, client)
    }

    @Test("two engines share answers through Redis; a write by another connection is never served stale; a foreign value is ignored")
    func share() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let (scenarios, client) = try Self.scenarios(server)
        try await scenarios.shareAnswersNeverStale()
        await client.shutdown()
    }

    @Test("concurrent misses on four engines sharing one Redis compute once")
    func once() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let (scenarios, client) = try Self.scenarios(server)
        try await scenarios.concurrentMissesComputeOnce()
        await client.shutdown()
    }

    @Test("Redis killed: answers are computed here, never failed; restarted on its port: shared again")
    func killedAndRestarted() async throws {
        let first = try await RedisServerProcess.start()
        let port = first.port
        let (scenarios, client) = try Self.scenarios(first)
        let restarted = Locked<RedisServerProcess?>(nil)
        try await scenarios.storeTroubleNeverBreaksAnAnswer(
            breakStore: { first.kill() },
            repairStore: {
                let server = try await RedisServerProcess.start(port: port)
                restarted.withLock { $0 = server }
            })
        restarted.load()?.stop()
        await client.shutdown()
    }

    /// The example in `RedisAnswerStore`'s documentation (compiled here; it
    /// names a server on the default port, which the tests do not run).
    @Test("the documentation example compiles")
    func documentationExample() {
        let example: @Sendable () async throws -> Void = {
            let database = try TallyDatabase.openReadOnly(path: "tally.sqlite")
            let client = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:6379"))
            let level = try SharedCacheLevel(store: RedisAnswerStore(client: client), database: database)
            let engine = TallyEngine(database: database, cache: .using(StatsCache(database: database, sharedLevel: level)))
            _ = engine
        }
        _ = example
    }
}
