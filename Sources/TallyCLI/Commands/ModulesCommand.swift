import ArgumentParser
import TallyCore
import TallyReport

struct ModulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modules",
        abstract: "Print active module counts per organization (every organization, 0 included).",
        discussion: """
            Examples:
              tally modules --db shop.sqlite
              # an organization of `tally generate --db shop.sqlite --bookings 100000`:
              tally modules --db shop.sqlite --org 1641250495140-y5j5uf3y4 \\
                --strategy per-org
            """)

    @OptionGroup var database: DatabaseOption

    @Option(name: .long, help: "An organization id; repeat for several (default: all). An unknown id is an error (exit 1).")
    var org: [String] = []

    @Option(name: .long, help: "auto (default), rollup, batched (one query per 500 organizations) or per-org (one query each).")
    var strategy: ModuleStrategy = .auto

    @OptionGroup var reading: ReadingOptions
    @OptionGroup var output: FormatOption

    func run() async throws {
        let engine = try reading.engine(path: database.db)
        let counts: ModuleCounts
        do {
            counts = try await engine.moduleCounts(organizations: org.isEmpty ? nil : org, strategy: strategy)
        } catch {
            throw TallyError.wrapping(error, path: database.db)
        }
        switch output.resolved {
        case .json: try printJSON(counts)
        case .csv:
            print("id,name,activeModules")
            for o in counts.organizations { print([o.id, o.name ?? "", "\(o.activeModules)"].map(csvField).joined(separator: ",")) }
        case .table:
            var table = TextTable(["organization", "name", "active modules"], rightAligned: [2])
            for o in counts.organizations { table.add([o.id, o.name ?? "", "\(o.activeModules)"]) }
            print(table.render())
            print(
                "\(counts.organizations.count) organizations, strategy \(counts.meta.strategy ?? "-"), "
                    + "\(counts.meta.statements) SQL statements, \(counts.meta.durationMs) ms")
        }
    }
}
