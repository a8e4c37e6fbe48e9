public import Logging
import NIOConcurrencyHelpers
public import NIOCore
// The default event loop group is NIO's shared singleton.
public import NIOPosix

/// A bounded pool of ``RedisConnection``s to one server: what an
/// application shares between its tasks.
///
/// Connections are opened on demand, up to
/// ``RedisConfiguration/maximumConnections``, and kept for reuse. A task
/// that finds them all busy waits in a FIFO queue for at most
/// ``RedisConfiguration/poolTimeout``, then fails with `.poolTimeout`: a
/// cache level must give up quickly rather than queue without bound behind
/// a slow server. A connection that broke while in use (timeout, server
/// gone, protocol error) or while idle is dropped when it comes back, and
/// its place is free for a new one, so the client recovers by itself once
/// the server answers again. Commands are not retried: after a failure the
/// caller decides (a cache simply misses).
///
/// Each command of ``RedisCommands`` takes a connection for its own
/// duration; ``withConnection(_:)`` keeps one for several commands.
///
/// For example, with a ``RedisConfiguration`` made from a URL:
///
/// ```swift
/// let client = RedisClient(configuration: configuration)
/// _ = try await client.set("k", Array("v".utf8), expiresInMilliseconds: 30_000)
/// let value = try await client.get("k")
/// await client.shutdown()
/// ```
public final class RedisClient: RedisCommands, Sendable {
    /// Where the server is, and the pool's limits.
    public let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let state: NIOLockedValueBox<PoolState>

