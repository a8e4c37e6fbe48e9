import Foundation
import GRDB

/// Opens Tally database files: read-only for every command that only reads,
/// a WAL `DatabasePool` for the files Tally writes.
///
/// For example:
///
/// ```swift
/// let reader = try TallyDatabase.openReadOnly(path: "tally.sqlite")
/// let engine = TallyEngine(reader: reader)
/// ```
public enum TallyDatabase {
    /// Settings of the connection pool, with the defaults the seeds used.
    public struct PoolSettings: Sendable {
        /// Number of concurrent reader connections.
        public var maximumReaderCount: Int = 5
        /// How long a connection waits for a lock held by another connection
        /// (SQLite's busy timeout).
        public var busyTimeout: TimeInterval = 5
        /// How long an engine read waits for a free reader (`TallyEngine(readerTimeout:)`).
        public var readerTimeout: TimeInterval = 5

        public init(maximumReaderCount: Int = 5, busyTimeout: TimeInterval = 5, readerTimeout: TimeInterval = 5) {
            self.maximumReaderCount = maximumReaderCount
            self.busyTimeout = busyTimeout
            self.readerTimeout = readerTimeout
        }
    }

    /// The first 16 bytes of every SQLite 3 database file.
    static let sqliteHeader = Array("SQLite format 3\0".utf8)

    /// What is at a path before Tally opens it.
    enum FileState: Equatable {
        case missing
        case empty
        case sqlite
        case notSQLite
    }

    static func fileState(at path: String) throws -> FileState {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            let parent = (path as NSString).deletingLastPathComponent
            if !parent.isEmpty, !FileManager.default.fileExists(atPath: parent) {
                throw TallyError(.file, "directory \(parent) does not exist")
            }
            return .missing
        }
        if isDirectory.boolValue {
            throw TallyError(.file, "\(path) is a directory, not a database file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TallyError(.file, "\(path) cannot be read (permission denied)")
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 16)) ?? Data()
        if head.isEmpty { return .empty }
        return Array(head) == sqliteHeader ? .sqlite : .notSQLite
    }

    /// Opens an existing database read-only and checks it has the contract's
    /// tables and columns. Never creates, changes or locks out the file.
    ///
    /// - throws: `TallyError` naming the file, the missing table or column.
    public static func openReadOnly(path: String, settings: PoolSettings = PoolSettings()) throws -> DatabasePool {
        switch try fileState(at: path) {
        case .missing: throw TallyError(.file, "no database at \(path)")
        case .empty: throw TallyError(.schema, "\(path) is empty, not a Tally database (run `tally init --db \(path)`)")
        case .notSQLite: throw TallyError(.schema, "\(path) is not a SQLite database")
        case .sqlite: break
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.maximumReaderCount = settings.maximumReaderCount
        configuration.busyMode = .timeout(settings.busyTimeout)
        configuration.label = "tally.read"
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            try pool.read { db in try SchemaValidator.validate(db, path: path) }
            return pool
        } catch {
            throw TallyError.wrapping(error, path: path)
        }
    }

    /// Opens a database for writing, creating the file and schema when the
    /// path is missing or an empty file. Refuses any other file that is not a
    /// Tally database, leaving it untouched.
    ///
    /// - parameter withIndexes: whether a newly created schema gets the
    ///   documented indexes.
    public static func openForWriting(
        path: String,
        withIndexes: Bool = true,
        settings: PoolSettings = PoolSettings()
    ) throws -> DatabasePool {
        let state = try fileState(at: path)
        if state == .notSQLite {
            throw TallyError(.schema, "\(path) exists and is not a SQLite database; refusing to touch it")
        }
        if state == .sqlite {
            // Look before writing anything: a foreign database stays untouched.
            let reader = try openReadOnlyUnchecked(path: path)
            let isTally = try reader.read { try isTallyDatabase($0) }
            try reader.close()
            if !isTally {
                throw TallyError(.schema, "\(path) is a SQLite database but not a Tally database; refusing to touch it")
            }
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(settings.busyTimeout)
        configuration.maximumReaderCount = settings.maximumReaderCount
        configuration.label = "tally.write"
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            try TallySchema.migrator(withIndexes: withIndexes).migrate(pool)
            return pool
        } catch {
            throw TallyError.wrapping(error, path: path)
        }
    }

    private static func openReadOnlyUnchecked(path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        do {
            return try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw TallyError.wrapping(error, path: path)
        }
    }

    /// A database is Tally's when it has no tables at all (a fresh file), when
    /// Tally's migrator has run on it, or when it already holds every table of
    /// the contract.
    static func isTallyDatabase(_ db: Database) throws -> Bool {
        do {
            let tables = try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
            if tables.isEmpty { return true }
            if tables.contains("grdb_migrations"),
               try Bool.fetchOne(db, sql: "SELECT 1 FROM grdb_migrations WHERE identifier = ?", arguments: [TallySchema.initialMigration]) == true {
                return true
            }
            return TallySchema.tables.allSatisfy { tables.contains($0.name) }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CORRUPT {
            return false
        }
    }
}
