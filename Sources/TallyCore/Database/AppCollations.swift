import Foundation
import GRDB
import GRDBSQLite

/// Collations an app's database names but only the app defines.
///
/// An app may declare a column `COLLATE appcoll` and register `appcoll` in
/// its own process. Tally's connections cannot know it, and SQLite then
/// refuses any statement that needs it: a view over the column, or a
/// `COUNT(*)` for which the planner picks an index on it. Tally compares
/// the app's values byte for byte everywhere (the views wrap columns read as
/// stored in `COLLATE BINARY`; the triggers and the scan compare bytes), so
/// the collation's ordering is never what a comparison asks for: SQLite only
/// needs it to exist, to open such an index for a full scan. Each name is
/// registered, when first needed, as a byte comparison.
enum AppCollations {
    /// Registers the placeholder on `db` for every collation it lacks.
    static func placeholdUnknown(on db: Database) {
        sqlite3_collation_needed(db.sqliteConnection, nil) { _, connection, _, name in
            guard let connection, let name else { return }
            sqlite3_create_collation_v2(connection, name, SQLITE_UTF8, nil, AppCollations.bytewise, nil)
        }
    }

    /// SQLite's BINARY: `memcmp`, then the shorter first.
    static let bytewise: @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafeRawPointer?, Int32, UnsafeRawPointer?) -> Int32 = {
        _, length1, bytes1, length2, bytes2 in
        let common = Int(min(length1, length2))
        if common > 0, let bytes1, let bytes2 {
            let order = memcmp(bytes1, bytes2, common)
            if order != 0 { return order }
        }
        return length1 < length2 ? -1 : length1 > length2 ? 1 : 0
    }
}
