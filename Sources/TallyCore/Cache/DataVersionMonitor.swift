import Foundation
import GRDBSQLite

/// Detects commits made by any other connection or process, by reading
/// `PRAGMA data_version` on a dedicated read-only connection.
///
/// > The integer values returned by two invocations of "PRAGMA data_version"
/// > from the same connection will be different if changes were committed to
/// > the database by any other connection in the interim.
///
/// The connection is raw SQLite (one prepared statement, stepped under a
/// lock) so that a check costs a few microseconds: it runs before every
/// validated cache hit.
public final class DataVersionMonitor: @unchecked Sendable {
    private let lock = NSLock()
    private var connection: OpaquePointer?
    private var statement: OpaquePointer?
    public let path: String

    /// Opens the dedicated connection, read-only.
    public init(path: String) throws {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(path, &db, flags, nil) == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw TallyError(.file, "cannot open \(path) to watch for changes: \(message)")
        }
        sqlite3_busy_timeout(db, 5_000)
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &statement, nil) == SQLITE_OK else {
            let message = String(cString: sqlite3_errmsg(db))
            sqlite3_close(db)
            throw TallyError(.database, "\(path): \(message)")
        }
        connection = db
        self.statement = statement
    }

    deinit {
        sqlite3_finalize(statement)
        sqlite3_close(connection)
    }

    /// The connection's current data version.
    public func read() throws -> Int64 {
        lock.lock()
        defer { lock.unlock() }
        let code = sqlite3_step(statement)
        defer { sqlite3_reset(statement) }
        guard code == SQLITE_ROW else {
            throw TallyError(.database, "\(path): cannot read data_version (\(String(cString: sqlite3_errmsg(connection))))")
        }
        return sqlite3_column_int64(statement, 0)
    }
}
