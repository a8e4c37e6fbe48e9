import Foundation
public import GRDB
public import Metrics

/// One Tally database: its connections, and what every engine over it
/// shares: the reader permits and checkpoint gaps (`ReadGate`), the watch
/// for commits by other processes, and the shared answer cache.
///
/// Open it once per file and process, and make as many `TallyEngine` values
/// over it as needed: the limits hold per database, not per engine.
///
/// For example:
///
/// ```swift
/// let database = try TallyDatabase.openReadOnly(path: "tally.sqlite")
/// let engine = TallyEngine(database: database)
/// let dashboard = try await engine.dashboard()
/// ```
public final class TallyDatabase: Sendable {
    /// Settings of the connection pool, with the defaults the seeds used.
    public struct PoolSettings: Sendable {
        /// Number of concurrent reader connections.
        public var maximumReaderCount: Int
        /// How long a connection waits for a lock held by another connection
        /// (SQLite's busy timeout).
        public var busyTimeout: Duration
        /// How long an engine read waits for a free reader before failing
        /// with `TallyError.Kind.busy`.
        public var readerTimeout: Duration

        public init(maximumReaderCount: Int = 5, busyTimeout: Duration = .seconds(5), readerTimeout: Duration = .seconds(5)) {
            self.maximumReaderCount = maximumReaderCount
            self.busyTimeout = busyTimeout
            self.readerTimeout = readerTimeout
        }
    }

    /// The connections engines read through: a `DatabasePool` for files
    /// (concurrent readers in WAL mode), or any reader an embedder passes.
    public let reader: any DatabaseReader
    /// The writer, when the database was opened for writing.
    public let writer: DatabasePool?
    /// The file's path (`:memory:` or empty for an in-memory database).
    public let path: String
    public let settings: PoolSettings
    /// The schema map the database is read through, when it is an app's
    /// own database rather than one in Tally's schema.
    public var schemaMap: SchemaMap? { mapping?.map }
    /// What the app's database lacks of Tally's schema, as answers state it
    /// (`vehicles`, `drivers.rating`); empty without a map.
    public var absent: [String] { mapping?.absent ?? [] }
    /// The map checked against the file.
    package let mapping: MappedSchema?

    /// An answer's key as caches, the shared level and ETags name it:
    /// through a schema map, prefixed with the map's fingerprint, since the
    /// same file read through another map gives other answers.
    package func cacheKey(_ key: String) -> String {
        mapping.map { "map:\($0.fingerprint)|" + key } ?? key
    }
    /// The journal mode an app's file had before it was opened for writing
    /// (`delete`, `truncate`, `persist`), restored by `close()`; nil for WAL
    /// and for Tally's own files.
    let restoredJournalMode: String?
    let gate: ReadGate
    /// Watches for commits by other connections; nil in memory, where no
    /// other connection exists.
    let monitor: ChangeMonitor?
    let metrics: EngineMetrics
    let metricsFactory: any MetricsFactory
    private let sharedCache = Locked<StatsCache?>(nil)
    /// Slow computations already logged (each kind and strategy once).
    let slowQueries = Locked<Set<String>>([])
    /// The rollup catalog, for the schema version it was read at.
    private let cachedCatalog = Locked<(schemaVersion: Int64, catalog: RollupCatalog)?>(nil)

    /// The rollups of the file, read again only when its schema changed.
    package func rollupCatalog() async throws -> RollupCatalog {
        if let version = monitor?.schemaVersion(), let cached = cachedCatalog.load(), cached.schemaVersion == version {
            return cached.catalog
        }
        // Through the reader permits, as every read of the pool: a read
        // outside them could wait on GRDB's pool without any bound.
        return try await gate.withPermit { try await reader.read { db in try self.rollupCatalog(in: db) } }
    }

    /// The rollups as `db`'s snapshot sees them.
    package func rollupCatalog(in db: Database) throws -> RollupCatalog {
        let version = try Int64.fetchOne(db, sql: "PRAGMA schema_version") ?? -1
        if let cached = cachedCatalog.load(), cached.schemaVersion == version { return cached.catalog }
        let catalog = try RollupCatalog.load(db, mapping: mapping)
        cachedCatalog.withLock { $0 = (version, catalog) }
        return catalog
    }

