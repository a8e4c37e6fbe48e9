import ArgumentParser
@preconcurrency import Dispatch
import Foundation
import GRDB
import TallyCore
import TallyReport
import TallyWorkloads

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the engine's strategies side by side, with and without the documented indexes.",
        discussion: """
            Works on two temporary copies of the database (made with SQLite's backup API from a \
            read-only connection): one with the documented indexes, one without. The file itself is \
            never written, and the copies are removed at the end, on any error, and on Ctrl-C or SIGTERM. \
            Prints each case's median and min–max of --runs, its ratio to the floor (the same SELECTs \
            stepped without aggregating) and to the best SQL strategy, the cache's per-request latency, \
            and EXPLAIN QUERY PLAN highlights.

            With --schema-map (an app's own database), the file is measured as the app keeps it, through \
            the map, read-only: no copies, no index variants, no rollups (measure those on a copy with \
            `tally rollups enable --schema-map`).

            Examples:
              tally bench --db tally-demo.sqlite --runs 5
              tally bench --db dev.db --schema-map dev.map.json
            """)

    @OptionGroup var database: DatabaseOption
    @OptionGroup var map: SchemaMapOption

    @Option(name: .long, parsing: .unconditional, help: "Timed runs per case.")
    var runs: Int = 5

    @Option(name: .long, parsing: .unconditional, help: "A case whose first run takes longer than this many seconds is run once.")
    var budget: Double = 2

    @Option(name: .long, parsing: .unconditional, help: "Row changes per timed write transaction (the rollups' cost to writers).")
    var writeRows: Int = 5_000

    @Flag(name: .long, help: "Skip rollups: no enable on the copies, no rollup or write cases.")
    var noRollups = false

    @OptionGroup var output: FormatOption

    func validate() throws {
        if runs < 1 || runs > 1000 { throw ValidationError("--runs must be between 1 and 1000, got \(runs)") }
        if !(budget > 0) { throw ValidationError("--budget must be a positive number of seconds, got \(budget)") }
        if writeRows < 1 || writeRows > 10_000_000 { throw ValidationError("--write-rows must be between 1 and 10000000, got \(writeRows)") }
    }

    /// One variant's results.
    struct Variant: Encodable {
        let name: String
        let cases: [EngineBenchmark.Case]
        let cache: [CacheBenchmark.Case]
        let plans: [PlanHighlights]
        /// Seconds `tally rollups enable` took on this copy.
        let rollupsEnableSeconds: Double?
        /// The rollups' cost to writers (measured on the copy with indexes).
        let writes: [WriterBenchmark.Case]
    }

    func run() async throws {
        if let schemaMap = try map.load() {
            let db = try TallyDatabase.openReadOnly(path: database.db, schemaMap: schemaMap)
            let variant: Variant
            do {
                variant = try await measure(db, name: "through the schema map", index: 0, rollups: false, enableSeconds: nil, path: nil)
            } catch {
                throw TallyError.wrapping(error, path: database.db)
            }
            try show([variant])
            return
        }
        let source = try TallyDatabase.openReadOnly(path: database.db)
        let rollups = !noRollups
        // The directory exists, and Ctrl-C removes it, before anything is copied.
        let directory: URL
        do { directory = try BenchmarkCopies.makeDirectory() } catch { throw TallyError.wrapping(error, path: database.db) }
        let cleanup = RemoveOnSignal(directory)
        defer {
            try? FileManager.default.removeItem(at: directory)
            cleanup.cancel()
        }
        do {
            // Progress for a person reading the table; a script reading JSON or
            // CSV gets only errors and warnings on stderr, as from every reading command.
            if output.resolved == .table {
                printError("measuring copies of \(database.db) in \(directory.path) …")
                if rollups { printError("copying, and enabling rollups on the copies …") }
            }
            let copies: BenchmarkCopies
            do { copies = try BenchmarkCopies.make(from: source, rollups: rollups, in: directory) } catch {
                throw TallyError.wrapping(error, path: database.db)
            }
            try source.close()
            var variants: [Variant] = []
            for (index, (name, path)) in [("with indexes", copies.withIndexes), ("without indexes", copies.withoutIndexes)].enumerated() {
                let db = try TallyDatabase.openReadOnly(path: path)
                do {
                    variants.append(
                        try await measure(
                            db, name: name, index: index, rollups: rollups,
                            enableSeconds: copies.rollupsEnableSeconds.indices.contains(index) ? copies.rollupsEnableSeconds[index] : nil,
                            path: path))
                } catch {
                    throw TallyError.wrapping(error, path: database.db)
                }
            }
            try show(variants)
        } catch {
            // Ctrl-C removes the copies under the measurement, which then
            // fails: the signal's own exit (130) must win over this error's.
            cleanup.holdIfInterrupted()
            throw error
        }
    }

    /// Every case on one database (closed at the end); the writers' cost
    /// on the first copy when rollups are measured.
    func measure(_ db: TallyDatabase, name: String, index: Int, rollups: Bool, enableSeconds: Double?, path: String?) async throws -> Variant {
        let paris = try Zone("Europe/Paris")
        let workloads =
            EngineBenchmark.dashboardWorkloads(rollups: rollups) + EngineBenchmark.tableWorkloads()
            + (try await EngineBenchmark.revenueWorkloads(period: .month, zone: Zone.utc, rollups: rollups))
            + (try await EngineBenchmark.revenueWorkloads(period: .month, zone: paris, rollups: rollups))
            + (try await EngineBenchmark.revenueWorkloads(period: .day, zone: paris, lastDays: 90, database: db, rollups: rollups))
            + EngineBenchmark.moduleWorkloads(rollups: rollups)
        let cases = try await EngineBenchmark.measure(workloads, database: db, runs: runs, budget: budget)
        let cache = index == 0 ? try await CacheBenchmark.measure(database: db) : []
        let plans = PlanHighlights.summarize(try await db.reader.read { try QueryPlanExplainer.explainAll(in: $0, of: db) })
        try db.close()
        var writes: [WriterBenchmark.Case] = []
        if rollups, index == 0, let path {
            if output.resolved == .table { printError("timing writes with and without the rollups' triggers …") }
            writes = try WriterBenchmark.measure(path: path, rows: writeRows, runs: runs)
        }
        return Variant(name: name, cases: cases, cache: cache, plans: plans, rollupsEnableSeconds: enableSeconds, writes: writes)
    }

    func show(_ variants: [Variant]) throws {
        switch output.resolved {
        case .json:
            try printJSON(variants)
        case .csv:
            print("variant,case,median_ms,min_ms,max_ms,runs")
            for v in variants {
                for c in v.cases { print("\(v.name),\(c.name),\(c.median),\(c.min),\(c.max),\(c.samples.count)") }
                for c in v.cache {
                    print("\(v.name),\(c.name),\(c.median / 1000),\(c.samples.first! / 1000),\(c.samples.last! / 1000),\(c.samples.count)")
                }
                if let seconds = v.rollupsEnableSeconds { print("\(v.name),rollups.enable,\(seconds * 1000),\(seconds * 1000),\(seconds * 1000),1") }
                for w in v.writes {
                    for (variant, samples) in [("plain", w.plain), ("any-trigger", w.anyTrigger), ("rollups", w.withRollups)] where !samples.isEmpty {
                        let name = "write.\(w.name.replacingOccurrences(of: ",", with: ";")).temp_store-\(w.tempStore).\(variant)"
                        print(
                            "\(v.name),\(name),\(WriterBenchmark.Case.median(samples) / 1000),\((samples.min() ?? 0) / 1000),\((samples.max() ?? 0) / 1000),\(samples.count)"
                        )
                    }
                }
            }
        case .table:
            for v in variants { print(Self.render(v, runs: runs)) }
        }
    }

    static func render(_ v: Variant, runs: Int) -> String {
        var out = ["## \(v.name)"]
        var table = TextTable(["case", "median ms", "min–max ms", "× floor", "× best SQL", "× single-pass"], rightAligned: [1, 2, 3, 4, 5])
        for c in v.cases {
            let group = c.name.split(separator: ".").dropLast().joined(separator: ".")
            let floor = v.cases.first { $0.name == group + ".floor" }?.median
            let bestSQL = v.cases.filter { $0.name == group + ".grouped" || $0.name == group + ".naive" }.map(\.median).min()
            let singlePass = v.cases.first { $0.name == group + ".single-pass" }?.median
            let once = c.samples.count < runs ? " (1 run)" : ""
            table.add([
                c.name + once, String(format: "%.2f", c.median), String(format: "%.2f–%.2f", c.min, c.max),
                floor.map { String(format: "%.2f", c.median / $0) } ?? "",
                bestSQL.map { String(format: "%.2f", c.median / $0) } ?? "",
                c.name.hasSuffix(".rollup") ? singlePass.map { String(format: "%.4f", c.median / $0) } ?? "" : "",
            ])
        }
        out.append(table.render())
        if let seconds = v.rollupsEnableSeconds {
            out.append(String(format: "rollups enable (tables, triggers, one-scan backfill, one transaction): %.2f s", seconds))
        }
        if !v.writes.isEmpty {
            var writes = TextTable(
                [
                    "write (WAL, synchronous=NORMAL), µs per row change", "temp_store", "plain", "any trigger",
                    "with rollups", "added", "added beyond any trigger",
                ], rightAligned: [2, 3, 4, 5, 6])
            for w in v.writes {
                writes.add([
                    w.name, w.tempStore, String(format: "%.2f", w.plainMedian),
                    w.anyTrigger.isEmpty ? "" : String(format: "%.2f", w.anyTriggerMedian),
                    String(format: "%.2f", w.withRollupsMedian), String(format: "%.2f", w.added),
                    w.anyTrigger.isEmpty ? "" : String(format: "%.2f", w.withRollupsMedian - w.anyTriggerMedian),
                ])
            }
            out.append(writes.render())
        }
        if !v.cache.isEmpty {
            var cache = TextTable(["cache (per request)", "p50 µs", "p99 µs", "min–max µs"], rightAligned: [1, 2, 3])
            for c in v.cache {
                cache.add([
                    c.name, String(format: "%.2f", c.median), String(format: "%.2f", c.p99),
                    String(format: "%.2f–%.2f", c.samples.first!, c.samples.last!),
                ])
            }
            out.append(cache.render())
        }
        var plans = TextTable(["EXPLAIN", "statements", "use an index", "covering", "temp B-trees", "full scans"], rightAligned: [1, 2, 3, 4])
        for p in v.plans {
            plans.add([p.strategy, "\(p.statements)", "\(p.usingIndex)", "\(p.covering)", "\(p.tempBTrees)", p.fullScans.joined(separator: ", ")])
        }
        out.append(plans.render())
        return out.joined(separator: "\n\n") + "\n"
    }
}
