import NIOConcurrencyHelpers
import TallyCore
import TallyRedis
import Testing

/// The client against a real `redis-server`, one for the whole suite. Tests
/// run in parallel on it, so each uses keys under its own prefix.
@Suite(
    "Redis client against redis-server",
    .redisServer,
    .enabled(if: RedisServerProcess.shouldRun, "redis-server is not installed (apt-get install redis-server); with CI set these tests fail instead")
)
struct RedisServerTests {
    let server: RedisServerProcess

    init() throws {
        server = try #require(RedisServerProcess.current, "the suite's trait starts the server")
    }

    private func withClient<T>(
        maximumConnections: Int = 4, _ body: (RedisClient) async throws -> T
    ) async throws -> T {
        let client = RedisClient(configuration: try server.configuration(maximumConnections: maximumConnections))
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    @Test("SET then GET; GET of a missing key is nil; PING")
    func setAndGet() async throws {
        try await withClient { client in
            try await client.ping()
            #expect(try await client.get("basic:missing") == nil)
            #expect(try await client.set("basic:key", Array("value".utf8)))
            #expect(try await client.get("basic:key") == Array("value".utf8))
            #expect(try await client.set("basic:key", Array("second".utf8)))
            #expect(try await client.get("basic:key") == Array("second".utf8))
            #expect(try await client.set("basic:empty", []))
            #expect(try await client.get("basic:empty") == [])
        }
    }

    @Test("PX sets a time to live (PTTL), and the key is gone once it passes")
    func expiry() async throws {
        try await withClient { client in
            #expect(try await client.set("ttl:long", Array("v".utf8), expiresInMilliseconds: 100_000))
            let ttl = try await client.send("PTTL", "ttl:long").integer
            #expect(ttl.map { (1...100_000).contains($0) } == true, "PTTL \(String(describing: ttl))")
            #expect(try await client.send("PTTL", "ttl:missing") == .integer(-2))
            #expect(try await client.set("ttl:none", Array("v".utf8)))
            #expect(try await client.send("PTTL", "ttl:none") == .integer(-1))

            // 1 ms to live: each GET is a round trip, so a bounded number
            // of them outlasts it; the server expires the key on access.
            #expect(try await client.set("ttl:short", Array("v".utf8), expiresInMilliseconds: 1))
            var attempts = 0
            while try await client.get("ttl:short") != nil {
                attempts += 1
                try #require(attempts < 100_000, "the key never expired")
            }
        }
    }

    @Test("NX: stored when absent, refused (false) when present, value kept")
    func onlyIfAbsent() async throws {
        try await withClient { (client: RedisClient) async throws in
            #expect(try await client.set("nx:key", Array("first".utf8), onlyIfAbsent: true) == true)
            #expect(try await client.set("nx:key", Array("second".utf8), onlyIfAbsent: true) == false)
            #expect(try await client.get("nx:key") == Array("first".utf8))
            #expect(try await client.set("nx:key", Array("third".utf8), expiresInMilliseconds: 50_000, onlyIfAbsent: true) == false)
            #expect(try await client.send("PTTL", "nx:key") == .integer(-1), "a refused SET NX PX sets no TTL")
        }
    }

    @Test("DEL counts the keys that existed")
    func delete() async throws {
        try await withClient { (client: RedisClient) async throws in
            #expect(try await client.set("del:a", [1]))
            #expect(try await client.set("del:b", [2]))
            #expect(try await client.del("del:a", "del:b", "del:c") == 2)
            #expect(try await client.del(["del:a"]) == 0)
            #expect(try await client.del([]) == 0)
            #expect(try await client.get("del:a") == nil)
        }
    }

    @Test("binary values and keys: CR, LF, NUL, every byte, 1 MiB (seeded)")
    func binaryValues() async throws {
        try await withClient { client in
            let everyByte = (0...255).map { UInt8($0) } + Array("\r\n\0\r\n$-1\r\n*0\r\n".utf8)
            #expect(try await client.set("bin:\r\n\0key", everyByte))
            #expect(try await client.get("bin:\r\n\0key") == everyByte)
            #expect(try await client.get("bin:\r\n") == nil)

            var random = SplitMix64(seed: 42)
            let large = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(try await client.set("bin:large", large))
            let read = try await client.get("bin:large")
            #expect(read?.count == large.count)
            #expect(read == large)
        }
    }

    @Test("a server error is thrown with its code and the connection stays usable")
    func serverErrors() async throws {
        try await withClient(maximumConnections: 1) { client in
            #expect(try await client.set("err:text", Array("not a number".utf8)))
            let error = await #expect(throws: RedisError.self) { try await client.send("INCR", "err:text") }
            #expect(error?.kind == .server)
            #expect(error?.serverCode == "ERR")
            #expect(error?.command == "INCR")

            _ = try await client.send("RPUSH", "err:list", "x")
            let wrongType = await #expect(throws: RedisError.self) { try await client.get("err:list") }
            #expect(wrongType?.serverCode == "WRONGTYPE")

            let unknown = await #expect(throws: RedisError.self) { try await client.send("NOSUCHCOMMAND") }
            #expect(unknown?.kind == .server)

            // Same single connection, still fine.
            try await client.ping()
            #expect(client.openConnections == 1)
        }
    }

    @Test("1,000 pipelined commands: one write, replies in order, errors in place")
    func pipelining() async throws {
        try await withClient { client in
            let count = 1_000
            let sets = (0..<count).map { [Array("SET".utf8), Array("pipe:\($0)".utf8), Array("value \($0)".utf8)] }
            let setReplies = try await client.pipeline(sets)
            #expect(setReplies == Array(repeating: .simpleString("OK"), count: count))

            // GETs in reverse order, with an INCR counter threaded through:
            // both orders must come back exactly as sent.
            var commands: [[[UInt8]]] = []
            for i in (0..<count).reversed() {
                commands.append([Array("GET".utf8), Array("pipe:\(i)".utf8)])
                commands.append([Array("INCR".utf8), Array("pipe:counter".utf8)])
            }
            commands.insert([Array("INCR".utf8), Array("pipe:0".utf8)], at: 1_000)  // an error reply in the middle
            let replies = try await client.pipeline(commands)
            #expect(replies.count == commands.count)
            #expect(replies[1_000] == .error("ERR value is not an integer or out of range"))
            var rest = replies
            rest.remove(at: 1_000)
            for (n, i) in (0..<count).reversed().enumerated() {
                #expect(rest[2 * n] == .bulkString(Array("value \(i)".utf8)))
                #expect(rest[2 * n + 1] == .integer(n + 1))
            }
            #expect(try await client.pipeline([]) == [])
        }
    }

    @Test("one connection shared by many tasks at once: each gets its own reply")
    func concurrentCommandsOnOneConnection() async throws {
        let connection = try await RedisConnection.connect(to: try server.configuration())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { () async throws in
                    let value = Array("shared \(i)".utf8)
                    #expect(try await connection.set("shared:\(i)", value))
                    #expect(try await connection.get("shared:\(i)") == value)
                }
            }
            try await group.waitForAll()
        }
        await connection.close()
        #expect(!connection.isOpen)
        let error = await #expect(throws: RedisError.self) { try await connection.ping() }
        #expect(error?.kind == .connectionClosed)
    }

    @Test("the pool under 500 tasks: results match their keys, never more than 4 connections (seeded)")
    func concurrentPool() async throws {
        try await withClient(maximumConnections: 4) { client in
            struct Usage { var current = 0; var maximum = 0; var connections: Set<ObjectIdentifier> = [] }
            let usage = NIOLockedValueBox(Usage())
            var random = SplitMix64(seed: 2024)
            let values = (0..<500).map { _ in
                (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, value) in values.enumerated() {
                    group.addTask {
                        #expect(try await client.set("pool:\(i)", value))
                        try await client.withConnection { (connection: RedisConnection) async throws in
                            usage.withLockedValue {
                                $0.current += 1
                                $0.maximum = max($0.maximum, $0.current)
                                $0.connections.insert(ObjectIdentifier(connection))
                            }
                            defer { usage.withLockedValue { $0.current -= 1 } }
                            #expect(try await connection.get("pool:\(i)") == value)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seen = usage.withLockedValue { $0 }
            #expect(seen.maximum <= 4)
            #expect(seen.connections.count <= 4)
            #expect(client.openConnections <= 4)
            #expect(client.idleConnections == client.openConnections)
        }
    }

    @Test("SELECT on connect: databases are separate")
    func selectDatabase() async throws {
        let db3 = RedisClient(configuration: try RedisConfiguration(url: server.url + "/3"))
        let db0 = RedisClient(configuration: try server.configuration())
        #expect(try await db3.set("select:key", Array("in 3".utf8)))
        #expect(try await db3.get("select:key") == Array("in 3".utf8))
        #expect(try await db0.get("select:key") == nil)
        await db3.shutdown()
        await db0.shutdown()
    }

    @Test("AUTH refused on connect fails the connection with the server's reason")
    func authRefused() async throws {
        let client = RedisClient(configuration: try RedisConfiguration(url: "redis://:wrong@127.0.0.1:\(server.port)"))
        let error = await #expect(throws: RedisError.self) { try await client.ping() }
        #expect(error?.kind == .connectFailed)
        #expect(error?.message.contains("AUTH") == true, "\(String(describing: error))")
        #expect(client.openConnections == 0)
        await client.shutdown()
    }

    @Test("after shutdown every command fails with .shutDown")
    func shutdown() async throws {
        let client = RedisClient(configuration: try server.configuration())
        try await client.ping()
        #expect(client.idleConnections == 1)
        await client.shutdown()
        #expect(client.openConnections == 0)
        let error = await #expect(throws: RedisError.self) { try await client.ping() }
        #expect(error?.kind == .shutDown)
    }
}
