import ArgumentParser
import TallyCore

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a database file with Tally's schema (schema.sql).",
        discussion: "Refuses a file that exists and is neither empty nor a Tally database, leaving it untouched.")

    @OptionGroup var database: DatabaseOption

    @Flag(name: .long, help: "Create the tables without the documented indexes.")
    var noIndexes = false

    func run() async throws {
        let pool = try TallyDatabase.openForWriting(path: database.db, withIndexes: !noIndexes)
        let status = try await pool.read { try IndexManager.status($0) }
        try pool.close()
        let present = status.documented.filter { $0.state == "present" }.count
        print("initialized \(database.db): \(TallySchema.tables.count) tables, \(present) of \(status.documented.count) documented indexes")
    }
}
