import ArgumentParser
import TallyCore
import TallyReport

struct RevenueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revenue",
        abstract: "Print revenue (COMPLETED payments) per calendar period.",
        discussion: """
            Buckets are whole periods in --tz, labelled by their start; the range is half-open [from, to). \
            D is YYYY-MM-DD (midnight in --tz) or an ISO 8601 timestamp with offset. Without --from/--to \
            the range is the data's own, widened to whole periods. Amounts are minor units (cents) in JSON \
            and CSV, major units in the table.

            Examples:
              tally revenue --db shop.sqlite --period month
              tally revenue --db shop.sqlite --period week --tz Asia/Kolkata \\
                --from 2025-01-01 --to 2025-04-01
            """)

    @OptionGroup var database: DatabaseOption

    @OptionGroup var range: RevenueOptions

    @Option(name: .long, help: "auto (default), rollup, single-pass, grouped or naive.")
    var strategy: Strategy = .auto

    @OptionGroup var reading: ReadingOptions
    @OptionGroup var output: FormatOption

    func run() async throws {
        // Parse the query before touching the file: bad input is exit 2 whatever the file.
        let query = try range.query()
        let engine = try reading.engine(path: database.db)
        let revenue: Revenue
        do { revenue = try await engine.revenue(query, strategy: strategy) } catch { throw TallyError.wrapping(error, path: database.db) }
        switch output.resolved {
        case .json: try printJSON(revenue)
        case .csv:
            print("start,count,amount_minor")
            for b in revenue.buckets { print("\(b.start),\(b.count),\(b.amount)") }
        case .table:
            print(RevenueRendering.table(revenue))
            print(
                "\(revenue.period) buckets from \(revenue.from ?? "-") to \(revenue.to ?? "-"), strategy \(revenue.meta.strategy ?? "-"), "
                    + "\(revenue.meta.statements) SQL statements, \(revenue.meta.durationMs) ms")
        }
    }
}

enum RevenueRendering {
    /// One vocabulary for `revenue` and `demo`: start, payments, amount (major units).
    static func table(_ revenue: Revenue) -> String {
        var table = TextTable(["start (\(revenue.timeZone))", "payments", "amount (major units)"], rightAligned: [1, 2])
        for b in revenue.buckets { table.add([b.start, grouped(b.count), money(b.amount)]) }
        table.add(["total", grouped(revenue.total.count), money(revenue.total.amount)])
        return table.render()
    }
}
