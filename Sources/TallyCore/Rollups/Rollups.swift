import Foundation
import GRDB

/// Enabling, checking and removing rollups (`tally rollups
/// enable|disable|status|verify`).
///
/// For example:
///
/// ```swift
/// let database = try TallyDatabase.openForWriting(path: "shop.sqlite")
/// try Rollups.enable(on: database)               // tables, triggers, backfill: one transaction
/// let status = try await Rollups.status(of: database)
/// let differences = try await Rollups.verify(database)   // [] when exact
/// ```
extension Rollups {
    /// What `status` reports of one rollup.
    public struct Status: Sendable, Codable, Equatable {
        public let name: String
        public let table: String
        /// The stat shape it serves: `groupBy`, bucket column, summed columns.
        public let groupBy: [String]
        public let bucket: String?
        public let sums: [String]
        public let filters: [String]
        /// Rows in its table (groups × buckets kept).
        public let rows: Int
        /// `intact`; `absent` when an app's database (read through a schema
        /// map) has no such table, so the rollup stays empty and nothing
        /// reads it; or why it is not used.
        public let state: String
        /// The app's table whose triggers keep it, when the database is
        /// read through a schema map (`"Booking"`); nil otherwise.
        public var appTable: String?

        /// The state of a rollup over a table an app's database lacks.
        public static let absent = "absent"

        /// Whether nothing is wrong with it: intact, or absent with its table.
        public var isIntactOrAbsent: Bool { state == "intact" || state == Status.absent }
    }

    /// The report of `status`.
    public struct Report: Sendable, Codable, Equatable {
        public let enabled: Bool
        /// Whether the per-table change counters exist.
        public let counters: Bool
        public let rollups: [Status]
        public var allIntact: Bool { enabled && counters && rollups.allSatisfy(\.isIntactOrAbsent) }
    }