    /// Creates a client; it connects lazily, on the first command.
    ///
    /// - Parameters:
    ///   - eventLoopGroup: where connections run their I/O; NIO's shared
    ///     singleton by default.
    ///   - logger: receives connection events at debug level (opened,
    ///     dropped), never keys or values.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "tally.redis")
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.state = NIOLockedValueBox(PoolState())
    }

    /// Connections open or being opened, idle ones included: never more
    /// than ``RedisConfiguration/maximumConnections``. For a metrics gauge
    /// and for tests.
    public var openConnections: Int {
        state.withLockedValue { $0.open }
    }

    /// Connections open and waiting for a command. For a metrics gauge and
    /// for tests.
    public var idleConnections: Int {
        state.withLockedValue { $0.idle.count }
    }

    /// Runs `body` with one connection of the pool to itself, then gives
    /// the connection back (or drops it, if it broke).
    ///
    /// For several commands that should go over one connection, such as a
    /// WATCH/MULTI/EXEC sequence; single commands need not use it.
    ///
    /// - Throws: ``RedisError`` with kind `.poolTimeout`, `.shutDown`,
    ///   `.connectFailed` or `.connectTimeout` when no connection can be
    ///   had, or what `body` throws.
    public func withConnection<Result>(_ body: (RedisConnection) async throws -> Result) async throws -> Result {
        let connection = try await lease()
        do {
            let result = try await body(connection)
            release(connection)
            return result
        } catch {
            release(connection)
            throw error
        }
    }

    /// Sends one command over a pooled connection; see
    /// ``RedisConnection/send(_:)``.
    public func send(_ arguments: [[UInt8]]) async throws -> RESPValue {
        try await withConnection { try await $0.send(arguments) }
    }

    /// Sends commands in one write over one pooled connection; see
    /// ``RedisConnection/pipeline(_:)``.
    public func pipeline(_ commands: [[[UInt8]]]) async throws -> [RESPValue] {
        try await withConnection { try await $0.pipeline(commands) }
    }

    /// Closes the idle connections, fails the waiting tasks with
    /// `.shutDown`, and makes every later command fail the same way.
    /// Connections in use close when they are given back.
    public func shutdown() async {
        let (idle, waiters) = state.withLockedValue { state in
            state.isShutDown = true
            let taken = (state.idle, Array(state.waiters))
            state.open -= state.idle.count
            state.idle.removeAll()
            state.waiters.removeAll()
            return taken
        }
        for waiter in waiters {
            waiter.timeout?.cancel()
            waiter.continuation.resume(throwing: Self.shutDownError)
        }
        for connection in idle {
            await connection.close()
        }
    }

    // MARK: - Leasing

    private static let shutDownError = RedisError(.shutDown, "The client was shut down.")

    /// What a task may do to get a connection: use an idle one, or open a
    /// new one in a place it has reserved.
    private enum Lease {
        case connection(RedisConnection)
        case create
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Lease, any Error>
        var timeout: Scheduled<Void>?
    }

    private struct PoolState {
        var idle: [RedisConnection] = []
        /// Connections open or being opened, idle ones included: at most
        /// `maximumConnections`.
        var open = 0
        var waiters = CircularBuffer<Waiter>()
        var nextWaiterID: UInt64 = 0
        var isShutDown = false

        /// An idle connection that is still open (dropping closed ones), or
        /// a reserved place for a new one; nil when the pool is full.
        mutating func take(maximum: Int) -> Lease? {
            while let connection = idle.popLast() {
                if connection.isOpen { return .connection(connection) }
                open -= 1
            }
            if open < maximum {
                open += 1
                return .create
            }
            return nil
        }
    }

    private func lease() async throws -> RedisConnection {
        let maximum = configuration.maximumConnections
        let immediate: Lease? = try state.withLockedValue { state in
            if state.isShutDown { throw Self.shutDownError }
            return state.take(maximum: maximum)
        }
        let lease: Lease
        if let immediate {
            lease = immediate
        } else {
            lease = try await waitForLease()
        }
        switch lease {
        case .connection(let connection) where connection.isOpen:
            return connection
        case .connection, .create:
            // A connection handed over by `release` may have closed since;
            // its place is this task's, for a new one.
            do {
                let connection = try await RedisConnection.connect(to: configuration, eventLoopGroup: eventLoopGroup)
                logger.debug("Redis connection opened", metadata: ["redis.server": "\(configuration.host):\(configuration.port)"])
                return connection
            } catch {
                logger.debug("Redis connection failed", metadata: ["redis.error": "\(error)"])
                freePlace()
                throw error
            }
        }
    }

    /// Waits in line until a connection is given back or a place frees up,
    /// at most the pool timeout.
    private func waitForLease() async throws -> Lease {
        let id = state.withLockedValue { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        let maximum = configuration.maximumConnections
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                // Checked again under the lock: a connection may have come
                // back since the first look, and a cancellation that came
                // before the waiter was queued must not be lost.
                let now: Result<Lease, any Error>? = state.withLockedValue { state in
                    if state.isShutDown { return .failure(Self.shutDownError) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if let lease = state.take(maximum: maximum) { return .success(lease) }
                    state.waiters.append(Waiter(id: id, continuation: continuation, timeout: nil))
                    return nil
                }
                if let now {
                    continuation.resume(with: now)
                    return
                }
                let timeout = eventLoopGroup.any().scheduleTask(in: TimeAmount(configuration.poolTimeout)) { [self] in
                    let milliseconds = RedisConnection.milliseconds(configuration.poolTimeout)
                    removeWaiter(id, error: RedisError(.poolTimeout, "All \(maximum) connections stayed busy for \(milliseconds) ms."))
                }
                let stillWaiting = state.withLockedValue { state in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return false }
                    state.waiters[index].timeout = timeout
                    return true
                }
                if !stillWaiting { timeout.cancel() }
            }
        } onCancel: {
            removeWaiter(id, error: CancellationError())
        }
    }

    /// Fails a waiter that is still in line (timed out or cancelled).
    private func removeWaiter(_ id: UInt64, error: any Error) {
        let waiter: Waiter? = state.withLockedValue { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        guard let waiter else { return }
        waiter.timeout?.cancel()
        waiter.continuation.resume(throwing: error)
    }

    /// Gives a connection back: to the first waiter, to the idle list, or,
    /// if it broke, drops it and frees its place.
    private func release(_ connection: RedisConnection) {
        guard connection.isOpen else {
            logger.debug("Redis connection dropped", metadata: ["redis.server": "\(configuration.host):\(configuration.port)"])
            freePlace()
            return
        }
        let (waiter, close): (Waiter?, Bool) = state.withLockedValue { state in
            if state.isShutDown {
                state.open -= 1
                return (nil, true)
            }
            if let waiter = state.waiters.popFirst() { return (waiter, false) }
            state.idle.append(connection)
            return (nil, false)
        }
        if let waiter {
            waiter.timeout?.cancel()
            waiter.continuation.resume(returning: .connection(connection))
        }
        if close {
            connection.closeSoon()
        }
    }

    /// A place in the pool freed up (a connection broke or could not be
    /// opened): the first waiter, if any, may open a new connection in it.
    private func freePlace() {
        let waiter: Waiter? = state.withLockedValue { state in
            state.open -= 1
            guard !state.isShutDown, let waiter = state.waiters.popFirst() else { return nil }
            state.open += 1
            return waiter
        }
        if let waiter {
            waiter.timeout?.cancel()
            waiter.continuation.resume(returning: .create)
        }
    }
}
