import ArgumentParser
import GRDB
import TallyCore
import TallyReport

struct Indexes: AsyncParsableCommand {
    enum Action: String, ExpressibleByArgument, CaseIterable {
        case apply, drop, status
    }

    static let configuration = CommandConfiguration(
        abstract: "Apply, drop or list the documented indexes (contract §1).",
        discussion: """
            apply creates the missing ones and runs ANALYZE; drop removes exactly the documented ones; status \
            lists each as present, missing or different, and any other index found. An index is compared by \
            its definition, not only its name: one named like a documented index but on other columns is \
            reported as different, left alone, and makes apply exit 1 with what to do.

            Examples:
              tally indexes status --db shop.sqlite
              tally indexes drop --db shop.sqlite && tally indexes apply --db shop.sqlite
            """)

    @Argument(help: "apply, drop or status.")
    var action: Action

    @OptionGroup var database: DatabaseOption
    @OptionGroup var output: FormatOption

    func run() async throws {
        let status: IndexManager.Status
        switch action {
        case .status:
            let db = try TallyDatabase.openReadOnly(path: database.db)
            status = try await db.reader.read { try IndexManager.status($0) }
            try db.close()
        case .apply, .drop:
            let db = try TallyDatabase.openForWriting(path: database.db)
            do {
                status = try await db.writer!.write { db in
                    if action == .apply { try IndexManager.apply(db) } else { try IndexManager.drop(db) }
                    return try IndexManager.status(db)
                }
                try db.close()
            } catch {
                throw TallyError.wrapping(error, path: database.db)
            }
        }
        switch output.resolved {
        case .json: try printJSON(status)
        case .csv:
            print("name,table,columns,state,note")
            for entry in status.documented {
                print(
                    [entry.name, entry.table, entry.columns.joined(separator: " "), entry.state, entry.note ?? ""]
                        .map(csvField).joined(separator: ","))
            }
            for name in status.extra { print("\(csvField(name)),,,extra,") }
        case .table:
            var table = TextTable(["index", "table", "columns", "state"])
            for entry in status.documented {
                table.add([entry.name, entry.table, entry.columns.joined(separator: ", "), entry.state])
            }
            for name in status.extra { table.add([name, "", "", "extra"]) }
            print(table.render())
            let present = status.documented.filter { $0.state == "present" }.count
            print("\(present) of \(status.documented.count) documented indexes present, \(status.extra.count) other")
        }
        for conflict in status.conflicts { printError("note: \(conflict.note ?? conflict.name)") }
        if action == .apply, let conflict = status.conflicts.first {
            throw TallyError(
                .state,
                "\(status.conflicts.count) documented index name(s) taken by another definition: "
                    + (conflict.note ?? conflict.name))
        }
    }
}
