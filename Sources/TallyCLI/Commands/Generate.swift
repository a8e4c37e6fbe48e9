import ArgumentParser
import Foundation
import TallyCore

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill a database with deterministic synthetic data.",
        discussion: """
            The same --bookings and --seed give byte-identical table contents on any machine. \
            Other tables scale from --bookings: users ≈ N/5, drivers ≈ N/50, vehicles ≈ drivers × 1.2, \
            0–2 payments per booking, organizations ≈ N/500 with 0–40 modules each. \
            The file is created (with the schema) if missing; a database that already holds data is \
            refused (exit 1) unless --replace is given. Everything happens in one transaction: an \
            interrupted run leaves the file as it was.

            Examples:
              tally generate --db shop.sqlite --bookings 100000
              tally generate --db shop.sqlite --bookings 1000000 --seed 7 --replace
            """)

    @OptionGroup var database: DatabaseOption

    @Option(name: .long, parsing: .unconditional, help: "Number of bookings (other tables scale from it).")
    var bookings: Int

    @Option(name: .long, parsing: .unconditional, help: "Seed of the pseudo-random generator.")
    var seed: UInt64 = 42

    @Flag(name: .long, help: "Keep the documented indexes during the inserts instead of rebuilding them after (slower).")
    var keepIndexes = false

    @Flag(name: .long, help: "Delete the existing rows first instead of refusing a database that holds data.")
    var replace = false

    @Flag(name: .long, help: "Print nothing but errors.")
    var quiet = false

    @OptionGroup var output: FormatOption

    func validate() throws {
        if bookings < 0 { throw ValidationError("--bookings must be zero or more, got \(bookings)") }
        if bookings > 1_000_000_000 { throw ValidationError("--bookings must be at most 1000000000, got \(bookings)") }
    }

    func run() async throws {
        let report = try GenerateRunner.run(
            path: database.db, bookings: bookings, seed: seed,
            keepIndexes: keepIndexes, replace: replace, showProgress: !quiet)
        if quiet { return }
        switch output.resolved {
        case .json: try printJSON(report)
        case .csv:
            print("table,rows")
            for (table, rows) in report.rows.sorted(by: { $0.key < $1.key }) { print("\(table),\(rows)") }
        case .table:
            GenerateRunner.printSummary(report)
        }
    }
}

/// Shared by `generate` and `demo`.
enum GenerateRunner {
    static func run(
        path: String, bookings: Int, seed: UInt64, keepIndexes: Bool = false,
        replace: Bool = false, showProgress: Bool
    ) throws -> DataGenerator.Report {
        let database = try TallyDatabase.openForWriting(path: path)
        var generator = DataGenerator(bookings: bookings, seed: seed)
        generator.keepIndexes = keepIndexes
        generator.replace = replace
        var progress: (@Sendable (DataGenerator.Progress) -> Void)? = nil
        if showProgress && stderrIsTerminal {
            progress = { p in
                let percent = min(99, p.rowsInserted * 100 / max(1, p.rowsExpected))
                printErrorInline(p.table == "indexes" ? "\rbuilding indexes …                 " : "\rgenerating: \(p.table) … \(percent)%   ")
            }
        }
        do {
            let report = try generator.run(in: database.writer!, progress: progress)
            if progress != nil { printErrorInline("\r\u{1B}[K") }
            try database.close()
            return report
        } catch {
            if progress != nil { printErrorInline("\n") }
            try? database.close()
            throw TallyError.wrapping(error, path: path)
        }
    }

    static func printSummary(_ report: DataGenerator.Report) {
        var table = TextTable(["table", "rows"], rightAligned: [1])
        for name in TallySchema.tables.map(\.name) {
            table.add([name, grouped(Int64(report.rows[name] ?? 0))])
        }
        print(table.render())
        print(summaryLine(report))
    }

    static func summaryLine(_ report: DataGenerator.Report) -> String {
        var line =
            "generated \(grouped(Int64(report.totalRows))) rows in \(String(format: "%.2f", report.seconds)) s "
            + "(\(grouped(Int64(report.rowsPerSecond))) rows/s overall); inserts \(String(format: "%.2f", report.insertSeconds)) s "
            + "(\(grouped(Int64(report.insertRowsPerSecond))) rows/s)"
        if report.indexesBuilt > 0 {
            line += ", \(report.indexesBuilt) indexes and ANALYZE \(String(format: "%.2f", report.indexSeconds)) s"
        }
        return line
    }
}
