import NIOCore

/// One command on its way to the server, with the promise its reply
/// completes.
struct RedisCommand: Sendable {
    let arguments: [[UInt8]]
    let promise: EventLoopPromise<RESPValue>
}

/// Commands written together and flushed as one write: a pipeline, or a
/// single command.
struct RedisCommandBatch: Sendable {
    let commands: [RedisCommand]
}

/// The channel handler that turns commands into RESP and matches replies
/// to them.
///
/// Redis answers the commands of one connection in the order it received
/// them, so the handler keeps the waiting promises in a FIFO queue: every
/// decoded reply completes the oldest one. That is what lets several
/// commands be in flight at once (pipelining) without any request id on the
/// wire, and also why a command that times out must take the whole
/// connection down: its late reply would otherwise complete the next
/// command's promise with the wrong value.
///
/// Lives on the channel's event loop and is never shared across threads.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisCommandBatch
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        let promise: EventLoopPromise<RESPValue>
        /// The command's first argument, turned into a name only for errors.
        let name: [UInt8]?
        let timeout: Scheduled<Void>?
    }

    private let commandTimeout: TimeAmount
    private var pending = CircularBuffer<Pending>(initialCapacity: 16)
    /// Set once the connection is unusable: what every later command fails
    /// with, without being written.
    private var closedError: RedisError?

    init(commandTimeout: TimeAmount) {
        self.commandTimeout = commandTimeout
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let batch = unwrapOutboundIn(data)
        if let closedError {
            for command in batch.commands {
                command.promise.fail(closedError.forCommand(command.arguments.first))
            }
            promise?.fail(closedError)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 64 * batch.commands.count)
        let loop = context.eventLoop.assumeIsolated()
        for command in batch.commands {
            RESPEncoder.encodeCommand(command.arguments, into: &buffer)
            let promise = command.promise
            // Each command has its own deadline. Replies come in order, so
            // when any deadline passes, the oldest command has waited at
            // least as long: the connection is stuck.
            let timeout = loop.scheduleTask(in: commandTimeout) { [self] in
                self.timedOut(context: context, promise: promise)
            }
            pending.append(Pending(promise: command.promise, name: command.arguments.first, timeout: timeout))
        }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard let oldest = pending.popFirst() else {
            fail(context: context, RedisError(.protocolError, "The server sent a reply while no command was waiting for one."))
            return
        }
        oldest.timeout?.cancel()
        oldest.promise.succeed(reply)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let redisError: RedisError
        switch error {
        case let error as RedisError:
            redisError = error
        case ByteToMessageDecoderError.leftoverDataWhenDone:
            redisError = RedisError(.connectionClosed, "The connection closed in the middle of a reply.")
        default:
            redisError = RedisError(.connectionClosed, "The connection failed: \(error).")
        }
        fail(context: context, redisError)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError(.connectionClosed, "The connection closed before the reply arrived."))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(RedisError(.connectionClosed, "The connection closed before the reply arrived."))
    }

    // MARK: - Failing

    private func timedOut(context: ChannelHandlerContext, promise: EventLoopPromise<RESPValue>) {
        // Already answered (the cancel raced with the timer firing).
        guard pending.contains(where: { $0.promise.futureResult === promise.futureResult }) else { return }
        let milliseconds = commandTimeout.nanoseconds / 1_000_000
        fail(
            context: context,
            RedisError(
                .timeout,
                "The command got no reply within \(milliseconds) ms; the connection was closed, as a late reply would be taken for the next command's."
            ))
    }

    /// Marks the connection unusable, closes it, and fails every waiting
    /// command. The channel is closed before the promises fail, so a
    /// caller woken by the failure already sees the connection as closed.
    private func fail(context: ChannelHandlerContext, _ error: RedisError) {
        if closedError == nil { closedError = error }
        let waiting = takeAll()
        context.close(promise: nil)
        for entry in waiting {
            entry.promise.fail(error.forCommand(entry.name))
        }
    }

    private func failAll(_ error: RedisError) {
        if closedError == nil { closedError = error }
        for entry in takeAll() {
            entry.promise.fail(closedError!.forCommand(entry.name))
        }
    }

    private func takeAll() -> [Pending] {
        let waiting = Array(pending)
        pending.removeAll(keepingCapacity: false)
        for entry in waiting { entry.timeout?.cancel() }
        return waiting
    }
}

@available(*, unavailable)
extension RedisCommandHandler: Sendable {}

extension RedisError {
    /// The same error, naming the command it failed.
    func forCommand(_ name: [UInt8]?) -> RedisError {
        RedisError(kind, message, command: name.flatMap { RedisError.commandName([$0]) })
    }
}