    /// Creates the rollup tables, the change counters and the triggers, and
    /// fills the tables from the base rows with one scan per table, in one
    /// transaction: killed at any point, the file holds all of it or none.
    /// Enabling again replaces the set (idempotent).
    ///
    /// - throws: `TallyError` when the database was not opened for writing,
    ///   or a definition is not of the contract's tables and columns.
    public static func enable(on database: TallyDatabase, definitions: [RollupDefinition] = Rollups.standard) throws {
        guard let writer = database.writer else {
            throw TallyError(.file, "\(database.path) is open read-only; rollups need the database opened for writing", path: database.path)
        }
        try definitions.forEach { try $0.validate() }
        guard Set(definitions.map(\.name)).count == definitions.count else {
            throw TallyError.invalid("two rollups have the same name")
        }
        try writer.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                try install(definitions, in: db, mapping: database.mapping)
                return .commit
            }
        }
    }

    /// `enable`'s work inside the caller's write transaction (the generator
    /// reinstalls rollups after a bulk load in its own transaction).
    static func install(_ definitions: [RollupDefinition], in db: Database, mapping: MappedSchema? = nil) throws {
        try remove(in: db)
        // The counters start from a new random epoch (the row named ''): a
        // cache or ETag stamped before can never match what follows, even
        // when counters reach the same numbers again.
        try db.execute(sql: "CREATE TABLE \(RollupSQL.countersTable) (tableName TEXT PRIMARY KEY, changes INTEGER) WITHOUT ROWID")
        try db.execute(
            sql: "INSERT INTO \(RollupSQL.countersTable) (tableName, changes) VALUES ('', ?)",
            arguments: [Int64.random(in: 1...Int64.max)])
        for table in TallySchema.tables {
            try db.execute(sql: "INSERT INTO \(RollupSQL.countersTable) (tableName, changes) VALUES (?, 0)", arguments: [table.name])
        }
        try db.execute(sql: "CREATE TABLE \(RollupSQL.catalogTable) (name TEXT, tableName TEXT, definition TEXT, version INTEGER)")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for r in definitions {
            for statement in RollupSQL.create(r) { try db.execute(sql: statement) }
            try db.execute(
                sql: "INSERT INTO \(RollupSQL.catalogTable) (name, tableName, definition, version) VALUES (?, ?, ?, ?)",
                arguments: [r.name, r.table, String(decoding: try encoder.encode(r), as: UTF8.self), Rollups.version])
        }
        // The triggers read naive local times through the zones' offset tables.
        for zone in mapping?.zoneTables ?? [] {
            for statement in zone.statements(schema: "main") { try db.execute(sql: statement) }
        }
        for table in TallySchema.tables.map(\.name) {
            let rollups = definitions.filter { $0.table == table }
            // A table the app lacks has no rows and gets no triggers: its
            // rollups stay empty, its counter at zero.
            if let mapping, mapping.sources[table] == nil {
                for r in rollups { try RollupRows().write(r, in: db) }
                continue
            }
            let base = RollupSQL.BaseTable(table, mapping: mapping)
            let uniqueness = try RollupCatalog.uniqueness(of: base, in: db)
            if !rollups.isEmpty {
                // One scan of the table fills all its rollups (through the
                // map's view when mapped).
                for (r, rows) in zip(rollups, try RollupBackfill.compute(rollups, table: table, in: db, mapping: mapping)) {
                    try rows.write(r, in: db)
                }
                try db.execute(sql: RollupSQL.createMarks(base: base, rollups: rollups, uniqueness: uniqueness))
            }
            for trigger in RollupSQL.triggers(base: base, rollups: rollups, uniqueness: uniqueness) {
                // `main.`: the trigger goes on the app's table even where a
                // view of the same name shadows it (Rails' `bookings`);
                // SQLite stores the statement without the schema name.
                try db.execute(sql: "CREATE TRIGGER main." + trigger.sql.dropFirst("CREATE TRIGGER ".count))
            }
        }
    }

    /// The definitions installed in `db`, whatever their state.
    static func installed(in db: Database, mapping: MappedSchema? = nil) throws -> [RollupDefinition] {
        try RollupCatalog.load(db, mapping: mapping).entries.map(\.definition).filter { $0.name != "unreadable" }
    }

    /// Removes every rollup table, trigger, the counters and the catalog, in one transaction.
    public static func disable(on database: TallyDatabase) throws {
        guard let writer = database.writer else {
            throw TallyError(.file, "\(database.path) is open read-only; rollups need the database opened for writing", path: database.path)
        }
        try writer.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                try remove(in: db)
                return .commit
            }
        }
    }

    /// Drops whatever Tally's rollups left in `db`: triggers first (so that
    /// no write can reach a dropped table), then tables.
    static func remove(in db: Database) throws {
        let triggers = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'tally\\_%' ESCAPE '\\'")
        for name in triggers { try db.execute(sql: "DROP TRIGGER IF EXISTS \(name)") }
        let tables = try String.fetchAll(
            db,
            sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND (name LIKE 'tally\\_rollup\\_%' ESCAPE '\\'
                  OR name LIKE 'tally\\_replaced\\_%' ESCAPE '\\' OR name LIKE 'tally\\_zone\\_%' ESCAPE '\\' OR name IN (?, ?))
                """, arguments: [RollupSQL.countersTable, RollupSQL.catalogTable])
        for name in tables { try db.execute(sql: "DROP TABLE IF EXISTS main.\(name)") }
    }

    /// Each rollup, its rows and whether it is intact.
    public static func status(of database: TallyDatabase) async throws -> Report {
        try await database.reader.read { db in try report(in: db, mapping: database.mapping) }
    }

    static func report(in db: Database, mapping: MappedSchema? = nil) throws -> Report {
        let catalog = try RollupCatalog.load(db, mapping: mapping)
        let rollups = try catalog.entries.map { entry in
            let r = entry.definition
            let rows = try db.tableExists(r.tableName) ? (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(r.tableName)") ?? 0) : 0
            let appTable = mapping?.sources[r.table]?.appTable
            let absent = mapping != nil && appTable == nil
            return Status(
                name: r.name, table: r.table, groupBy: r.groupBy, bucket: r.bucketColumn, sums: r.sums,
                filters: r.filters.map { "\($0.column) = \($0.literal)" }, rows: rows,
                state: entry.problem ?? (absent ? Status.absent : "intact"), appTable: appTable)
        }
        return Report(enabled: try db.tableExists(RollupSQL.catalogTable), counters: catalog.hasCounters, rollups: rollups)
    }

    /// Recomputes every rollup from the base rows in one snapshot and
    /// returns the differences with what the rollup tables hold (none when
    /// exact; integer sums and counts compared exactly, real sums within
    /// 1e-9 relative).
    public static func verify(_ database: TallyDatabase) async throws -> [String] {
        try await database.reader.read { db in
            let catalog = try RollupCatalog.load(db, mapping: database.mapping)
            var differences = catalog.entries.compactMap { entry in entry.problem.map { "\(entry.definition.name): \($0)" } }
            let definitions = catalog.entries.filter { $0.problem == nil }.map(\.definition)
            for table in Set(definitions.map(\.table)).sorted() {
                let rollups = definitions.filter { $0.table == table }
                for (r, fresh) in zip(rollups, try RollupBackfill.compute(rollups, table: table, in: db, mapping: database.mapping)) {
                    differences += try RollupRows.read(r, in: db).differences(from: fresh, rollup: r)
                }
            }
            return differences
        }
    }
}
