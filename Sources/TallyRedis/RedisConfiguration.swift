/// Where a Redis server is and how the client talks to it: address,
/// credentials, database, pool size and timeouts.
///
/// Usually made from the URL an operator configures
/// (`redis://[[username]:password@]host[:port][/db]`), with the limits left
/// at their defaults:
///
/// ```swift
/// var configuration = try RedisConfiguration(url: "redis://:s3cret@127.0.0.1:6379/2")
/// configuration.commandTimeout = .milliseconds(250)
/// let client = RedisClient(configuration: configuration)
/// ```
///
/// Every timeout is finite on purpose: a cache level that waits on a stuck
/// server longer than the database would take to answer is worse than no
/// cache.
public struct RedisConfiguration: Sendable, Hashable {
    /// The server's host name or IP address (IPv6 without brackets).
    public var host: String
    /// The server's TCP port; 6379 when the URL names none.
    public var port: Int
    /// The ACL user for `AUTH username password` (Redis 6+); nil sends
    /// `AUTH password`, which authenticates as the default user.
    public var username: String?
    /// The password sent with AUTH right after connecting; nil sends no
    /// AUTH.
    public var password: String?
    /// The logical database chosen with SELECT right after connecting
    /// (0, the server's default, sends no SELECT).
    public var database: Int
    /// The most connections the client keeps open at once. Commands beyond
    /// that wait for a connection (the pool timeout).
    public var maximumConnections: Int
    /// How long opening a TCP connection may take, handshake excluded.
    public var connectTimeout: Duration
    /// How long each command may wait for its reply. One that waits longer
    /// fails with `.timeout` and its connection is closed, since a late
    /// reply would be taken for the next command's.
    public var commandTimeout: Duration
    /// How long a command may wait for a free connection when all
    /// ``maximumConnections`` are busy.
    public var poolTimeout: Duration

    /// Creates a configuration from its parts.
    public init(
        host: String,
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        maximumConnections: Int = 8,
        connectTimeout: Duration = .seconds(5),
        commandTimeout: Duration = .seconds(5),
        poolTimeout: Duration = .seconds(5)
    ) {
        precondition(maximumConnections > 0, "a Redis pool needs at least one connection")
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.maximumConnections = maximumConnections
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.poolTimeout = poolTimeout
    }

    /// Parses `redis://[[username]:password@]host[:port][/db]`.
    ///
    /// The password (and username) may be percent-encoded, so that `@`,
    /// `:` and `/` can appear in them. An IPv6 address is written in
    /// brackets: `redis://[::1]:6379`.
    ///
    /// - Throws: ``RedisError`` with kind `.invalidURL` and one sentence
    ///   naming what is wrong. The password never appears in the message.
    public init(
        url: String,
        maximumConnections: Int = 8,
        connectTimeout: Duration = .seconds(5),
        commandTimeout: Duration = .seconds(5),
        poolTimeout: Duration = .seconds(5)
    ) throws {
        let parsed = try RedisURL(url)
        self.init(
            host: parsed.host, port: parsed.port, username: parsed.username, password: parsed.password,
            database: parsed.database, maximumConnections: maximumConnections,
            connectTimeout: connectTimeout, commandTimeout: commandTimeout, poolTimeout: poolTimeout)
    }
}

extension RedisConfiguration: CustomStringConvertible {
    /// The configuration as a URL with the password masked, for logs.
    public var description: String {
        var text = "redis://"
        if username != nil || password != nil {
            text += (username ?? "") + (password == nil ? "" : ":***") + "@"
        }
        text += host.contains(":") ? "[\(host)]" : host
        text += ":\(port)"
        if database != 0 { text += "/\(database)" }
        return text
    }
}

/// The parts of a `redis://` URL, parsed by hand: Foundation's URL
/// accepts much that is no address (and is not linked here), and the error
/// must say which part is wrong.
struct RedisURL {
    var host: String
    var port = 6379
    var username: String?
    var password: String?
    var database = 0

    init(_ url: String) throws {
        func invalid(_ what: String) -> RedisError {
            RedisError(.invalidURL, "The Redis URL '\(Self.masked(url))' \(what).")
        }
        let schemeEnd = url.firstRange(of: "://")
        guard let schemeEnd, url[..<schemeEnd.lowerBound].lowercased() == "redis" else {
            throw invalid("does not start with redis://")
        }
        var rest = url[schemeEnd.upperBound...]
        if rest.contains("?") || rest.contains("#") {
            throw invalid("has a query or fragment, which is not supported")
        }

        // The path, after the authority: an optional database number.
        let authority: Substring
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard path.allSatisfy({ $0.isASCIIDigit }), path.count <= 9, let number = Int(path) else {
                    throw invalid("has a database '\(path)' that is not a non-negative number")
                }
                database = number
            }
        } else {
            authority = rest
        }
        rest = authority

        // Credentials: everything up to the last '@' (a raw '@' in a
        // password is then still read right).
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = credentials.firstIndex(of: ":") else {
                throw invalid("has credentials without a ':' before the password (write redis://:password@host)")
            }
            let user = credentials[..<colon]
            let secret = credentials[credentials.index(after: colon)...]
            guard let decodedUser = Self.percentDecoded(user), let decodedSecret = Self.percentDecoded(secret) else {
                throw invalid("has credentials with an invalid percent-escape")
            }
            username = decodedUser.isEmpty ? nil : decodedUser
            guard !decodedSecret.isEmpty else {
                throw invalid("has an empty password")
            }
            password = decodedSecret
        }

        // Host and port; an IPv6 address in brackets.
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw invalid("has an IPv6 host without its closing ']'")
            }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("has text after the IPv6 host that is not ':port'") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
        } else {
            host = String(rest)
        }
        guard !host.isEmpty else { throw invalid("has no host") }
        if let portText {
            guard portText.allSatisfy({ $0.isASCIIDigit }), portText.count <= 5, let number = Int(portText), (1...65535).contains(number) else {
                throw invalid("has a port '\(portText)' that is not a number from 1 to 65535")
            }
            port = number
        }
    }

    /// The URL with its password replaced by `***`, for error messages.
    static func masked(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return url }
        let afterScheme = url[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
        guard let at = afterScheme[..<authorityEnd].lastIndex(of: "@") else { return url }
        let credentials = afterScheme[..<at]
        let user = credentials.firstIndex(of: ":").map { credentials[..<$0] } ?? credentials
        var masked = String(url[..<schemeEnd.upperBound])
        masked += user
        masked += ":***"
        masked += url[at...]
        return masked
    }

    /// `%XX` escapes decoded as UTF-8; nil for a malformed escape.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
