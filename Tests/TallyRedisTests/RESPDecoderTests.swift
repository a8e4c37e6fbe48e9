import NIOCore
import NIOEmbedded
import TallyCore
import TallyRedis
import Testing

/// The decoder on its own: every RESP2 type, the nulls, nesting, replies cut
/// at every byte, and malformed input (an error, never a trap).
@Suite("RESP decoder")
struct RESPDecoderTests {
    /// One wire form per case the decoder must know, with its value.
    static let samples: [(wire: String, value: RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        (
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            .error("WRONGTYPE Operation against a key holding the wrong kind of value")
        ),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":9223372036854775807\r\n", .integer(Int.max)),
        (":-9223372036854775808\r\n", .integer(Int.min)),
        ("$-1\r\n", .bulkString(nil)),
        ("$0\r\n\r\n", .bulkString([])),
        ("$5\r\nhello\r\n", .bulkString(Array("hello".utf8))),
        ("$6\r\na\r\nb\0c\r\n", .bulkString([0x61, 0x0D, 0x0A, 0x62, 0x00, 0x63])),
        ("*-1\r\n", .array(nil)),
        ("*0\r\n", .array([])),
        ("*2\r\n$3\r\nfoo\r\n:7\r\n", .array([.bulkString(Array("foo".utf8)), .integer(7)])),
        (
            "*3\r\n*2\r\n+a\r\n*-1\r\n$-1\r\n*1\r\n*1\r\n*0\r\n",
            .array([.array([.simpleString("a"), .array(nil)]), .bulkString(nil), .array([.array([.array([])])])])
        ),
        ("*2\r\n-ERR inside\r\n*1\r\n:-1\r\n", .array([.error("ERR inside"), .array([.integer(-1)])])),
    ]

    @Test("every reply type decodes whole", arguments: samples.indices)
    func decodesWhole(_ index: Int) throws {
        let (wire, value) = Self.samples[index]
        #expect(try decodeAll(chunks: [Array(wire.utf8)]) == [value])
    }

    @Test("the encoder writes what the decoder reads", arguments: samples.indices)
    func encoderMatchesWireForm(_ index: Int) {
        let (wire, value) = Self.samples[index]
        var buffer = ByteBuffer()
        RESPEncoder.encode(value, into: &buffer)
        #expect(buffer == ByteBuffer(string: wire))
    }

    @Test("a reply split at every byte boundary decodes the same", arguments: samples.indices)
    func decodesSplitAtEveryByte(_ index: Int) throws {
        let (wire, value) = Self.samples[index]
        let bytes = Array(wire.utf8)
        for cut in 1..<bytes.count {
            let chunks = [Array(bytes[..<cut]), Array(bytes[cut...])]
            #expect(try decodeAll(chunks: chunks) == [value], "cut at \(cut)")
        }
        // And one byte per read.
        #expect(try decodeAll(chunks: bytes.map { [$0] }) == [value])
    }

    @Test("every proper prefix of a reply is incomplete: nil, nothing consumed")
    func prefixesAreIncomplete() throws {
        for (wire, _) in Self.samples {
            let bytes = Array(wire.utf8)
            for length in 0..<bytes.count {
                var decoder = RESPDecoder()
                var buffer = ByteBuffer(bytes: bytes[..<length])
                #expect(try decoder.decode(buffer: &buffer) == nil, "\(wire.debugDescription) cut to \(length)")
                #expect(buffer.readerIndex == 0)
            }
        }
    }

    @Test("all the samples back to back, split at every byte, decode in order")
    func pipelinedRepliesSplitEverywhere() throws {
        let bytes = Self.samples.flatMap { Array($0.wire.utf8) }
        let values = Self.samples.map(\.value)
        for cut in 1..<bytes.count {
            #expect(try decodeAll(chunks: [Array(bytes[..<cut]), Array(bytes[cut...])]) == values, "cut at \(cut)")
        }
    }

