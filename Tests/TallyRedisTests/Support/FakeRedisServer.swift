import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TallyRedis

/// A loopback TCP server that speaks just enough RESP to misbehave on
/// purpose: it reads commands (with TallyRedis's own decoder: commands are
/// RESP arrays) and, per connection, never answers, answers `+PONG`, or
/// answers bytes that are not RESP.
final class FakeRedisServer: Sendable {
    enum Behavior: Sendable {
        /// Reads every command and never replies.
        case silent
        /// Replies `+PONG` to every command.
        case pong
        /// Replies with a byte that starts no RESP2 type.
        case garbage
    }

    let port: Int
    /// One element per command received, the index of its connection
    /// (0 for the first accepted): lets a test wait until a command has
    /// reached the server.
    let commands: AsyncStream<Int>
    private let channel: any Channel
    private let state: NIOLockedValueBox<State>

    private struct State {
        var accepted = 0
        var connections: [any Channel] = []
    }

    /// How many connections the server has accepted so far.
    var acceptedConnections: Int { state.withLockedValue { $0.accepted } }

    /// Starts listening on 127.0.0.1 with a port the kernel picks;
    /// `behavior` gets each connection's index.
    static func start(behavior: @escaping @Sendable (Int) -> Behavior) async throws -> FakeRedisServer {
        let state = NIOLockedValueBox(State())
        let (commands, received) = AsyncStream.makeStream(of: Int.self)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                let index = state.withLockedValue { state in
                    state.connections.append(child)
                    defer { state.accepted += 1 }
                    return state.accepted
                }
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(RESPDecoder()),
                        FakeHandler(behavior: behavior(index), index: index, received: received),
                    ])
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FakeRedisServer(
            port: channel.localAddress?.port ?? 0, commands: commands, channel: channel, state: state)
    }

    private init(port: Int, commands: AsyncStream<Int>, channel: any Channel, state: NIOLockedValueBox<State>) {
        self.port = port
        self.commands = commands
        self.channel = channel
        self.state = state
    }

    /// Closes every accepted connection (the listener stays).
    func closeConnections() async {
        let connections = state.withLockedValue { $0.connections }
        for connection in connections {
            try? await connection.close()
        }
    }

    /// Closes the connections and the listener.
    func stop() async {
        await closeConnections()
        try? await channel.close()
    }
}

private final class FakeHandler: ChannelInboundHandler {
    typealias InboundIn = RESPValue
    typealias OutboundOut = ByteBuffer

    let behavior: FakeRedisServer.Behavior
    let index: Int
    let received: AsyncStream<Int>.Continuation

    init(behavior: FakeRedisServer.Behavior, index: Int, received: AsyncStream<Int>.Continuation) {
        self.behavior = behavior
        self.index = index
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received.yield(index)
        switch behavior {
        case .silent:
            break
        case .pong:
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "+PONG\r\n")), promise: nil)
        case .garbage:
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "!garbage\r\n")), promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
