public import NIOCore
// The default event loop group is NIO's shared singleton.
public import NIOPosix

/// One TCP connection to a Redis server.
///
/// Commands may be sent from several tasks at once: they are written in
/// the order they reach the channel's event loop, and Redis replies in that
/// same order, so each caller gets its own reply (pipelining). Every command
/// has a deadline (``RedisConfiguration/commandTimeout``); a command that
/// misses it fails with kind `.timeout` and closes the connection, because
/// its late reply would be matched with the next command.
///
/// Cancelling a task does not interrupt a command it already sent: the
/// reply must still be read off the connection for the next command's to
/// line up, so the command completes or times out.
///
/// A connection does not reconnect. Once ``isOpen`` is false it stays
/// closed and every command fails with `.connectionClosed`;
/// ``RedisClient`` is what replaces broken connections.
///
/// For example, with a ``RedisConfiguration`` made from a URL:
///
/// ```swift
/// let connection = try await RedisConnection.connect(to: configuration)
/// _ = try await connection.set("greeting", Array("hello".utf8))
/// let replies = try await connection.pipeline([
///     [Array("INCR".utf8), Array("hits".utf8)],
///     [Array("GET".utf8), Array("greeting".utf8)],
/// ])
/// await connection.close()
/// ```
public final class RedisConnection: RedisCommands, Sendable {
    /// The channel the commands go through; Sendable, as every NIO channel.
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// A connection nobody holds any more closes its socket, as GRDB's
    /// owners free their handles in `deinit`.
    deinit {
        channel.close(promise: nil)
    }

    /// Connects, then authenticates (AUTH) and selects the database
    /// (SELECT) as the configuration says, before returning.
    ///
    /// The pool settings of `configuration` are not used here.
    ///
    /// - Parameter eventLoopGroup: where the connection's I/O runs; NIO's
    ///   shared singleton by default, so that an embedder starts no
    ///   threads of its own.
    /// - Throws: ``RedisError`` with kind `.connectTimeout` or
    ///   `.connectFailed` (refused, unreachable, or AUTH/SELECT refused).
    public static func connect(
        to configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> RedisConnection {
        let commandTimeout = TimeAmount(configuration.commandTimeout)
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(RESPDecoder()),
                        RedisCommandHandler(commandTimeout: commandTimeout),
                    ])
                }
            }
        let address = "\(configuration.host):\(configuration.port)"
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch let error as ChannelError {
            if case .connectTimeout = error {
                throw RedisError(
                    .connectTimeout, "Connecting to Redis at \(address) took longer than \(milliseconds(configuration.connectTimeout)) ms.")
            }
            throw RedisError(.connectFailed, "Cannot connect to Redis at \(address): \(error).")
        } catch let error as NIOConnectionError {
            let reasons = error.connectionErrors.map { "\($0.error)" }
            let reason = reasons.isEmpty ? "\(error)" : reasons.joined(separator: "; ")
            throw RedisError(.connectFailed, "Cannot connect to Redis at \(address): \(reason).")
        } catch {
            throw RedisError(.connectFailed, "Cannot connect to Redis at \(address): \(error).")
        }

        let connection = RedisConnection(channel: channel)
        do {
            if let password = configuration.password {
                var auth = [Array("AUTH".utf8)]
                if let username = configuration.username { auth.append(Array(username.utf8)) }
                auth.append(Array(password.utf8))
                _ = try await connection.send(auth)
            }
            if configuration.database != 0 {
                _ = try await connection.send([Array("SELECT".utf8), Array(String(configuration.database).utf8)])
            }
        } catch let error as RedisError {
            await connection.close()
            throw RedisError(.connectFailed, "Redis at \(address) refused the connection's setup: \(error.message)", command: error.command)
        }
        return connection
    }

    /// Whether the connection can still carry commands. False once it was
    /// closed, by either side or after a timeout or protocol error.
    public var isOpen: Bool {
        channel.isActive
    }

    /// Closes the connection; commands still waiting fail with
    /// `.connectionClosed`. Closing a closed connection does nothing.
    public func close() async {
        try? await channel.close()
    }

    /// Starts closing without waiting, for code that cannot await.
    func closeSoon() {
        channel.close(promise: nil)
    }

    /// Sends one command and returns its reply.
    ///
    /// - Throws: ``RedisError``: `.server` for an error reply (the
    ///   connection stays usable), `.timeout`, `.connectionClosed` or
    ///   `.protocolError` (the connection is closed).
    public func send(_ arguments: [[UInt8]]) async throws -> RESPValue {
        let reply = try await pipeline([arguments])[0]
        if case .error(let message) = reply {
            throw RedisError.server(message, arguments: arguments)
        }
        return reply
    }

    /// Writes the commands in one flush and returns their replies in order;
    /// an error reply is returned in its place, not thrown.
    ///
    /// - Throws: ``RedisError`` when the connection fails before every
    ///   reply arrived (the replies received so far are lost with it).
    public func pipeline(_ commands: [[[UInt8]]]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let loop = channel.eventLoop
        let batch = RedisCommandBatch(
            commands: commands.map {
                RedisCommand(arguments: $0, promise: loop.makePromise(of: RESPValue.self))
            })
        // A write that fails before it reaches the handler (the channel
        // already closed) would leave the promises pending: fail them here.
        // A promise completed twice keeps its first result.
        let written = loop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            let closed =
                error as? RedisError
                ?? RedisError(.connectionClosed, "The command could not be written: the connection is closed (\(error)).")
            for command in batch.commands {
                command.promise.fail(closed.forCommand(command.arguments.first))
            }
        }
        channel.writeAndFlush(batch, promise: written)
        var replies: [RESPValue] = []
        replies.reserveCapacity(batch.commands.count)
        for command in batch.commands {
            replies.append(try await command.promise.futureResult.get())
        }
        return replies
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
