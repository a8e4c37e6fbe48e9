import Foundation
import GRDB
import TallyCore

/// The generated databases the benchmarks run on, made once per size and
/// reused across runs (the generator is deterministic, so a reused file is
/// the same data).
///
/// Size: `TALLY_BENCH_BOOKINGS` (default 1,000,000; 2,000 for the CI smoke
/// run; 10,000,000 on request).
enum Fixtures {
    static let bookings = ProcessInfo.processInfo.environment["TALLY_BENCH_BOOKINGS"].flatMap(Int.init) ?? 1_000_000

    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tally-benchmarks")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    private static let databases = Locked<[Bool: TallyDatabase]>([:])

    /// A read-only database with (`indexes`) or without the documented indexes,
    /// with rollups enabled.
    static func database(indexes: Bool) -> TallyDatabase {
        databases.withLock { databases in
            if let database = databases[indexes] { return database }
            let path = directory.appendingPathComponent(
                "bookings-\(bookings)-seed42-\(indexes ? "indexed" : "plain")-rollups\(Rollups.version).sqlite"
            ).path
            do {
                if !FileManager.default.fileExists(atPath: path) {
                    let partial = path + ".partial"
                    try? FileManager.default.removeItem(atPath: partial)
                    let writer = try TallyDatabase.openForWriting(path: partial, withIndexes: indexes)
                    _ = try DataGenerator(bookings: bookings, seed: 42).run(in: writer.writer!)
                    // Rollups change no scan (their tables are never read by
                    // one); the `rollup` cases read them.
                    try Rollups.enable(on: writer)
                    try writer.close()
                    try FileManager.default.moveItem(atPath: partial, toPath: path)
                }
                let database = try TallyDatabase.openReadOnly(path: path)
                databases[indexes] = database
                return database
            } catch {
                fatalError("cannot prepare the benchmark database \(path): \(error)")
            }
        }
    }

    /// A writable copy of the indexed database (made once per run, with
    /// SQLite's backup API), for the writer benchmarks.
    static func writableCopy() -> String {
        copy.withLock { path in
            if let path { return path }
            // Copies left by earlier runs go first (one run's copy is reused by all its cases).
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasPrefix("writable-") {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
            }
            let target = directory.appendingPathComponent("writable-\(bookings)-\(getpid()).sqlite").path
            do {
                let queue = try DatabaseQueue(path: target)
                try database(indexes: true).reader.backup(to: queue)
                try queue.close()
            } catch {
                fatalError("cannot copy the benchmark database to \(target): \(error)")
            }
            path = target
            return target
        }
    }

    private static let copy = Locked<String?>(nil)

    /// The first `count` organization ids.
    static func organizations(_ count: Int, in database: TallyDatabase) -> [String] {
        (try? database.reader.read { try String.fetchAll($0, sql: "SELECT id FROM organizations ORDER BY id LIMIT ?", arguments: [count]) }) ?? []
    }
}
