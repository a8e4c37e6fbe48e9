public import NIOCore

/// Writes RESP2 into a `ByteBuffer`.
///
/// A client sends every command as an array of bulk strings
/// (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`): lengths are explicit, so keys and
/// values may hold any bytes, CR, LF and NUL included, with no escaping.
/// Encoding any ``RESPValue`` is there too, so that a test can play the
/// server's side and so that the decoder can be checked against it.
///
/// For example:
///
/// ```swift
/// var buffer = ByteBuffer()
/// RESPEncoder.encodeCommand([Array("PING".utf8)], into: &buffer)  // "*1\r\n$4\r\nPING\r\n"
/// ```
public enum RESPEncoder {
    /// Appends one command: an array of bulk strings, the command's name
    /// first.
    public static func encodeCommand(_ arguments: [[UInt8]], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(arguments.count, into: &buffer)
        for argument in arguments {
            writeBulk(argument, into: &buffer)
        }
    }

    /// Appends any RESP2 value, nested arrays included.
    ///
    /// The caller keeps simple strings and errors free of CR and LF, as
    /// the protocol requires (a precondition: such a value is a bug in the
    /// caller, not a runtime condition).
    public static func encode(_ value: RESPValue, into buffer: inout ByteBuffer) {
        switch value {
        case .simpleString(let text):
            writeLine(prefix: "+", text, into: &buffer)
        case .error(let message):
            writeLine(prefix: "-", message, into: &buffer)
        case .integer(let number):
            buffer.writeInteger(UInt8(ascii: ":"))
            writeDecimal(number, into: &buffer)
        case .bulkString(nil):
            buffer.writeStaticString("$-1\r\n")
        case .bulkString(let bytes?):
            writeBulk(bytes, into: &buffer)
        case .array(nil):
            buffer.writeStaticString("*-1\r\n")
        case .array(let values?):
            buffer.writeInteger(UInt8(ascii: "*"))
            writeDecimal(values.count, into: &buffer)
            for element in values {
                encode(element, into: &buffer)
            }
        }
    }

    private static func writeBulk(_ bytes: [UInt8], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "$"))
        writeDecimal(bytes.count, into: &buffer)
        buffer.writeBytes(bytes)
        buffer.writeStaticString("\r\n")
    }

    private static func writeLine(prefix: Unicode.Scalar, _ text: String, into buffer: inout ByteBuffer) {
        precondition(!text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }), "RESP simple strings and errors cannot contain CR or LF")
        buffer.writeInteger(UInt8(ascii: prefix))
        buffer.writeString(text)
        buffer.writeStaticString("\r\n")
    }

    /// The number in decimal, then CRLF.
    private static func writeDecimal(_ number: Int, into buffer: inout ByteBuffer) {
        buffer.writeString(String(number))
        buffer.writeStaticString("\r\n")
    }
}
