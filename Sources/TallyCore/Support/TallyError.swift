import Foundation
import GRDB

/// The one error type of Tally: a kind that decides the exit status, and a
/// message that is one clear sentence a user can act on.
public struct TallyError: Error, Sendable, CustomStringConvertible, LocalizedError {
    public enum Kind: Sendable, Equatable {
        /// Bad user input: an unknown period, a malformed date, a reversed range.
        /// The CLI exits 2, HTTP answers 400.
        case invalidInput
        /// A file or directory that is missing or cannot be used.
        case file
        /// A file that is not a database Tally can read: not SQLite, corrupt,
        /// or missing a table or column of the contract.
        case schema
        /// Any other failure reported by SQLite.
        case database
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
    public var errorDescription: String? { message }

    public static func invalid(_ message: String) -> TallyError { TallyError(.invalidInput, message) }
}

extension TallyError {
    /// Wraps any error thrown while working on `path` into a `TallyError` whose
    /// message names the file: SQLite's messages ("file is not a database")
    /// don't say which file.
    public static func wrapping(_ error: any Error, path: String) -> TallyError {
        if let error = error as? TallyError { return error }
        if let error = error as? DatabaseError {
            let file = (path as NSString).lastPathComponent
            switch error.resultCode {
            case .SQLITE_NOTADB:
                return TallyError(.schema, "\(path) is not a SQLite database")
            case .SQLITE_CORRUPT:
                return TallyError(.schema, "\(path) is corrupt (SQLite: \(error.message ?? "database disk image is malformed"))")
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return TallyError(.database, "\(file) is locked by another connection; try again later")
            case .SQLITE_READONLY:
                return TallyError(.file, "\(path) is read-only: \(error.message ?? "attempt to write a readonly database")")
            case .SQLITE_CANTOPEN:
                return TallyError(.file, "cannot open \(path)")
            case .SQLITE_FULL:
                return TallyError(.file, "the disk holding \(path) is full")
            default:
                return TallyError(.database, "\(file): \(error.message ?? "\(error.resultCode)")")
            }
        }
        return TallyError(.database, "\(path): \(error.localizedDescription)")
    }
}
