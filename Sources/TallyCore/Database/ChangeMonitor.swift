import GRDBSQLite

/// Detects commits made by any connection or process, on a dedicated
/// read-only connection: `PRAGMA data_version` tells *that* something
/// changed, and, when rollups are enabled, the per-table change counters
/// their triggers keep (`tally_changes`) tell *which* tables.
///
/// > The integer values returned by two invocations of "PRAGMA data_version"
/// > from the same connection will be different if changes were committed to
/// > the database by any other connection in the interim.
/// > (sqlite.org/pragma.html#pragma_data_version)
///
/// The connection is raw SQLite (prepared statements, stepped under a lock)
/// so that a check costs well under a microsecond: it runs before every
/// validated cache hit.
final class ChangeMonitor: Sendable {
    /// The connection and its statements; `@unchecked` because they are
    /// only touched under `handles`' lock.
    private struct Handles: @unchecked Sendable {
        var database: OpaquePointer?
        var dataVersion: OpaquePointer?
        var counters: OpaquePointer?
        var schemaVersion: OpaquePointer?
    }

    private let handles: Locked<Handles>
    let path: String

    /// Opens the dedicated connection, read-only.
    init(path: String) throws {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(path, &db, flags, nil) == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw TallyError(.file, "cannot open \(path) to watch for changes: \(message)", path: path)
        }
        sqlite3_busy_timeout(db, 5_000)
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &statement, nil) == SQLITE_OK else {
            let message = String(cString: sqlite3_errmsg(db))
            sqlite3_close(db)
            throw TallyError(.database, "\(path): \(message)", path: path)
        }
        handles = Locked(Handles(database: db, dataVersion: statement))
    }

    deinit {
        handles.withLock { handles in
            sqlite3_finalize(handles.dataVersion)
            sqlite3_finalize(handles.counters)
            sqlite3_finalize(handles.schemaVersion)
            sqlite3_close(handles.database)
        }
    }

    /// The connection's current data version.
    func dataVersion() throws -> Int64 {
        try handles.withLock { handles in
            let code = sqlite3_step(handles.dataVersion)
            defer { sqlite3_reset(handles.dataVersion) }
            guard code == SQLITE_ROW else {
                throw TallyError(
                    .database, "\(path): cannot read data_version (\(String(cString: sqlite3_errmsg(handles.database))))",
                    path: path)
            }
            return sqlite3_column_int64(handles.dataVersion, 0)
        }
    }

    /// The schema's version (`PRAGMA schema_version`): it changes when a
    /// table or trigger is created or dropped, so a cached rollup catalog
    /// for the same version is still right.
    func schemaVersion() -> Int64? {
        handles.withLock { handles -> Int64? in
            if handles.schemaVersion == nil {
                var statement: OpaquePointer?
                guard sqlite3_prepare_v2(handles.database, "PRAGMA schema_version", -1, &statement, nil) == SQLITE_OK else { return nil }
                handles.schemaVersion = statement
            }
            defer { sqlite3_reset(handles.schemaVersion) }
            guard sqlite3_step(handles.schemaVersion) == SQLITE_ROW else { return nil }
            return sqlite3_column_int64(handles.schemaVersion, 0)
        }
    }

    /// The change counter of every table, or nil when the file has none
    /// (rollups not enabled). Read outside any transaction: one snapshot.
    func counters() -> [String: Int64]? {
        handles.withLock { handles -> [String: Int64]? in
            if handles.counters == nil {
                var statement: OpaquePointer?
                guard sqlite3_prepare_v2(handles.database, ChangeCounters.selectAll, -1, &statement, nil) == SQLITE_OK else {
                    return nil
                }
                handles.counters = statement
            }
            defer { sqlite3_reset(handles.counters) }
            var result: [String: Int64] = [:]
            while true {
                let code = sqlite3_step(handles.counters)
                if code == SQLITE_DONE { break }
                guard code == SQLITE_ROW, let name = sqlite3_column_text(handles.counters, 0) else {
                    // The table was dropped (`rollups disable`): prepare again next time.
                    sqlite3_finalize(handles.counters)
                    handles.counters = nil
                    return nil
                }
                result[String(cString: name)] = sqlite3_column_int64(handles.counters, 1)
            }
            return result.isEmpty ? nil : result
        }
    }
}
