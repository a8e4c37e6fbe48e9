/// One RESP2 value: what a Redis server replies, and (as an array of bulk
/// strings) what a client sends.
///
/// RESP2 has five types, and two of them have a distinct null on the wire
/// (`$-1` and `*-1`). The nulls are kept as `nil` payloads rather than one
/// shared `.null` case, so that decoding and re-encoding a reply gives back
/// the same bytes, and a test can state exactly which null a server sent.
///
/// For example:
///
/// ```swift
/// let reply = try await connection.send("INCR", "hits")
/// guard case .integer(let hits) = reply else { throw RedisError(.unexpectedReply, "INCR gave \(reply).") }
/// ```
///
/// See <https://redis.io/docs/latest/develop/reference/protocol-spec/>.
public enum RESPValue: Sendable, Hashable {
    /// `+OK\r\n`: a short status line. It cannot contain CR or LF, so it is
    /// held as text.
    case simpleString(String)

    /// `-ERR message\r\n`: the server refused a command. The connection
    /// stays usable; the first word is the error's code (`ERR`, `WRONGTYPE`,
    /// `NOAUTH`...).
    case error(String)

    /// `:42\r\n`: a signed 64-bit integer (counts, booleans, TTLs).
    case integer(Int)

    /// `$3\r\nfoo\r\n`: a binary-safe string; `nil` is the null bulk string
    /// `$-1\r\n` (for example GET on a missing key).
    case bulkString([UInt8]?)

    /// `*2\r\n...`: an ordered list of values, possibly nested; `nil` is the
    /// null array `*-1\r\n` (for example a blocking pop that timed out).
    case array([RESPValue]?)
}

extension RESPValue {
    /// Whether the value is one of RESP2's two nulls.
    ///
    /// Callers mostly care that "nothing is there", not which null the
    /// server chose for the command.
    public var isNull: Bool {
        switch self {
        case .bulkString(nil), .array(nil): true
        default: false
        }
    }

    /// The payload of a bulk or simple string as bytes, nil otherwise.
    ///
    /// A cache stores values as bytes; both string types carry them.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): bytes
        case .simpleString(let text): Array(text.utf8)
        default: nil
        }
    }

    /// The payload of a bulk or simple string as UTF-8 text (invalid
    /// sequences replaced), nil otherwise.
    public var string: String? {
        switch self {
        case .bulkString(let bytes?): String(decoding: bytes, as: UTF8.self)
        case .simpleString(let text): text
        default: nil
        }
    }

    /// The value of an integer reply, nil otherwise.
    public var integer: Int? {
        if case .integer(let value) = self { value } else { nil }
    }
}

extension RESPValue: CustomStringConvertible {
    /// A short rendering for logs and test failures: bulk strings shown as
    /// text when they are printable UTF-8, otherwise by their length (a
    /// cached value can be large or binary).
    public var description: String {
        switch self {
        case .simpleString(let text):
            return "+\(text)"
        case .error(let message):
            return "-\(message)"
        case .integer(let value):
            return ":\(value)"
        case .bulkString(nil), .array(nil):
            return "(nil)"
        case .bulkString(let bytes?):
            let printable = bytes.count <= 64 && bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
            return printable ? "\"\(String(decoding: bytes, as: UTF8.self))\"" : "<\(bytes.count) bytes>"
        case .array(let values?):
            return "[" + values.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
