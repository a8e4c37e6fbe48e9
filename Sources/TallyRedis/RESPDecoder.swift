public import NIOCore

/// Reads RESP2 values from a byte stream that arrives in arbitrary pieces.
///
/// TCP gives no message boundaries: one read can end in the middle of a
/// length line, of a bulk string's payload or of a nested array. The
/// decoder therefore parses from the reader index without consuming, and
/// moves the reader index only once a whole value is there; until then it
/// returns nil and NIO's `ByteToMessageHandler` calls it again when more
/// bytes arrive. A partial value is re-parsed from its start on each read,
/// which is cheap for a cache's replies (one value per command); a reply
/// of many megabytes in tiny reads would cost more.
///
/// Invalid input throws ``RedisError`` with kind `.protocolError` rather
/// than trapping: the bytes come from the network. The limits below keep a
/// broken or hostile peer from making the decoder buffer without end or
/// recurse without end.
///
/// For example:
///
/// ```swift
/// let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder()))
/// try channel.writeInbound(ByteBuffer(string: "$3\r\nbar\r\n"))
/// let value = try channel.readInbound(as: RESPValue.self)  // .bulkString("bar")
/// ```
public struct RESPDecoder: NIOSingleStepByteToMessageDecoder {
    /// What the decoder produces: one whole reply (or, on a server's side,
    /// one whole command) per value.
    public typealias InboundOut = RESPValue

    /// The longest bulk string accepted: Redis's own default
    /// `proto-max-bulk-len`, 512 MiB.
    public static let maximumBulkLength = 512 * 1024 * 1024
    /// The longest line (type byte to CRLF) accepted: simple strings,
    /// errors and lengths are short, so a longer line means the stream is
    /// not RESP.
    public static let maximumLineLength = 64 * 1024
    /// The deepest nesting of arrays accepted. Redis's deepest replies
    /// nest a few levels; the limit bounds the recursion.
    public static let maximumDepth = 128

    /// Creates a decoder; it keeps no state between values.
    public init() {}

    /// Decodes the next whole value, or returns nil (consuming nothing)
    /// when the buffer holds only part of one.
    public mutating func decode(buffer: inout ByteBuffer) throws -> RESPValue? {
        var index = buffer.readerIndex
        guard let value = try Self.parse(buffer, at: &index, depth: 0) else { return nil }
        buffer.moveReaderIndex(to: index)
        return value
    }

    /// At the end of the stream, decodes what is whole. Bytes of an
    /// unfinished value are left; NIO reports them as left over.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        try decode(buffer: &buffer)
    }

    // MARK: - Parsing

    /// Parses one value starting at `index` (an absolute index in the
    /// buffer) and moves `index` past it; nil when the value is incomplete.
    static func parse(_ buffer: ByteBuffer, at index: inout Int, depth: Int) throws -> RESPValue? {
        guard let type = buffer.getInteger(at: index, as: UInt8.self) else { return nil }
        guard let found = try line(in: buffer, from: index + 1) else { return nil }
        let (lineStart, lineEnd, next) = found
        switch type {
        case UInt8(ascii: "+"):
            index = next
            return .simpleString(text(buffer, lineStart, lineEnd))
        case UInt8(ascii: "-"):
            index = next
            return .error(text(buffer, lineStart, lineEnd))
        case UInt8(ascii: ":"):
            let value = try integer(buffer, lineStart, lineEnd, what: "an integer reply")
            index = next
            return .integer(value)
        case UInt8(ascii: "$"):
            let length = try integer(buffer, lineStart, lineEnd, what: "a bulk string's length")
            if length == -1 {
                index = next
                return .bulkString(nil)
            }
            guard length >= 0, length <= maximumBulkLength else {
                throw RedisError(.protocolError, "A bulk string's length \(length) is out of range (-1 to \(maximumBulkLength)).")
            }
            guard next + length + 2 <= buffer.writerIndex else { return nil }
            guard buffer.getInteger(at: next + length, as: UInt16.self) == crlf else {
                throw RedisError(.protocolError, "A bulk string of \(length) bytes is not followed by CRLF.")
            }
            let bytes = buffer.getBytes(at: next, length: length) ?? []
            index = next + length + 2
            return .bulkString(bytes)
        case UInt8(ascii: "*"):
            let count = try integer(buffer, lineStart, lineEnd, what: "an array's length")
            if count == -1 {
                index = next
                return .array(nil)
            }
            guard count >= 0, count <= Int(Int32.max) else {
                throw RedisError(.protocolError, "An array's length \(count) is out of range (-1 to \(Int32.max)).")
            }
            guard depth < maximumDepth else {
                throw RedisError(.protocolError, "Arrays are nested more than \(maximumDepth) levels deep.")
            }
            // The count comes from the peer: reserve only what a small
            // reply needs, and let a large one grow as its elements arrive.
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(count, 1024))
            var cursor = next
            for _ in 0..<count {
                guard let element = try parse(buffer, at: &cursor, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            index = cursor
            return .array(elements)
        default:
            throw RedisError(.protocolError, "A reply starts with the byte 0x\(String(type, radix: 16)), which is no RESP2 type.")
        }
    }

    /// "\r\n" read as a big-endian UInt16.
    private static let crlf: UInt16 = 0x0D0A

    /// Finds the CRLF ending the line that starts at `start`: the line's
    /// content range and the index after the CRLF, or nil when the line is
    /// not complete yet.
    private static func line(in buffer: ByteBuffer, from start: Int) throws -> (Int, Int, Int)? {
        let available = buffer.writerIndex - start
        guard available > 0 else { return nil }
        let searched = min(available, maximumLineLength)
        let offset = start - buffer.readerIndex
        let newline: Int? = buffer.withUnsafeReadableBytes { raw in
            let window = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + searched)])
            return window.firstIndex(of: 0x0A).map { start + $0 }
        }
        guard let newline else {
            if available >= maximumLineLength {
                throw RedisError(.protocolError, "A line is longer than \(maximumLineLength) bytes without CRLF.")
            }
            return nil
        }
        guard newline > start, buffer.getInteger(at: newline - 1, as: UInt8.self) == 0x0D else {
            throw RedisError(.protocolError, "A line ends with LF without CR.")
        }
        return (start, newline - 1, newline + 1)
    }

    private static func text(_ buffer: ByteBuffer, _ start: Int, _ end: Int) -> String {
        buffer.getString(at: start, length: end - start) ?? ""
    }

    /// A signed decimal with no sign but `-`, no spaces, no leading `+`,
    /// and within `Int`: Redis writes nothing else.
    private static func integer(_ buffer: ByteBuffer, _ start: Int, _ end: Int, what: String) throws -> Int {
        let digits = buffer.getBytes(at: start, length: end - start) ?? []
        let negative = digits.first == UInt8(ascii: "-")
        let body = negative ? digits.dropFirst() : digits[...]
        guard !body.isEmpty, body.count <= 20 else {
            throw RedisError(.protocolError, "\(capitalized(what)) is not a decimal integer.")
        }
        var value = 0
        for digit in body {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else {
                throw RedisError(.protocolError, "\(capitalized(what)) is not a decimal integer.")
            }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) =
                negative
                ? times10.subtractingReportingOverflow(Int(digit - UInt8(ascii: "0")))
                : times10.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else {
                throw RedisError(.protocolError, "\(capitalized(what)) does not fit in 64 bits.")
            }
            value = sum
        }
        return value
    }

    private static func capitalized(_ text: String) -> String {
        text.prefix(1).uppercased() + text.dropFirst()
    }
}
