import ArgumentParser
import Foundation
import GRDB
import TallyCore

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create (once) a demo database with 1M bookings, then print the dashboard and monthly revenue.",
        discussion: "The database is ./tally-demo.sqlite unless --db says otherwise; a second run reuses it.")

    static let defaultPath = "tally-demo.sqlite"

    @Option(name: .long, help: "Path of the demo database.")
    var db: String = Demo.defaultPath

    @Option(name: .long, help: "Bookings to generate when the database is created.")
    var bookings: Int = 1_000_000

    @Option(name: .long, help: "Seed of the generator.")
    var seed: UInt64 = 42

    func validate() throws {
        if bookings < 0 { throw ValidationError("--bookings must be zero or more, got \(bookings)") }
    }

    func run() async throws {
        if try !hasData() {
            printError("creating \(db) with \(grouped(Int64(bookings))) bookings (seed \(seed))…")
            let report = try GenerateRunner.run(path: db, bookings: bookings, seed: seed, showProgress: true)
            printError(GenerateRunner.summaryLine(report))
        } else {
            printError("reusing \(db)")
        }
        let engine = TallyEngine(reader: try TallyDatabase.openReadOnly(path: db))
        do {
            let dashboard = try await engine.dashboard()
            print(DashboardRendering.table(dashboard))
            print("")
            let revenue = try await engine.revenue(RevenueQuery(period: .month, zone: Zone("UTC")))
            var table = TextTable(["month (UTC)", "payments", "revenue"], rightAligned: [1, 2])
            for b in revenue.buckets { table.add([String(b.start.prefix(7)), grouped(b.count), money(b.amount)]) }
            table.add(["total", grouped(revenue.total.count), money(revenue.total.amount)])
            print(table.render())
        } catch {
            throw TallyError.wrapping(error, path: db)
        }
    }

    /// Whether the demo database already exists with data in it.
    private func hasData() throws -> Bool {
        guard FileManager.default.fileExists(atPath: db) else { return false }
        let pool = try TallyDatabase.openReadOnly(path: db)
        defer { try? pool.close() }
        return try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM bookings") ?? 0 } > 0
    }
}
