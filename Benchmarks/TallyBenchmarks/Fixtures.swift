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

    /// A read-only database with (`indexes`) or without the documented indexes.
    static func database(indexes: Bool) -> TallyDatabase {
        databases.withLock { databases in
            if let database = databases[indexes] { return database }
            let path = directory.appendingPathComponent("bookings-\(bookings)-seed42-\(indexes ? "indexed" : "plain").sqlite").path
            do {
                if !FileManager.default.fileExists(atPath: path) {
                    let partial = path + ".partial"
                    try? FileManager.default.removeItem(atPath: partial)
                    let writer = try TallyDatabase.openForWriting(path: partial, withIndexes: indexes)
                    _ = try DataGenerator(bookings: bookings, seed: 42).run(in: writer.writer!)
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

    /// The first `count` organization ids.
    static func organizations(_ count: Int, in database: TallyDatabase) -> [String] {
        (try? database.reader.read { try String.fetchAll($0, sql: "SELECT id FROM organizations ORDER BY id LIMIT ?", arguments: [count]) }) ?? []
    }
}
