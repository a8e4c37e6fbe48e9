public import GRDB

/// Applies, drops and reports the documented indexes (contract §1), so that
/// the same data can be measured with and without them.
///
/// An index is identified by its definition, not only its name: an index
/// named `idx_users_role` on `users(email)` is not the documented one, and
/// is never dropped or counted as present.
public enum IndexManager {
    /// What `tally indexes status` reports.
    public struct Status: Sendable, Equatable, Codable {
        public struct Entry: Sendable, Equatable, Codable {
            public let name: String
            public let table: String
            public let columns: [String]
            /// `present`, `missing`, or `different` when an index of that name
            /// exists with another definition.
            public let state: String
            /// For `different`: what the index of that name is, and what to do.
            public let note: String?
        }
        public let documented: [Entry]
        /// Indexes found that are not documented (excluding SQLite's automatic
        /// indexes for UNIQUE constraints).
        public let extra: [String]

        public var allPresent: Bool { documented.allSatisfy { $0.state == "present" } }
        public var nonePresent: Bool { documented.allSatisfy { $0.state == "missing" } }
        /// The documented names taken by an index with another definition.
        public var conflicts: [Entry] { documented.filter { $0.state == "different" } }
    }

    /// Creates every missing documented index, then runs `ANALYZE` so the
    /// query planner knows them. An index of a documented name with another
    /// definition is left alone (see `Status.conflicts`).
    public static func apply(_ db: Database) throws {
        for entry in try status(db).documented where entry.state == "missing" {
            try db.execute(sql: TallySchema.DocumentedIndex(table: entry.table, columns: entry.columns).createSQL)
        }
        try db.execute(sql: "ANALYZE")
    }

    /// Drops exactly the documented indexes that match their definition;
    /// other indexes stay.
    public static func drop(_ db: Database) throws {
        for entry in try status(db).documented where entry.state == "present" {
            try db.execute(sql: TallySchema.DocumentedIndex(table: entry.table, columns: entry.columns).dropSQL)
        }
    }

    /// The documented indexes that exist as documented.
    public static func presentDocumentedIndexes(_ db: Database) throws -> [TallySchema.DocumentedIndex] {
        let present = Set(try status(db).documented.filter { $0.state == "present" }.map(\.name))
        return TallySchema.documentedIndexes.filter { present.contains($0.name) }
    }

    public static func status(_ db: Database) throws -> Status {
        var existing: [String: (table: String, partial: Bool, unique: Bool)] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL") {
            let sql: String = row[2]
            let upper = sql.uppercased()
            existing[row[0]] = (row[1], upper.contains(" WHERE "), upper.hasPrefix("CREATE UNIQUE"))
        }
        var entries: [Status.Entry] = []
        for index in TallySchema.documentedIndexes {
            guard let found = existing[index.name] else {
                entries.append(.init(name: index.name, table: index.table, columns: index.columns, state: "missing", note: nil))
                continue
            }
            let columns = try String.fetchAll(
                db, sql: "SELECT coalesce(name, '<expression>') FROM pragma_index_info(?) ORDER BY seqno",
                arguments: [index.name])
            if found.table == index.table, columns == index.columns, !found.partial, !found.unique {
                entries.append(.init(name: index.name, table: index.table, columns: index.columns, state: "present", note: nil))
            } else {
                var definition = "\(found.table)(\(columns.joined(separator: ", ")))"
                if found.unique { definition = "UNIQUE " + definition }
                if found.partial { definition += " WHERE …" }
                let note =
                    "\(index.name) exists on \(definition), not on \(index.table)(\(index.columns.joined(separator: ", "))); "
                    + "Tally leaves it alone: rename or drop it (DROP INDEX \(index.name)), then run `tally indexes apply`"
                entries.append(.init(name: index.name, table: index.table, columns: index.columns, state: "different", note: note))
            }
        }
        let documented = Set(TallySchema.documentedIndexes.map(\.name))
        let extra = existing.keys.filter { !documented.contains($0) }.sorted()
        return Status(documented: entries, extra: extra)
    }

    /// Whether `table` names a view (a schema map's temporary view of an
    /// app's table) rather than a table. From GRDB's schema cache, like the
    /// index list: no statement once the connection knows its schema.
    static func isMappedView(_ table: String, in db: Database) throws -> Bool {
        try db.viewExists(table)
    }

    /// Whether some index on `table` (documented or not) serves a range on
    /// `column` after equalities on `equalityColumns`: `column` appears in it
    /// preceded only by columns of `equalityColumns`. SQLite then answers a
    /// lone `MIN`/`MAX` or a range of `column` in O(log n). Read from GRDB's
    /// schema cache: no statement once the connection knows the schema.
    ///
    /// A table read through a schema map is a temporary view of converted
    /// columns: no index serves it.
    static func hasRangeIndex(on table: String, column: String, after equalityColumns: Set<String> = [], in db: Database) throws -> Bool {
        if try isMappedView(table, in: db) { return false }
        return try db.indexes(on: table).contains { index in
            guard let position = index.columns.firstIndex(of: column) else { return false }
            return Set(index.columns[..<position]).isSubset(of: equalityColumns)
        }
    }
}
