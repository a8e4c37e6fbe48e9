import Benchmark
import Foundation
import GRDB
import TallyCore
import TallyWorkloads

/// Side-by-side measurements of the engine, with and without the documented
/// indexes. Names: `<what>.<strategy>.<idx|noidx>` (no spaces or slashes:
/// threshold files are named after them).
///
/// Wall-clock figures are reported, never asserted; `mallocCountTotal` is
/// deterministic and shows the single-pass loop allocates nothing per row.
let benchmarks: @Sendable () -> Void = {
    let maxIterations = ProcessInfo.processInfo.environment["TALLY_BENCH_MAX_ITERATIONS"].flatMap(Int.init) ?? 20
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        warmupIterations: 1,
        maxDuration: .seconds(10),
        maxIterations: maxIterations)

    for indexes in [true, false] {
        let suffix = indexes ? "idx" : "noidx"
        let database = { Fixtures.database(indexes: indexes) }
        // The same workloads `tally bench` times: the dashboard (floor and each
        // strategy, fanned out and on one connection), each table's scan,
        // revenue per month in UTC, module counts.
        let workloads =
            EngineBenchmark.dashboardWorkloads(rollups: true) + EngineBenchmark.tableWorkloads()
            + EngineBenchmark.moduleWorkloads(rollups: true)
        for workload in workloads {
            Benchmark("\(workload.name).\(suffix)") { benchmark async in
                let db = database()
                for _ in benchmark.scaledIterations { try! await workload.run(db) }
            }
        }
        for strategy in Strategy.scans + [.rollup] {
            Benchmark("revenue.month.Europe-Paris.\(strategy.rawValue).\(suffix)") { benchmark async in
                let db = database()
                let query = try! RevenueQuery(period: .month, zone: Zone("Europe/Paris"))
                for _ in benchmark.scaledIterations {
                    blackHole(try! await TallyEngine(database: db, cache: .disabled).revenue(query, strategy: strategy))
                }
            }
        }
        // Module counts over 1,000 organizations: one batched query vs N+1.
        for strategy in [ModuleStrategy.batched, .perOrg] {
            Benchmark("modules-1000.\(strategy.rawValue).\(suffix)") { benchmark async in
                let db = database()
                let ids = Fixtures.organizations(1_000, in: db)
                let engine = TallyEngine(database: db, cache: .disabled)
                for _ in benchmark.scaledIterations {
                    blackHole(try! await engine.moduleCounts(organizations: ids, strategy: strategy))
                }
            }
        }
    }

    // The cache in front of the engine (the indexed database).
    Benchmark("cache.hit-plain", configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo)) { benchmark async in
        let engine = TallyEngine(database: Fixtures.database(indexes: true), cache: .using(StatsCache(ttlOnly: CachePolicy())))
        _ = try! await engine.dashboard()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try! await engine.dashboard()) }
    }
    Benchmark("cache.hit-validated", configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo)) { benchmark async in
        let db = Fixtures.database(indexes: true)
        let engine = TallyEngine(database: db, cache: .using(StatsCache(database: db)))
        _ = try! await engine.dashboard()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try! await engine.dashboard()) }
    }
    Benchmark("cache.miss") { benchmark async in
        let db = Fixtures.database(indexes: true)
        let cache = StatsCache(database: db)
        let engine = TallyEngine(database: db, cache: .using(cache))
        for _ in benchmark.scaledIterations {
            cache.invalidateAll()
            blackHole(try! await engine.dashboard())
        }
    }

    // What the rollups' triggers cost a writer: one payment inserted per
    // iteration in a transaction rolled back at the end, on a writable copy
    // of the indexed database, with and without the triggers.
    for triggers in [true, false] {
        Benchmark(
            "write.insert-payment.\(triggers ? "rollups" : "plain")",
            configuration: .init(metrics: [.wallClock], scalingFactor: .kilo)
        ) { benchmark in
            let path = Fixtures.writableCopy()
            let queue = try! DatabaseQueue(path: path)
            try! queue.inDatabase { db in
                try db.execute(sql: "BEGIN")
                if !triggers {
                    for name in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'tally%'") {
                        try db.execute(sql: "DROP TRIGGER \(name)")
                    }
                }
                let insert = try db.makeStatement(sql: "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, ?, 'COMPLETED', ?)")
                var i: Int64 = 0
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    i += 1
                    try insert.execute(arguments: [i % 10_000, 1_700_000_000_000 + i * 60_000])
                }
                benchmark.stopMeasurement()
                try db.execute(sql: "ROLLBACK")
            }
        }
    }

    // Generator throughput: 20,000 bookings (about 43,000 rows) into a fresh file.
    Benchmark("generator.20k-bookings", configuration: .init(metrics: [.wallClock, .throughput], maxIterations: 10)) { benchmark in
        for _ in benchmark.scaledIterations {
            let path = Fixtures.directory.appendingPathComponent("generator-\(UUID().uuidString).sqlite").path
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
            let database = try! TallyDatabase.openForWriting(path: path)
            blackHole(try! DataGenerator(bookings: 20_000, seed: 42).run(in: database.writer!))
            try! database.close()
        }
    }
}