    @Test("random nested values round-trip through the encoder in random pieces (seeded)")
    func randomValuesRoundTrip() throws {
        var random = SplitMix64(seed: 0x7A11_4ED1)
        for round in 0..<200 {
            let values = (0..<Int.random(in: 1...4, using: &random)).map { _ in
                randomValue(depth: 0, using: &random)
            }
            var buffer = ByteBuffer()
            for value in values { RESPEncoder.encode(value, into: &buffer) }
            let bytes = Array(buffer.readableBytesView)
            var chunks: [[UInt8]] = []
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + Int.random(in: 1...17, using: &random))
                chunks.append(Array(bytes[start..<end]))
                start = end
            }
            #expect(try decodeAll(chunks: chunks) == values, "round \(round)")
        }
    }

    @Test("commands encode as arrays of bulk strings, binary-safe")
    func commandEncoding() throws {
        var buffer = ByteBuffer()
        RESPEncoder.encodeCommand([Array("SET".utf8), Array("k".utf8), [0x0D, 0x0A, 0x00]], into: &buffer)
        #expect(buffer == ByteBuffer(string: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\r\n\0\r\n"))
        // A server reads it back as an array of bulk strings.
        #expect(
            try decodeAll(chunks: [Array(buffer.readableBytesView)])
                == [.array([.bulkString(Array("SET".utf8)), .bulkString(Array("k".utf8)), .bulkString([0x0D, 0x0A, 0x00])])])
    }

    static let malformed: [(name: String, bytes: [UInt8])] = [
        ("unknown type byte", Array("!oops\r\n".utf8)),
        ("RESP3 type byte", Array("_\r\n".utf8)),
        ("integer with a letter", Array(":12a\r\n".utf8)),
        ("empty integer", Array(":\r\n".utf8)),
        ("lone minus", Array(":-\r\n".utf8)),
        ("integer with plus", Array(":+1\r\n".utf8)),
        ("integer overflow", Array(":9223372036854775808\r\n".utf8)),
        ("bulk length -2", Array("$-2\r\n".utf8)),
        ("bulk length not a number", Array("$x\r\nabc\r\n".utf8)),
        ("bulk length over 512 MiB", Array("$536870913\r\n".utf8)),
        ("bulk without CRLF after its bytes", Array("$3\r\nabcd\r\n".utf8)),
        ("array length -5", Array("*-5\r\n".utf8)),
        ("array length over Int32", Array("*4294967296\r\n".utf8)),
        ("bad element in an array", Array("*2\r\n:1\r\n?\r\n".utf8)),
        ("LF without CR", Array("+OK\n".utf8)),
        ("line without CRLF past 64 KiB", Array("+".utf8) + Array(repeating: UInt8(ascii: "a"), count: 64 * 1024)),
        ("arrays nested 200 deep", Array(String(repeating: "*1\r\n", count: 200).utf8) + Array(":1\r\n".utf8)),
    ]

    @Test("malformed input is a protocol error, not a crash", arguments: malformed.indices)
    func malformedInputThrows(_ index: Int) {
        let (name, bytes) = Self.malformed[index]
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(bytes: bytes)
        let error = #expect(throws: RedisError.self, "\(name)") { try decoder.decode(buffer: &buffer) }
        #expect(error?.kind == .protocolError, "\(name)")
    }

    @Test("in a channel, malformed input surfaces as the decoder's error")
    func malformedInputInChannel() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder()))
        try channel.writeInbound(ByteBuffer(string: "+OK\r\n"))
        #expect(try channel.readInbound(as: RESPValue.self) == .simpleString("OK"))
        let error = #expect(throws: RedisError.self) { try channel.writeInbound(ByteBuffer(string: "%1\r\n")) }
        #expect(error?.kind == .protocolError)
        _ = try? channel.finish()
    }

    // MARK: - Helpers

    /// Feeds the chunks to a decoder in a channel, one read each, and
    /// returns every value it produced.
    private func decodeAll(chunks: [[UInt8]]) throws -> [RESPValue] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder()))
        var values: [RESPValue] = []
        for chunk in chunks {
            try channel.writeInbound(ByteBuffer(bytes: chunk))
            while let value = try channel.readInbound(as: RESPValue.self) {
                values.append(value)
            }
        }
        let finished = try channel.finish()
        #expect(finished.isClean, "bytes left over")
        return values
    }

    private func randomValue(depth: Int, using random: inout SplitMix64) -> RESPValue {
        switch Int.random(in: 0..<(depth < 3 ? 7 : 5), using: &random) {
        case 0:
            return .simpleString(
                String(
                    (0..<Int.random(in: 0...10, using: &random)).map { _ in
                        Character(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &random)))
                    }))
        case 1:
            return .error("ERR " + String(Int.random(in: 0...1000, using: &random)))
        case 2:
            return .integer(Int.random(in: Int.min...Int.max, using: &random))
        case 3:
            return .bulkString((0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
        case 4:
            return .bulkString(nil)
        case 5:
            return .array(nil)
        default:
            return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in randomValue(depth: depth + 1, using: &random) })
        }
    }
}