    /// Wraps connections an embedder already has (a pool on a Tally
    /// database, or a queue), checking that the contract's tables and
    /// columns are there.
    ///
    /// - parameters:
    ///   - reader: the embedder's pool or queue.
    ///   - settings: reader permits and timeouts.
    ///   - metricsFactory: where the engine's and cache's metrics go;
    ///     the global `MetricsSystem` unless a test passes its own.
    public convenience init(
        _ reader: any DatabaseReader, settings: PoolSettings = PoolSettings(),
        metricsFactory: (any MetricsFactory)? = nil
    ) throws {
        try reader.read { db in try SchemaValidator.validate(db, path: reader.path) }
        try self.init(
            reader: reader, writer: reader.configuration.readonly ? nil : reader as? DatabasePool,
            settings: settings, metricsFactory: metricsFactory)
    }

    init(
        reader: any DatabaseReader, writer: DatabasePool?, settings: PoolSettings, metricsFactory: (any MetricsFactory)? = nil,
        mapping: MappedSchema? = nil, restoredJournalMode: String? = nil
    ) throws {
        self.mapping = mapping
        self.restoredJournalMode = restoredJournalMode
        self.reader = reader
        self.writer = writer
        path = reader.path
        self.settings = settings
        let factory = metricsFactory ?? MetricsSystem.factory
        metrics = EngineMetrics(factory: factory)
        self.metricsFactory = factory
        let inMemory = Self.isInMemory(reader.path)
        gate = ReadGate(
            capacity: reader.configuration.maximumReaderCount, timeout: settings.readerTimeout,
            walPath: inMemory ? nil : reader.path + "-wal")
        monitor = inMemory ? nil : try ChangeMonitor(path: reader.path)
    }

    static func isInMemory(_ path: String) -> Bool {
        path.isEmpty || path == ":memory:" || path.hasPrefix("file::memory:")
    }

    /// The cache engines share by default (`TallyEngine.CacheChoice.shared`),
    /// created on first use. Nil for an in-memory database: its commits
    /// cannot be watched from another connection, so no answer is cached.
    public var cache: StatsCache? {
        guard let monitor else { return nil }
        return sharedCache.withLock { cache in
            if let cache { return cache }
            let created = StatsCache(monitor: monitor, metricsFactory: metricsFactory)
            if let writer { try? created.observe(writer: writer) }
            cache = created
            return created
        }
    }

    /// Closes the connections. A database opened for writing is first
    /// checkpointed, so that its main file holds everything (a copy of the
    /// file alone is a complete database).
    public func close() throws {
        if let writer {
            try writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        }
        if let pool = reader as? DatabasePool { try pool.close() } else if let queue = reader as? DatabaseQueue { try queue.close() }
        // An app's file opened for writing (rollups) goes back to the
        // journal mode the app chose; the pool needed WAL while open.
        if writer != nil, let mode = restoredJournalMode {
            let queue = try DatabaseQueue(path: path)
            try queue.writeWithoutTransaction { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = \(mode)") }
            try queue.close()
        }
    }

    // MARK: - Opening files

    /// The first 16 bytes of every SQLite 3 database file.
    static let sqliteHeader = Array("SQLite format 3\0".utf8)

    /// What is at a path before Tally opens it.
    enum FileState: Equatable {
        case missing
        case empty
        /// A SQLite file; `wal` when its header says WAL mode.
        case sqlite(wal: Bool)
        case notSQLite
    }

    static func fileState(at path: String) throws -> FileState {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            let parent = (path as NSString).deletingLastPathComponent
            if !parent.isEmpty, !FileManager.default.fileExists(atPath: parent) {
                throw TallyError(.file, "directory \(parent) does not exist", path: parent)
            }
            return .missing
        }
        if isDirectory.boolValue {
            throw TallyError(.file, "\(path) is a directory, not a database file", path: path)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TallyError(.file, "\(path) cannot be read (permission denied)", path: path)
        }
        defer { try? handle.close() }
        let head = Array((try? handle.read(upToCount: 20)) ?? Data())
        if head.isEmpty { return .empty }
        guard head.count >= 16, Array(head[0..<16]) == sqliteHeader else { return .notSQLite }
        // Bytes 18 and 19: the file format's read and write versions, 2 in WAL mode.
        return .sqlite(wal: head.count >= 20 && head[18] == 2 && head[19] == 2)
    }

