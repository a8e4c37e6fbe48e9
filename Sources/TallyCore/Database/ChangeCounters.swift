import GRDB

/// The per-table change counters rollup triggers keep in the file
/// (`tally_changes`): every inserted, updated or deleted row of a table adds
/// one to its counter, inside the writer's own transaction.
///
/// Unlike `PRAGMA data_version`, which is per connection, the counters mean
/// the same in every process and on every copy of the file: cache keys,
/// HTTP ETags and the shared Redis level are built on them.
enum ChangeCounters {
    static let table = "tally_changes"
    static let selectAll = "SELECT tableName, changes FROM tally_changes"

    /// The counters of `tables` in the current transaction's snapshot, or
    /// nil when the file has no counters.
    static func read(_ db: Database, tables: Set<String>) throws -> [String: Int64]? {
        guard try db.tableExists(table) else { return nil }
        var result: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: selectAll) {
            let name: String? = row[0]
            if let name, tables.contains(name) { result[name] = row[1] }
        }
        return result.count == tables.count ? result : nil
    }
}
