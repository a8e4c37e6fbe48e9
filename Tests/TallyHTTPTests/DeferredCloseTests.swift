import NIOCore
import NIOEmbedded
import TallyHTTP
import Testing

/// The handler that keeps a graceful shutdown from cutting a response:
/// checked on SwiftNIO's embedded channel, where a write stays pending until
/// it is flushed.
@Suite("Deferred close")
struct DeferredCloseTests {
    @Test("a close waits for the writes before it, then happens")
    func closeWaitsForWrites() throws {
        let channel = EmbeddedChannel(handler: DeferredCloseHandler(grace: .seconds(30)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.write(ByteBuffer(string: "the end of a large response"), promise: written)
        let closed = channel.close()
        #expect(channel.isActive, "the close waits: a write is still pending")
        channel.flush()
        try written.futureResult.wait()
        try closed.wait()
        #expect(!channel.isActive)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "the end of a large response"))
    }

    @Test("with nothing pending a close is immediate; a stuck write is given up after the grace period")
    func immediateAndBounded() throws {
        let idle = EmbeddedChannel(handler: DeferredCloseHandler(grace: .seconds(30)))
        try idle.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try idle.close().wait()
        #expect(!idle.isActive)

        let stuck = EmbeddedChannel(handler: DeferredCloseHandler(grace: .seconds(5)))
        try stuck.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        stuck.write(ByteBuffer(string: "never flushed"), promise: nil)
        let closed = stuck.close()
        stuck.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(stuck.isActive)
        stuck.embeddedEventLoop.advanceTime(by: .seconds(1))
        try closed.wait()
        #expect(!stuck.isActive)
    }
}
