/// The commands a cache needs, for anything that can send RESP commands: one
/// ``RedisConnection`` or the pooled ``RedisClient``.
///
/// Conforming types implement only ``send(_:)`` and ``pipeline(_:)``; GET,
/// SET, DEL and PING are written once on top of them, so a single
/// connection and the pool behave the same.
///
/// Keys are strings (a cache derives them from its own names); values are
/// bytes, since a cached answer is usually encoded JSON or a binary format
/// and RESP bulk strings carry any bytes.
///
/// For example:
///
/// ```swift
/// let stored = try await client.set("answer:42", Array(json.utf8), expiresInMilliseconds: 60_000, onlyIfAbsent: true)
/// let cached = try await client.get("answer:42")  // [UInt8]?
/// ```
public protocol RedisCommands: Sendable {
    /// Sends one command (its name first, then its arguments) and returns
    /// the reply.
    ///
    /// - Throws: ``RedisError``: kind `.server` when the server replies
    ///   with an error, or why the reply could not be had (timeout, closed
    ///   connection, protocol error).
    func send(_ arguments: [[UInt8]]) async throws -> RESPValue

    /// Sends several commands in one write and returns their replies in
    /// the same order.
    ///
    /// One round trip instead of one per command. An error reply to one
    /// command does not fail the others: it is returned in its place as
    /// ``RESPValue/error(_:)``. Only a failure of the connection throws.
    func pipeline(_ commands: [[[UInt8]]]) async throws -> [RESPValue]
}

extension RedisCommands {
    /// Sends one command given as text arguments (`["TTL", key]`).
    ///
    /// A convenience for commands beyond the typed ones; binary arguments
    /// go through ``send(_:)``.
    public func send(_ arguments: String...) async throws -> RESPValue {
        try await send(arguments.map { Array($0.utf8) })
    }

    /// `GET key`: the value, or nil when the key does not exist (or has
    /// expired).
    ///
    /// - Throws: ``RedisError``; kind `.server` with code `WRONGTYPE` when
    ///   the key holds something other than a string.
    public func get(_ key: String) async throws -> [UInt8]? {
        let reply = try await send([Array("GET".utf8), Array(key.utf8)])
        switch reply {
        case .bulkString(let bytes): return bytes
        default: throw RedisError.unexpected(reply, command: "GET", expected: "a bulk string")
        }
    }

    /// `SET key value [PX milliseconds] [NX]`: stores a value, optionally
    /// with an expiry and only if the key is absent.
    ///
    /// `onlyIfAbsent` (NX) lets several processes fill the same cache entry
    /// without overwriting one another: the first write wins and the
    /// others learn that they lost.
    ///
    /// - Parameters:
    ///   - expiresInMilliseconds: the time to live (PX); nil keeps the key
    ///     until it is deleted. Must be positive: the server refuses 0 or
    ///     less with an error.
    ///   - onlyIfAbsent: store only if the key does not exist (NX).
    /// - Returns: true when the value was stored, false when NX refused it.
    public func set(
        _ key: String, _ value: [UInt8], expiresInMilliseconds: Int? = nil, onlyIfAbsent: Bool = false
    ) async throws -> Bool {
        var arguments = [Array("SET".utf8), Array(key.utf8), value]
        if let expiresInMilliseconds {
            arguments.append(Array("PX".utf8))
            arguments.append(Array(String(expiresInMilliseconds).utf8))
        }
        if onlyIfAbsent { arguments.append(Array("NX".utf8)) }
        let reply = try await send(arguments)
        switch reply {
        case .simpleString("OK"): return true
        case .bulkString(nil): return false
        default: throw RedisError.unexpected(reply, command: "SET", expected: "+OK or a null bulk string")
        }
    }

    /// `DEL key...`: removes keys and returns how many existed.
    ///
    /// An empty list sends nothing and returns 0 (the server would refuse
    /// a DEL without keys).
    public func del(_ keys: [String]) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        let reply = try await send([Array("DEL".utf8)] + keys.map { Array($0.utf8) })
        guard case .integer(let count) = reply else {
            throw RedisError.unexpected(reply, command: "DEL", expected: "an integer")
        }
        return count
    }

    /// `DEL key...` with the keys listed as arguments.
    public func del(_ keys: String...) async throws -> Int {
        try await del(keys)
    }

    /// `PING`: checks that the server answers.
    ///
    /// - Throws: ``RedisError`` when it does not answer `+PONG`.
    public func ping() async throws {
        let reply = try await send([Array("PING".utf8)])
        guard case .simpleString("PONG") = reply else {
            throw RedisError.unexpected(reply, command: "PING", expected: "+PONG")
        }
    }
}

extension RedisError {
    static func unexpected(_ reply: RESPValue, command: String, expected: String) -> RedisError {
        RedisError(.unexpectedReply, "The server replied \(reply) where \(expected) was expected.", command: command)
    }

    /// The error for an error reply.
    static func server(_ message: String, arguments: [[UInt8]]) -> RedisError {
        RedisError(.server, message, command: commandName(arguments))
    }
}
