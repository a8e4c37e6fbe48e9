import ArgumentParser
import TallyCore

struct RevenueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revenue",
        abstract: "Print revenue (COMPLETED payments) per calendar period.",
        discussion: """
            Buckets are whole periods in --tz, labelled by their start; the range is half-open [from, to). \
            D is YYYY-MM-DD (midnight in --tz) or an ISO 8601 timestamp with offset. \
            Without --from/--to the range is the data's own, widened to whole periods.
            """)

    @OptionGroup var database: DatabaseOption

    @OptionGroup var range: RevenueOptions

    @Option(name: .long, help: "single-pass (default), grouped or naive.")
    var strategy: Strategy = .singlePass

    @OptionGroup var cacheOption: CacheOption
    @OptionGroup var output: FormatOption

    func run() async throws {
        // Parse the query before touching the file: bad input is exit 2 whatever the file.
        let query = try range.query()
        let engine = TallyEngine(reader: try TallyDatabase.openReadOnly(path: database.db), cache: cacheOption.choice)
        let revenue: Revenue
        do { revenue = try await engine.revenue(query, strategy: strategy) } catch { throw TallyError.wrapping(error, path: database.db) }
        switch output.resolved {
        case .json: try printJSON(revenue)
        case .csv:
            print("start,count,amount")
            for b in revenue.buckets { print("\(b.start),\(b.count),\(b.amount)") }
        case .table:
            var table = TextTable(["start (\(revenue.timeZone))", "payments", "amount"], rightAligned: [1, 2])
            for b in revenue.buckets { table.add([b.start, grouped(b.count), money(b.amount)]) }
            table.add(["total", grouped(revenue.total.count), money(revenue.total.amount)])
            print(table.render())
            print("\(revenue.period) buckets from \(revenue.from ?? "-") to \(revenue.to ?? "-"), \(revenue.meta.durationMs) ms")
        }
    }
}
