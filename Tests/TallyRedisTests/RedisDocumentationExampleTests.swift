import NIOCore
import NIOEmbedded
import TallyRedis
import Testing

/// The ```swift examples of TallyRedis's doc comments, verbatim (the
/// TallyCore suite "documentation examples" checks that they are here),
/// then what their comments promise.
@Suite("Redis documentation examples")
struct RedisDocumentationExampleTests {
    @Test("RESPEncoder: a command as an array of bulk strings")
    func encoderExample() {
        var buffer = ByteBuffer()
        RESPEncoder.encodeCommand([Array("PING".utf8)], into: &buffer)  // "*1\r\n$4\r\nPING\r\n"
        #expect(buffer == ByteBuffer(string: "*1\r\n$4\r\nPING\r\n"))
    }

    @Test("RESPDecoder: in a channel")
    func decoderExample() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder()))
        try channel.writeInbound(ByteBuffer(string: "$3\r\nbar\r\n"))
        let value = try channel.readInbound(as: RESPValue.self)  // .bulkString("bar")
        #expect(value == .bulkString(Array("bar".utf8)))
        _ = try channel.finish()
    }

    @Test("RedisConfiguration: from a URL, a timeout changed")
    func configurationExample() async throws {
        var configuration = try RedisConfiguration(url: "redis://:s3cret@127.0.0.1:6379/2")
        configuration.commandTimeout = .milliseconds(250)
        let client = RedisClient(configuration: configuration)
        #expect(client.configuration.password == "s3cret")
        #expect(client.configuration.database == 2)
        #expect(client.configuration.commandTimeout == .milliseconds(250))
        #expect(client.openConnections == 0, "the client connects lazily")
        await client.shutdown()
    }
}

/// The examples that talk to a server, against the suite's own.
@Suite(
    "Redis documentation examples against redis-server",
    .redisServer,
    .enabled(if: RedisServerProcess.shouldRun, "redis-server is not installed (apt-get install redis-server)")
)
struct RedisServerDocumentationExampleTests {
    let configuration: RedisConfiguration

    init() throws {
        configuration = try #require(RedisServerProcess.current).configuration()
    }

    @Test("RESPValue: matching a reply")
    func valueExample() async throws {
        let connection = try await RedisConnection.connect(to: configuration)
        let reply = try await connection.send("INCR", "hits")
        guard case .integer(let hits) = reply else { throw RedisError(.unexpectedReply, "INCR gave \(reply).") }
        #expect(hits >= 1)
        await connection.close()
    }

    @Test("RedisConnection: SET, then a pipeline")
    func connectionExample() async throws {
        let connection = try await RedisConnection.connect(to: configuration)
        _ = try await connection.set("greeting", Array("hello".utf8))
        let replies = try await connection.pipeline([
            [Array("INCR".utf8), Array("hits".utf8)],
            [Array("GET".utf8), Array("greeting".utf8)],
        ])
        await connection.close()
        #expect(replies.count == 2)
        #expect(replies[0].integer != nil)
        #expect(replies[1] == .bulkString(Array("hello".utf8)))
        #expect(!connection.isOpen)
    }

    @Test("RedisClient: SET with a TTL, GET, shutdown")
    func clientExample() async throws {
        let client = RedisClient(configuration: configuration)
        _ = try await client.set("k", Array("v".utf8), expiresInMilliseconds: 30_000)
        let value = try await client.get("k")
        await client.shutdown()
        #expect(value == Array("v".utf8))
    }

    @Test("RedisCommands: SET NX with a TTL, then GET")
    func commandsExample() async throws {
        let client = RedisClient(configuration: configuration)
        let json = #"{"answer":42}"#
        _ = try await client.del("answer:42")
        let stored = try await client.set("answer:42", Array(json.utf8), expiresInMilliseconds: 60_000, onlyIfAbsent: true)
        let cached = try await client.get("answer:42")  // [UInt8]?
        #expect(stored)
        #expect(cached == Array(json.utf8))
        await client.shutdown()
    }

    @Test("RedisError: telling a timeout from other failures")
    func errorExample() async throws {
        let client = RedisClient(configuration: configuration)
        // Any other error would propagate out of the test; there is none.
        do {
            _ = try await client.get("answer")
        } catch let error as RedisError where error.kind == .timeout {
            // The connection was closed; the pool opens a new one next time.
        }
        await client.shutdown()
    }
}
