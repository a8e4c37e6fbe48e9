import GRDB

/// The per-table change counters rollup triggers keep in the file
/// (`tally_changes`): every inserted, updated or deleted row of a table adds
/// one to its counter, inside the writer's own transaction.
///
/// Unlike `PRAGMA data_version`, which is per connection, the counters mean
/// the same in every process and on every copy of the file: cache keys,
/// HTTP ETags and the shared Redis level are built on them. The row named
/// `''` holds a random epoch drawn when rollups are enabled, so that counts
/// that restart after `disable`/`enable` never repeat a stamp.
enum ChangeCounters {
    static let table = "tally_changes"
    static let selectAll = "SELECT tableName, changes FROM tally_changes"

    /// The name of the epoch row.
    static let epoch = ""

    /// The counters of `tables` (and the epoch) in the current transaction's
    /// snapshot, or nil when the file has no counters.
    static func read(_ db: Database, tables: Set<String>) throws -> [String: Int64]? {
        guard try db.tableExists(table) else { return nil }
        var all: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: selectAll) {
            if let name = row[0] as String?, let changes = row[1] as Int64? { all[name] = changes }
        }
        return pick(tables, from: all)
    }

    /// `tables`' counters and the epoch, or nil when one is missing.
    static func pick(_ tables: Set<String>, from counters: [String: Int64]) -> [String: Int64]? {
        var result: [String: Int64] = [:]
        for name in tables.union([epoch]) {
            guard let value = counters[name] else { return nil }
            result[name] = value
        }
        return result
    }
}