    /// Opens an existing database read-only and checks it has the contract's
    /// tables and columns. Never creates, changes or locks out the file.
    ///
    /// A database in WAL mode needs its `-shm` file, which SQLite creates
    /// beside it; in a directory this user cannot write, that fails, and the
    /// error says so and what to do.
    ///
    /// With a `schemaMap`, the file is an app's own database (Prisma,
    /// Django, Rails): every connection reads it through temporary views
    /// made from the map, and nothing is written to it.
    ///
    /// - throws: `TallyError` naming the file, the missing table or column,
    ///   or the map entry the file does not match.
    public static func openReadOnly(
        path: String, schemaMap: SchemaMap? = nil, settings: PoolSettings = PoolSettings(),
        metricsFactory: (any MetricsFactory)? = nil
    ) throws -> TallyDatabase {
        switch try fileState(at: path) {
        case .missing: throw TallyError(.file, "no database at \(path)", path: path)
        case .empty: throw TallyError(.schema, "\(path) is empty, not a Tally database (run `tally init --db \(path)`)", path: path)
        case .notSQLite: throw TallyError(.schema, "\(path) is not a SQLite database", path: path)
        case .sqlite(let wal):
            if wal { try checkWALSideFiles(path) }
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.maximumReaderCount = settings.maximumReaderCount
        configuration.busyMode = .timeout(settings.busyTimeout / .seconds(1))
        configuration.label = "tally.read"
        do {
            let mapping = try schemaMap.map { try resolve($0, path: path).mapping }
            if let mapping { prepareViews(&configuration, mapping) }
            let pool = try DatabasePool(path: path, configuration: configuration)
            try pool.read { db in try SchemaValidator.validate(db, path: path) }
            return try TallyDatabase(reader: pool, writer: nil, settings: settings, metricsFactory: metricsFactory, mapping: mapping)
        } catch {
            throw TallyError.wrapping(error, path: path)
        }
    }

    /// Checks a map against the file, and reads its journal mode, on a
    /// read-only connection of its own: nothing in the file changes.
    static func resolve(_ map: SchemaMap, path: String) throws -> (mapping: MappedSchema, journalMode: String) {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db in
            (
                try MappedSchema.resolve(map, in: db, path: path),
                (try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "delete").lowercased()
            )
        }
    }

    /// Every connection of the pool gets the map's views when it opens.
    static func prepareViews(_ configuration: inout Configuration, _ mapping: MappedSchema) {
        let statements = mapping.viewStatements
        configuration.prepareDatabase { db in
            AppCollations.placeholdUnknown(on: db)
            for statement in statements { try db.execute(sql: statement) }
        }
    }

    /// A WAL database is readable when its `-shm` file exists or can be
    /// created (sqlite.org/wal.html#readonly).
    static func checkWALSideFiles(_ path: String) throws {
        let shm = path + "-shm"
        guard !FileManager.default.fileExists(atPath: shm) else { return }
        let directory = (path as NSString).deletingLastPathComponent
        let dir = directory.isEmpty ? "." : directory
        guard !FileManager.default.isWritableFile(atPath: dir) else { return }
        throw TallyError(
            .file,
            "\(path) is in WAL mode and SQLite must create \((shm as NSString).lastPathComponent) "
                + "beside it to read it, but this user cannot write to \(dir): make the directory writable, "
                + "or have the owner switch the file to rollback mode once "
                + "(sqlite3 \(path) 'PRAGMA journal_mode=DELETE'), which any reader can read in place", path: path)
    }

