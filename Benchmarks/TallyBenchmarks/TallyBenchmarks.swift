import Benchmark
import Foundation
import GRDB
import TallyCore

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
        let pool = { Fixtures.pool(indexes: indexes) }
        // The same workloads `tally bench` times: the dashboard (floor and each
        // strategy, fanned out and on one connection), each table's scan,
        // revenue per month in UTC and per day in a DST zone (last 90 days:
        // without an index, naive is a full scan per day), module counts.
        let workloads = EngineBenchmark.dashboardWorkloads() + EngineBenchmark.tableWorkloads()
            + EngineBenchmark.revenueWorkloads(period: .month, zone: try! Zone("UTC"))
        for workload in workloads {
            Benchmark("\(workload.name).\(suffix)") { benchmark in
                let reader = pool()
                for _ in benchmark.scaledIterations { try! workload.run(reader) }
            }
        }
        for strategy in Strategy.allCases {
            Benchmark("revenue.day-last90d.Europe-Paris.\(strategy.rawValue).\(suffix)") { benchmark in
                let reader = pool()
                let query = try! revenueQuery(.day, "Europe/Paris", lastDays: 90, pool: reader)
                for _ in benchmark.scaledIterations {
                    blackHole(try! reader.read { try TallyEngine.revenue(query, in: $0, strategy: strategy) })
                }
            }
        }
        // Module counts over 1,000 organizations: one batched query vs N+1.
        for strategy in ModuleStrategy.allCases {
            Benchmark("modules-1000.\(strategy.rawValue).\(suffix)") { benchmark in
                let reader = pool()
                let ids = Fixtures.organizations(1_000, in: reader)
                for _ in benchmark.scaledIterations {
                    blackHole(try! reader.read { try ModuleCounts.compute(ids: ids, strategy: strategy, in: $0) })
                }
            }
        }
    }

    // The cache in front of the engine (the indexed database).
    Benchmark("cache.hit-plain", configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo)) { benchmark async in
        var policy = CachePolicy()
        policy.validation = .ttlOnly
        let engine = TallyEngine(reader: Fixtures.pool(indexes: true), cache: .using(StatsCache(policy: policy, monitor: nil)))
        _ = try! await engine.dashboard()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try! await engine.dashboard()) }
    }
    Benchmark("cache.hit-validated", configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo)) { benchmark async in
        let pool = Fixtures.pool(indexes: true)
        let engine = TallyEngine(reader: pool, cache: .using(try! StatsCache(path: pool.path)))
        _ = try! await engine.dashboard()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try! await engine.dashboard()) }
    }
    Benchmark("cache.miss") { benchmark async in
        let pool = Fixtures.pool(indexes: true)
        let cache = try! StatsCache(path: pool.path)
        let engine = TallyEngine(reader: pool, cache: .using(cache))
        for _ in benchmark.scaledIterations {
            cache.invalidateAll()
            blackHole(try! await engine.dashboard())
        }
    }

    // Generator throughput: 20,000 bookings (about 43,000 rows) into a fresh file.
    Benchmark("generator.20k-bookings", configuration: .init(metrics: [.wallClock, .throughput], maxIterations: 10)) { benchmark in
        for _ in benchmark.scaledIterations {
            let path = Fixtures.directory.appendingPathComponent("generator-\(UUID().uuidString).sqlite").path
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
            let pool = try! TallyDatabase.openForWriting(path: path)
            blackHole(try! DataGenerator(bookings: 20_000, seed: 42).run(in: pool))
            try! pool.close()
        }
    }
}

/// Revenue over the data's range, or over its last `lastDays` days.
private func revenueQuery(_ period: Period, _ zone: String, lastDays: Int?, pool: DatabasePool) throws -> RevenueQuery {
    let zone = try Zone(zone)
    guard let lastDays, let last = try pool.read({ try Int64.fetchOne($0, sql: "SELECT MAX(createdAt) FROM payments") }) else {
        return try RevenueQuery(period: period, zone: zone)
    }
    return try RevenueQuery(period: period, zone: zone, from: last - Int64(lastDays) * 86_400_000, to: last + 1)
}
