import ArgumentParser
import Foundation
import GRDB
import TallyCore

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create (once) a demo database with 1M bookings, then print the dashboard and monthly revenue.",
        discussion: """
            The database is ./tally-demo.sqlite unless --db says otherwise, created with rollups enabled; a \
            second run reuses it (and says so: pass --regenerate to build it again with other --bookings or --seed).

            Examples:
              tally demo
              tally demo --db small.sqlite --bookings 5000
            """)

    static let defaultPath = "tally-demo.sqlite"

    @Option(name: .long, help: "Path of the demo database.")
    var db: String = Demo.defaultPath

    @Option(name: .long, parsing: .unconditional, help: "Bookings to generate when the database is created.")
    var bookings: Int = 1_000_000

    @Option(name: .long, parsing: .unconditional, help: "Seed of the generator.")
    var seed: UInt64 = 42

    @Flag(name: .long, help: "Generate the data again even when the database exists.")
    var regenerate = false

    func validate() throws {
        if bookings < 0 { throw ValidationError("--bookings must be zero or more, got \(bookings)") }
        if bookings > 1_000_000_000 { throw ValidationError("--bookings must be at most 1000000000, got \(bookings)") }
    }

    func run() async throws {
        if try regenerate || !hasData() {
            printError("\(regenerate ? "regenerating" : "creating") \(db) with \(grouped(Int64(bookings))) bookings (seed \(seed))…")
            let report = try GenerateRunner.run(path: db, bookings: bookings, seed: seed, replace: regenerate, showProgress: true)
            printError(GenerateRunner.summaryLine(report))
            // Rollups on: answers after a write cost O(groups), not a scan.
            let writer = try TallyDatabase.openForWriting(path: db)
            do {
                if try await !Rollups.status(of: writer).allIntact { try Rollups.enable(on: writer) }
                try writer.close()
            } catch {
                try? writer.close()
                throw TallyError.wrapping(error, path: db)
            }
            printError("rollups enabled (tally rollups status --db \(db))")
        } else {
            let existing = try countBookings()
            var note = "reusing \(db) (\(grouped(existing)) bookings)"
            if existing != Int64(bookings) { note += "; --bookings \(bookings) applies only when it is created: pass --regenerate" }
            printError(note)
        }
        let engine = TallyEngine(database: try TallyDatabase.openReadOnly(path: db))
        do {
            let dashboard = try await engine.dashboard()
            print(DashboardRendering.table(dashboard))
            print("")
            let revenue = try await engine.revenue(RevenueQuery(period: .month, zone: Zone.utc))
            print(RevenueRendering.table(revenue))
        } catch {
            throw TallyError.wrapping(error, path: db)
        }
    }

    /// Whether the demo database already exists with data in it.
    private func hasData() throws -> Bool {
        guard FileManager.default.fileExists(atPath: db) else { return false }
        return try countBookings() > 0
    }

    private func countBookings() throws -> Int64 {
        let database = try TallyDatabase.openReadOnly(path: db)
        defer { try? database.close() }
        return try database.reader.read { try Int64.fetchOne($0, sql: "SELECT COUNT(*) FROM bookings") ?? 0 }
    }
}
