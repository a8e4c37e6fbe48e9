import ArgumentParser
import TallyCore

struct Indexes: AsyncParsableCommand {
    enum Action: String, ExpressibleByArgument, CaseIterable {
        case apply, drop, status
    }

    static let configuration = CommandConfiguration(
        abstract: "Apply, drop or list the documented indexes (contract §1).",
        discussion: "apply creates the missing ones and runs ANALYZE; drop removes exactly the documented ones; status lists each as present or missing, and any other index found.")

    @Argument(help: "apply, drop or status.")
    var action: Action

    @OptionGroup var database: DatabaseOption
    @OptionGroup var output: FormatOption

    func run() async throws {
        let status: IndexManager.Status
        switch action {
        case .status:
            let pool = try TallyDatabase.openReadOnly(path: database.db)
            status = try await pool.read { try IndexManager.status($0) }
            try pool.close()
        case .apply, .drop:
            let pool = try TallyDatabase.openForWriting(path: database.db)
            do {
                status = try await pool.write { db in
                    if action == .apply { try IndexManager.apply(db) } else { try IndexManager.drop(db) }
                    return try IndexManager.status(db)
                }
            } catch {
                throw TallyError.wrapping(error, path: database.db)
            }
            try pool.close()
        }
        switch output.resolved {
        case .json: try printJSON(status)
        case .csv:
            print("name,table,columns,state")
            for entry in status.documented {
                print([entry.name, entry.table, entry.columns.joined(separator: " "), entry.state].map(csvField).joined(separator: ","))
            }
            for name in status.extra { print("\(csvField(name)),,,extra") }
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
    }
}
