import GRDB

/// Applies, drops and reports the documented indexes (contract §1), so that
/// the same data can be measured with and without them.
public enum IndexManager {
    /// What `tally indexes status` reports.
    public struct Status: Sendable, Equatable, Codable {
        public struct Entry: Sendable, Equatable, Codable {
            public let name: String
            public let table: String
            public let columns: [String]
            /// `present`, `missing`, or `different` when an index of that name
            /// exists on other columns.
            public let state: String
        }
        public let documented: [Entry]
        /// Indexes found that are not documented (excluding SQLite's automatic
        /// indexes for UNIQUE constraints).
        public let extra: [String]

        public var allPresent: Bool { documented.allSatisfy { $0.state == "present" } }
        public var nonePresent: Bool { documented.allSatisfy { $0.state == "missing" } }
    }

    /// Creates every missing documented index, then runs `ANALYZE` so the
    /// query planner knows them.
    public static func apply(_ db: Database) throws {
        for index in TallySchema.documentedIndexes {
            try db.execute(sql: index.createSQL)
        }
        try db.execute(sql: "ANALYZE")
    }

    /// Drops exactly the documented indexes; other indexes stay.
    public static func drop(_ db: Database) throws {
        for index in TallySchema.documentedIndexes {
            try db.execute(sql: index.dropSQL)
        }
    }

    /// The names of the documented indexes that exist.
    public static func presentDocumentedIndexes(_ db: Database) throws -> [TallySchema.DocumentedIndex] {
        let names = try existingIndexNames(db)
        return TallySchema.documentedIndexes.filter { names.contains($0.name) }
    }

    public static func status(_ db: Database) throws -> Status {
        let names = try existingIndexNames(db)
        var entries: [Status.Entry] = []
        for index in TallySchema.documentedIndexes {
            var state = "missing"
            if names.contains(index.name) {
                let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?) ORDER BY seqno", arguments: [index.name])
                state = columns == index.columns ? "present" : "different"
            }
            entries.append(.init(name: index.name, table: index.table, columns: index.columns, state: state))
        }
        let documented = Set(TallySchema.documentedIndexes.map(\.name))
        let extra = names.filter { !documented.contains($0) }.sorted()
        return Status(documented: entries, extra: extra)
    }

    /// Whether some index on `table` (documented or not) serves a range on
    /// `column` after equalities on `equalityColumns`: `column` appears in it
    /// preceded only by columns of `equalityColumns`. SQLite then answers a
    /// lone `MIN`/`MAX` or a range of `column` in O(log n).
    static func hasRangeIndex(on table: String, column: String, after equalityColumns: Set<String> = [], in db: Database) throws -> Bool {
        let indexes = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_list(?)", arguments: [table])
        return try indexes.contains { index in
            let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?) ORDER BY seqno", arguments: [index])
            guard let position = columns.firstIndex(of: column) else { return false }
            return Set(columns[..<position]).isSubset(of: equalityColumns)
        }
    }

    private static func existingIndexNames(_ db: Database) throws -> Set<String> {
        // `sql IS NULL` marks the automatic indexes of UNIQUE/PRIMARY KEY constraints.
        try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    }
}
