public import Hummingbird
public import NIOCore

/// A request context that keeps the request's channel, so that Tally's
/// routes can cancel a computation the moment its client disconnects
/// (`channel.closeFuture`), without touching the connection otherwise.
///
/// With a context that does not conform (`BasicRequestContext`), the routes
/// fall back to Hummingbird's `consumeWithCancellationOnInboundClose`, which
/// closes the connection after the response: they use it only for answers
/// that need computing.
public protocol ChannelRequestContext: RequestContext {
    var channel: any Channel { get }
}

/// The request context `tally serve` uses; a host may use it too.
public struct TallyRequestContext: ChannelRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
