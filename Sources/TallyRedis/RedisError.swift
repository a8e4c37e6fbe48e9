/// Every failure TallyRedis reports: what kind it is, one sentence saying
/// what happened, and the command's name when a command failed.
///
/// One error type, as GRDB's `DatabaseError`: a cache level needs to tell
/// "the server said no" (`.server`, the connection is fine) from "the
/// connection is gone" (`.connectionClosed`, `.timeout`, `.connectFailed`:
/// fall back to the next level and let the pool reconnect) without matching
/// on NIO's or the OS's errors. Only the command's name is kept, never its
/// arguments: keys, values and passwords stay out of logs.
///
/// For example:
///
/// ```swift
/// do {
///     _ = try await client.get("answer")
/// } catch let error as RedisError where error.kind == .timeout {
///     // The connection was closed; the pool opens a new one next time.
/// }
/// ```
public struct RedisError: Error, Sendable, Hashable {
    /// What went wrong, for code that decides what to do next.
    public enum Kind: Sendable, Hashable {
        /// The server replied with an error (`-ERR ...`, `-WRONGTYPE ...`,
        /// `-NOAUTH ...`). The connection is still usable.
        case server
        /// A command got no reply within the command timeout. The
        /// connection was closed: a late reply would be matched with the
        /// next command.
        case timeout
        /// The connection closed (or failed) before the reply arrived.
        case connectionClosed
        /// No connection could be made (refused, unreachable, DNS), or the
        /// AUTH/SELECT handshake after connecting failed.
        case connectFailed
        /// Connecting took longer than the connect timeout.
        case connectTimeout
        /// The bytes from the server are not valid RESP2. The connection
        /// was closed, since nothing after them can be trusted.
        case protocolError
        /// The server replied with a valid value of a type the command
        /// never returns (for example an array to GET).
        case unexpectedReply
        /// Every pooled connection stayed busy for the whole pool timeout.
        case poolTimeout
        /// The client was shut down; it opens no new connections.
        case shutDown
        /// A `redis://` URL could not be parsed.
        case invalidURL
    }

    /// What went wrong.
    public let kind: Kind
    /// One sentence saying what went wrong; for `.server`, the server's own
    /// message (`ERR unknown command ...`).
    public let message: String
    /// The command's name (`GET`, `SET`...) when a command failed.
    public let command: String?

    /// Creates an error. Public so that code built on the client (and its
    /// tests) can report failures in the same terms.
    public init(_ kind: Kind, _ message: String, command: String? = nil) {
        self.kind = kind
        self.message = message
        self.command = command
    }

    /// For `.server` errors, the error code the server put first (`ERR`,
    /// `WRONGTYPE`, `NOAUTH`...), which is what code should match on.
    public var serverCode: String? {
        guard kind == .server else { return nil }
        return message.split(separator: " ", maxSplits: 1).first.map(String.init)
    }
}

extension RedisError: CustomStringConvertible {
    /// The message, prefixed with the command's name when there is one:
    /// "Redis GET: the command got no reply within 200 ms...".
    public var description: String {
        if let command { "Redis \(command): \(message)" } else { "Redis: \(message)" }
    }
}

extension RedisError {
    /// The command's name from its first argument, for error messages.
    static func commandName(_ arguments: [[UInt8]]) -> String? {
        arguments.first.map { String(decoding: $0.prefix(32), as: UTF8.self).uppercased() }
    }
}
