public import Foundation
import GRDB

/// The one error type of Tally: a kind that decides the exit status and the
/// HTTP status, a message that is one sentence a user can act on, and the
/// error it came from.
///
/// For example:
///
/// ```swift
/// do { _ = try TallyDatabase.openReadOnly(path: "missing.sqlite") }
/// catch let error as TallyError { print(error.kind, error.message) }  // file, "no database at missing.sqlite"
/// ```
public struct TallyError: Error, Sendable, CustomStringConvertible, LocalizedError {
    public enum Kind: Sendable, Equatable {
        /// Bad user input: an unknown period, a malformed date, a reversed
        /// range. The CLI exits 2, HTTP answers 400.
        case invalidInput
        /// Something named by the user does not exist (an organization id).
        /// Exit 1, HTTP 404.
        case notFound
        /// The request is fine but the file's state refuses it ("already holds
        /// data", "rollups are not enabled"). Exit 1, HTTP 409.
        case state
        /// A file or directory that is missing or cannot be used. Exit 1.
        case file
        /// A file that is not a database Tally can read: not SQLite, corrupt,
        /// or missing a table or column. Exit 1.
        case schema
        /// A failure reported by SQLite, or data SQL itself refuses to
        /// aggregate (an integer overflow in a sum). Exit 1, HTTP 500.
        case database
        /// Every database reader stayed busy for the pool timeout. Exit 1,
        /// HTTP 503 with `Retry-After`.
        case busy
    }

    public let kind: Kind
    /// One sentence, for a terminal: may name files by their path.
    public let message: String
    /// The error this one describes, when there is one.
    public let underlying: (any Error & Sendable)?
    /// The path the message names, kept so that `publicMessage` can hide it.
    let path: String?

    public init(_ kind: Kind, _ message: String, underlying: (any Error & Sendable)? = nil, path: String? = nil) {
        self.kind = kind
        self.message = message
        self.underlying = underlying
        self.path = path
    }

    /// The message without the server's directories: a file is named by
    /// its last path component only. What an HTTP client may see.
    public var publicMessage: String {
        guard let path, !path.isEmpty else { return message }
        let name = (path as NSString).lastPathComponent
        return message.replacingOccurrences(of: path, with: name)
    }

    public var description: String { message }
    public var errorDescription: String? { message }

    public static func invalid(_ message: String) -> TallyError { TallyError(.invalidInput, message) }
}

extension TallyError {
    /// Wraps an error thrown while working on `path` into a `TallyError`
    /// whose message names the file: SQLite's messages ("file is not a
    /// database") do not say which file.
    public static func wrapping(_ error: any Error, path: String) -> TallyError {
        if let error = error as? TallyError { return error }
        if let error = error as? DatabaseError {
            let file = (path as NSString).lastPathComponent
            let message: String
            let kind: Kind
            switch error.resultCode {
            case .SQLITE_NOTADB:
                (kind, message) = (.schema, "\(path) is not a SQLite database")
            case .SQLITE_CORRUPT:
                (kind, message) = (.schema, "\(path) is corrupt (SQLite: \(error.message ?? "database disk image is malformed"))")
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                (kind, message) = (.busy, "\(file) is locked by another connection; try again later")
            case .SQLITE_READONLY:
                (kind, message) = (.file, "\(path) is read-only: \(error.message ?? "attempt to write a readonly database")")
            case .SQLITE_CANTOPEN:
                (kind, message) = (.file, "cannot open \(path)")
            case .SQLITE_FULL:
                (kind, message) = (.file, "the disk holding \(path) is full")
            default:
                (kind, message) = (.database, "\(file): \(error.message ?? "\(error.resultCode)")")
            }
            return TallyError(kind, message, underlying: error, path: path)
        }
        return TallyError(.database, "\(path): \(error.localizedDescription)", underlying: SendableDescription(error), path: path)
    }

    /// SQL's "integer overflow", naming what overflowed: every strategy
    /// raises this one for a sum SQLite itself refuses.
    static func integerOverflow(table: String, column: String, stat: String) -> TallyError {
        TallyError(
            .database,
            "integer overflow in sum(\(table).\(column)) (stat \(stat)): "
                + "the stored values add up past 64-bit integers, as SQLite's SUM reports")
    }
}

/// An error that is not `Sendable`, kept by its description.
struct SendableDescription: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ error: any Error) { description = String(describing: error) }
}
