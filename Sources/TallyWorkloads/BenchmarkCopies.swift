public import Foundation
import GRDB
public import TallyCore

/// Temporary copies of a user's database, one with the documented indexes
/// and one without, so that `tally bench` measures both without ever
/// writing to the user's file.
///
/// The copies are made with SQLite's online backup API from a read-only
/// connection (a plain file copy would miss pages still in a `-wal` file).
public struct BenchmarkCopies: Sendable {
    public let directory: URL
    public let withIndexes: String
    public let withoutIndexes: String
    /// Seconds `Rollups.enable` took on each copy (with, without indexes),
    /// when the copies have rollups.
    public let rollupsEnableSeconds: [Double]

    /// A new, empty temporary directory for the copies.
    public static func makeDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Copies `source` twice into `directory` (a new temporary one by
    /// default), with rollups enabled on both when `rollups` (timed). On an
    /// error the directory is removed.
    public static func make(from source: TallyDatabase, rollups: Bool = false, in directory: URL? = nil) throws -> BenchmarkCopies {
        let directory = try directory ?? makeDirectory()
        do {
            let with = directory.appendingPathComponent("with-indexes.sqlite").path
            let without = directory.appendingPathComponent("without-indexes.sqlite").path
            for (path, indexes) in [(with, true), (without, false)] {
                let copy = try DatabaseQueue(path: path)
                try source.reader.backup(to: copy)
                // No VACUUM: the free pages dropped indexes leave are never
                // read by a table scan, and it would cost seconds per copy.
                try copy.writeWithoutTransaction { db in
                    if indexes {
                        try IndexManager.apply(db)
                    } else {
                        try IndexManager.drop(db)
                        try db.execute(sql: "ANALYZE")
                    }
                }
                try copy.close()
            }
            var seconds: [Double] = []
            if rollups {
                for path in [with, without] {
                    let database = try TallyDatabase.openForWriting(path: path)
                    let start = ContinuousClock.now
                    try Rollups.enable(on: database)
                    seconds.append((ContinuousClock.now - start) / .seconds(1))
                    try database.close()
                }
            }
            return BenchmarkCopies(directory: directory, withIndexes: with, withoutIndexes: without, rollupsEnableSeconds: seconds)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Removes the copies.
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// `EXPLAIN QUERY PLAN` highlights per strategy, for `tally bench`.
public struct PlanHighlights: Sendable, Codable, Equatable {
    public var strategy: String
    public var statements: Int
    public var usingIndex: Int
    public var covering: Int
    public var tempBTrees: Int
    public var fullScans: [String]

    public static func summarize(_ explained: [ExplainedStatement]) -> [PlanHighlights] {
        var order: [String] = []
        var byStrategy: [String: PlanHighlights] = [:]
        for s in explained {
            if byStrategy[s.strategy] == nil {
                order.append(s.strategy)
                byStrategy[s.strategy] = PlanHighlights(strategy: s.strategy, statements: 0, usingIndex: 0, covering: 0, tempBTrees: 0, fullScans: [])
            }
            byStrategy[s.strategy]!.statements += 1
            if !s.indexes.isEmpty { byStrategy[s.strategy]!.usingIndex += 1 }
            if s.covering { byStrategy[s.strategy]!.covering += 1 }
            if s.tempBTree { byStrategy[s.strategy]!.tempBTrees += 1 }
            for table in s.fullScans where !byStrategy[s.strategy]!.fullScans.contains(table) {
                byStrategy[s.strategy]!.fullScans.append(table)
            }
        }
        return order.map { byStrategy[$0]! }
    }
}
