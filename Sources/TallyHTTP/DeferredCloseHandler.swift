public import NIOCore

/// Delays a connection's close until the writes before it reached the
/// socket, so that a graceful shutdown never cuts a response short.
///
/// On graceful shutdown Hummingbird's connection handler writes a
/// response's end and closes at once; a large response whose bytes are
/// still queued in SwiftNIO (the client reads slower than the server
/// writes) would be discarded by that close: a 5.8 MB answer arrived cut at
/// 3.9 MB. Placed between the HTTP codec and that handler (Hummingbird's
/// `additionalChannelHandlers`), this handler counts writes not yet
/// completed and holds a close until they are, or until `grace` passes.
public final class DeferredCloseHandler: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = NIOAny

    private let grace: TimeAmount
    private var pendingWrites = 0
    private var deferredClose: (mode: CloseMode, promise: EventLoopPromise<Void>?)?

    public init(grace: TimeAmount = .seconds(30)) {
        self.grace = grace
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        pendingWrites += 1
        let written = context.eventLoop.makePromise(of: Void.self)
        let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        written.futureResult.assumeIsolated().whenComplete { result in
            self.pendingWrites -= 1
            promise?.completeWith(result)
            if self.pendingWrites == 0 { self.closeIfDeferred(loopBoundContext.value) }
        }
        context.write(data, promise: written)
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all, pendingWrites > 0, deferredClose == nil else {
            context.close(mode: mode, promise: promise)
            return
        }
        deferredClose = (mode, promise)
        let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.assumeIsolated().scheduleTask(in: grace) {
            self.closeIfDeferred(loopBoundContext.value)
        }
    }

    private func closeIfDeferred(_ context: ChannelHandlerContext) {
        guard let close = deferredClose else { return }
        deferredClose = nil
        context.close(mode: close.mode, promise: close.promise)
    }
}
