import ArgumentParser
import GRDB
import TallyCore

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a database file with Tally's schema (schema.sql).",
        discussion: """
            Refuses a file that exists and is neither empty nor a Tally database, leaving it untouched. \
            The file is left complete on its own (checkpointed, no -wal needed).

            Example:
              tally init --db shop.sqlite
            """)

    @OptionGroup var database: DatabaseOption

    @Flag(name: .long, help: "Create the tables without the documented indexes.")
    var noIndexes = false

    func run() async throws {
        let db = try TallyDatabase.openForWriting(path: database.db, withIndexes: !noIndexes)
        let status = try await db.reader.read { try IndexManager.status($0) }
        do { try db.close() } catch { throw TallyError.wrapping(error, path: database.db) }
        let present = status.documented.filter { $0.state == "present" }.count
        print("initialized \(database.db): \(TallySchema.tables.count) tables, \(present) of \(status.documented.count) documented indexes")
    }
}
