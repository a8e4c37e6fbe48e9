import ArgumentParser
import Foundation
import TallyCore

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the engine's strategies side by side on a database (medians of --runs).")

    @OptionGroup var database: DatabaseOption

    @Option(name: .long, help: "Timed runs per case.")
    var runs: Int = 5

    @OptionGroup var output: FormatOption

    func validate() throws {
        if runs < 1 || runs > 1000 { throw ValidationError("--runs must be between 1 and 1000, got \(runs)") }
    }

    func run() async throws {
        let pool = try TallyDatabase.openReadOnly(path: database.db)
        let workloads = EngineBenchmark.dashboardWorkloads() + EngineBenchmark.tableWorkloads()
            + EngineBenchmark.revenueWorkloads(period: .month, zone: try Zone("UTC"))
            + EngineBenchmark.revenueWorkloads(period: .day, zone: try Zone("Europe/Paris"))
            + EngineBenchmark.moduleWorkloads()
        let cases: [EngineBenchmark.Case]
        do { cases = try EngineBenchmark.measure(workloads, reader: pool, runs: runs) } catch {
            throw TallyError.wrapping(error, path: database.db)
        }
        let cacheCases: [CacheBenchmark.Case]
        do { cacheCases = try await CacheBenchmark.measure(reader: pool) } catch {
            throw TallyError.wrapping(error, path: database.db)
        }
        switch output.resolved {
        case .json: try printJSON(BenchReport(cases: cases, cache: cacheCases))
        case .csv:
            print("case,median_ms,min_ms,max_ms")
            for c in cases { print("\(c.name),\(c.median),\(c.min),\(c.max)") }
            for c in cacheCases { print("\(c.name),\(c.median / 1000),\(c.samples.first! / 1000),\(c.samples.last! / 1000)") }
        case .table:
            var table = TextTable(["case", "median ms", "min–max ms", "× floor", "× best SQL"], rightAligned: [1, 2, 3, 4])
            for c in cases {
                let group = c.name.split(separator: ".").dropLast().joined(separator: ".")
                let floor = cases.first { $0.name == group + ".floor" }?.median
                let bestSQL = cases.filter { $0.name == group + ".grouped" || $0.name == group + ".naive" }.map(\.median).min()
                table.add([c.name, String(format: "%.2f", c.median), String(format: "%.2f–%.2f", c.min, c.max),
                           floor.map { String(format: "%.2f", c.median / $0) } ?? "",
                           bestSQL.map { String(format: "%.2f", c.median / $0) } ?? ""])
            }
            print(table.render())
            print("")
            var cache = TextTable(["cache case (per request)", "p50 µs", "p99 µs", "min–max µs"], rightAligned: [1, 2, 3])
            for c in cacheCases {
                cache.add([c.name, String(format: "%.2f", c.median), String(format: "%.2f", c.p99),
                           String(format: "%.2f–%.2f", c.samples.first!, c.samples.last!)])
            }
            print(cache.render())
        }
    }
}

/// `tally bench --format json`.
struct BenchReport: Encodable {
    let cases: [EngineBenchmark.Case]
    let cache: [CacheBenchmark.Case]
}
