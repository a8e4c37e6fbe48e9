import NIOCore
import TallyRedis
import Testing

/// Servers that fail: one that never answers, one that answers garbage, one
/// that drops the connection, and a real `redis-server` killed mid-test.
@Suite("Redis client when the server fails")
struct RedisFailureTests {
    @Test("a command without a reply times out, its connection is dropped, and the pool recovers")
    func commandTimeout() async throws {
        // The first connection never answers; the ones after it do. The
        // timeout leaves room for a loaded CI machine to answer the second.
        let fake = try await FakeRedisServer.start { $0 == 0 ? .silent : .pong }
        let client = RedisClient(
            configuration: RedisConfiguration(
                host: "127.0.0.1", port: fake.port, maximumConnections: 1,
                commandTimeout: .seconds(2), poolTimeout: .seconds(30)))

        let error = await #expect(throws: RedisError.self) { try await client.ping() }
        #expect(error?.kind == .timeout)
        #expect(error?.command == "PING")
        #expect(error?.message.contains("no reply within 2000 ms") == true)
        #expect(client.openConnections == 0, "the timed-out connection was dropped")

        // The only place in the pool is free again: a new connection.
        try await client.ping()
        #expect(fake.acceptedConnections == 2)
        #expect(client.openConnections == 1)
        await client.shutdown()
        await fake.stop()
    }

    @Test("every pipelined command on a stuck connection fails with the timeout")
    func pipelineTimeout() async throws {
        let fake = try await FakeRedisServer.start { _ in .silent }
        let connection = try await RedisConnection.connect(
            to: RedisConfiguration(
                host: "127.0.0.1", port: fake.port, commandTimeout: .milliseconds(200)))
        let commands = (0..<10).map { [Array("GET".utf8), Array("k\($0)".utf8)] }
        let error = await #expect(throws: RedisError.self) { try await connection.pipeline(commands) }
        #expect(error?.kind == .timeout)
        #expect(!connection.isOpen)
        // A closed connection refuses at once, with the reason it closed.
        let after = await #expect(throws: RedisError.self) { try await connection.ping() }
        #expect(after?.kind == .timeout || after?.kind == .connectionClosed)
        await fake.stop()
    }

    @Test("a waiter for a busy pool gives up after the pool timeout; the server closing fails the busy command")
    func poolTimeout() async throws {
        let fake = try await FakeRedisServer.start { _ in .silent }
        let client = RedisClient(
            configuration: RedisConfiguration(
                host: "127.0.0.1", port: fake.port, maximumConnections: 1,
                commandTimeout: .seconds(60), poolTimeout: .milliseconds(100)))
        let busy = Task { try await client.ping() }
        // Wait until the busy command has reached the server: the pool's
        // only connection is then taken.
        var received = fake.commands.makeAsyncIterator()
        _ = await received.next()

        let error = await #expect(throws: RedisError.self) { try await client.ping() }
        #expect(error?.kind == .poolTimeout)
        #expect(error?.message == "All 1 connections stayed busy for 100 ms.")

        await fake.closeConnections()
        let closed = await #expect(throws: RedisError.self) { try await busy.value }
        #expect(closed?.kind == .connectionClosed)
        #expect(closed?.command == "PING")
        #expect(client.openConnections == 0)
        await client.shutdown()
        await fake.stop()
    }

    @Test("a cancelled waiter leaves the queue")
    func cancelledWaiter() async throws {
        let fake = try await FakeRedisServer.start { _ in .silent }
        let client = RedisClient(
            configuration: RedisConfiguration(
                host: "127.0.0.1", port: fake.port, maximumConnections: 1,
                commandTimeout: .seconds(60), poolTimeout: .seconds(60)))
        let busy = Task { try await client.ping() }
        var received = fake.commands.makeAsyncIterator()
        _ = await received.next()
        let waiter = Task { try await client.ping() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        await fake.closeConnections()
        _ = await busy.result
        await client.shutdown()
        await fake.stop()
    }

    @Test("a reply that is not RESP is a protocol error and closes the connection")
    func garbageReply() async throws {
        let fake = try await FakeRedisServer.start { $0 == 0 ? .garbage : .pong }
        let client = RedisClient(configuration: RedisConfiguration(host: "127.0.0.1", port: fake.port, maximumConnections: 1))
        let error = await #expect(throws: RedisError.self) { try await client.ping() }
        #expect(error?.kind == .protocolError)
        try await client.ping()
        #expect(fake.acceptedConnections == 2)
        await client.shutdown()
        await fake.stop()
    }

    @Test("nothing listening: a clear connect error")
    func connectionRefused() async throws {
        let port = try RedisServerProcess.freeLoopbackPort()
        let client = RedisClient(configuration: RedisConfiguration(host: "127.0.0.1", port: port))
        let error = await #expect(throws: RedisError.self) { try await client.get("k") }
        #expect(error?.kind == .connectFailed)
        #expect(error?.message.hasPrefix("Cannot connect to Redis at 127.0.0.1:\(port)") == true, "\(String(describing: error))")
        #expect(client.openConnections == 0)
        await client.shutdown()
    }

    @Test(
        "redis-server killed mid-test: commands fail clearly; restarted on the same port, the client reconnects (with AUTH)",
        .enabled(if: RedisServerProcess.shouldRun, "redis-server is not installed (apt-get install redis-server)")
    )
    func serverKilledAndRestarted() async throws {
        let server = try await RedisServerProcess.start(password: "s3cret")
        let client = RedisClient(configuration: try server.configuration(maximumConnections: 2, commandTimeout: .seconds(60)))
        let observer = try await RedisConnection.connect(to: try server.configuration())
        #expect(try await client.set("restart:key", Array("before".utf8)))
        #expect(try await client.get("restart:key") == Array("before".utf8))

        // A command in flight when the server dies: BLPOP blocks on the
        // server until the kill. Another connection sees it blocked.
        let inFlight = Task { try await client.send("BLPOP", "restart:list", "0") }
        var attempts = 0
        while try await observer.send("INFO", "clients").string?.contains("blocked_clients:1") != true {
            attempts += 1
            try #require(attempts < 100_000, "BLPOP never blocked")
        }
        server.kill()

        let inFlightError = await #expect(throws: RedisError.self) { try await inFlight.value }
        #expect(inFlightError?.kind == .connectionClosed)
        #expect(inFlightError?.command == "BLPOP")

        // The idle connection may or may not have seen the close yet; the
        // command after that has to connect, and is refused.
        let first = await #expect(throws: RedisError.self) { try await client.get("restart:key") }
        #expect(first?.kind == .connectionClosed || first?.kind == .connectFailed, "\(String(describing: first))")
        let refused = await #expect(throws: RedisError.self) { try await client.get("restart:key") }
        #expect(refused?.kind == .connectFailed)
        #expect(refused?.message.contains("Cannot connect to Redis at 127.0.0.1:\(server.port)") == true, "\(String(describing: refused))")
        #expect(client.openConnections == 0)

        let restarted = try await RedisServerProcess.start(port: server.port, password: "s3cret")
        try await client.ping()
        #expect(try await client.get("restart:key") == nil, "a new server without persistence")
        #expect(try await client.set("restart:key", Array("after".utf8)))
        #expect(try await client.get("restart:key") == Array("after".utf8))

        await client.shutdown()
        await observer.close()
        restarted.stop()
    }
}