    /// Opens a database for writing, creating the file and schema when the
    /// path is missing or an empty file. Refuses any other file that is not a
    /// Tally database, leaving it untouched.
    ///
    /// - parameters:
    ///   - path: the database file.
    ///   - withIndexes: whether a newly created schema gets the
    ///     documented indexes.
    ///   - settings: reader permits and timeouts.
    ///   - metricsFactory: where the engine's and cache's metrics go.
    public static func openForWriting(
        path: String, withIndexes: Bool = true, settings: PoolSettings = PoolSettings(),
        metricsFactory: (any MetricsFactory)? = nil
    ) throws -> TallyDatabase {
        let state = try fileState(at: path)
        if state == .notSQLite {
            throw TallyError(.schema, "\(path) exists and is not a SQLite database; refusing to touch it", path: path)
        }
        // A file that already holds every table of the contract without
        // Tally's migration record (an application's own database) keeps its
        // schema: nothing is created in it.
        var hasContractTables = false
        if case .sqlite = state {
            // Look before writing anything: a foreign database stays untouched.
            var configuration = Configuration()
            configuration.readonly = true
            do {
                let reader = try DatabaseQueue(path: path, configuration: configuration)
                let (isTally, migrated, hint) = try reader.read { db in
                    let isTally = try isTallyDatabase(db)
                    return (isTally, try db.tableExists("grdb_migrations"), isTally ? "" : try SchemaValidator.mapHint(db, path: path))
                }
                let complete = try reader.read { db in try TallySchema.tables.allSatisfy { try db.tableExists($0.name) } }
                hasContractTables = isTally && !migrated && complete
                try reader.close()
                if !isTally {
                    throw TallyError(.schema, "\(path) is a SQLite database but not a Tally database; refusing to touch it\(hint)", path: path)
                }
            } catch {
                throw TallyError.wrapping(error, path: path)
            }
        }
        do {
            let pool = try DatabasePool(path: path, configuration: writerConfiguration(settings))
            if !hasContractTables { try TallySchema.migrator(withIndexes: withIndexes).migrate(pool) }
            return try TallyDatabase(reader: pool, writer: pool, settings: settings, metricsFactory: metricsFactory)
        } catch {
            throw TallyError.wrapping(error, path: path)
        }
    }

    /// Opens an app's own database for writing through a schema map: what
    /// `tally rollups enable --schema-map` needs to install triggers on the
    /// app's tables. The file must exist; Tally's schema is never created
    /// in it.
    ///
    /// - throws: `TallyError` when the file is missing or does not match the map.
    public static func openForWriting(
        path: String, schemaMap: SchemaMap, settings: PoolSettings = PoolSettings(),
        metricsFactory: (any MetricsFactory)? = nil
    ) throws -> TallyDatabase {
        switch try fileState(at: path) {
        case .missing: throw TallyError(.file, "no database at \(path)", path: path)
        case .empty, .notSQLite: throw TallyError(.schema, "\(path) is not a SQLite database", path: path)
        case .sqlite: break
        }
        do {
            let (mapping, journalMode) = try resolve(schemaMap, path: path)
            var configuration = writerConfiguration(settings)
            prepareViews(&configuration, mapping)
            let pool = try DatabasePool(path: path, configuration: configuration)
            try pool.read { db in try SchemaValidator.validate(db, path: path) }
            return try TallyDatabase(
                reader: pool, writer: pool, settings: settings, metricsFactory: metricsFactory, mapping: mapping,
                restoredJournalMode: ["delete", "truncate", "persist"].contains(journalMode) ? journalMode : nil)
        } catch {
            throw TallyError.wrapping(error, path: path)
        }
    }

    /// The writer pool's settings.
    private static func writerConfiguration(_ settings: PoolSettings) -> Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(settings.busyTimeout / .seconds(1))
        configuration.maximumReaderCount = settings.maximumReaderCount
        configuration.label = "tally.write"
        return configuration
    }

    /// True when Tally's migrator has run on it, or when it already holds every table of
    /// the contract.
    static func isTallyDatabase(_ db: Database) throws -> Bool {
        do {
            let tables = try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
            if tables.isEmpty { return true }
            if tables.contains("grdb_migrations"),
                try Bool.fetchOne(db, sql: "SELECT 1 FROM grdb_migrations WHERE identifier = ?", arguments: [TallySchema.initialMigration]) == true
            {
                return true
            }
            return TallySchema.tables.allSatisfy { tables.contains($0.name) }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CORRUPT {
            return false
        }
    }
}
