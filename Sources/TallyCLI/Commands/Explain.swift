import ArgumentParser
import GRDB
import TallyCore
import TallyReport

struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the query plan of every statement the engine runs, and which index each uses.",
        discussion: """
            Covers every strategy's statements for the dashboard and revenue, module counts, and the \
            keyset pages of /api/bookings and /api/organizations.

            Example:
              tally explain --db shop.sqlite --format table
            """)

    @OptionGroup var database: DatabaseOption
    @OptionGroup var map: SchemaMapOption
    @OptionGroup var output: FormatOption

    func run() async throws {
        let db = try map.openReadOnly(path: database.db)
        let statements: [ExplainedStatement]
        do { statements = try await db.reader.read { try QueryPlanExplainer.explainAll(in: $0, of: db) } } catch {
            throw TallyError.wrapping(error, path: database.db)
        }
        switch output.resolved {
        case .json: try printJSON(statements)
        case .csv:
            print("strategy,purpose,indexes,covering,tempBTree,fullScans,sql")
            for s in statements {
                print(
                    [
                        s.strategy, s.purpose, s.indexes.joined(separator: " "), "\(s.covering)", "\(s.tempBTree)",
                        s.fullScans.joined(separator: " "), s.sql,
                    ].map(csvField).joined(separator: ","))
            }
        case .table:
            for s in statements {
                // A stat that runs no statement (kept by the scan, or over a
                // table the app lacks): the reason is the whole entry.
                guard !s.sql.isEmpty else {
                    print("[\(s.strategy)] \(s.purpose): \(s.plan.joined(separator: "; "))")
                    continue
                }
                let index = s.indexes.isEmpty ? "no index" : (s.covering ? "covering index " : "index ") + s.indexes.joined(separator: ", ")
                var notes = [index]
                if s.tempBTree { notes.append("temp B-tree") }
                if !s.fullScans.isEmpty { notes.append("full scan of " + s.fullScans.joined(separator: ", ")) }
                print("[\(s.strategy)] \(s.purpose): \(notes.joined(separator: "; "))")
                print("  \(s.sql)")
                for line in s.plan { print("    \(line)") }
            }
        }
    }
}
