import ArgumentParser
import TallyCore

struct ModulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modules",
        abstract: "Print active module counts per organization (every organization, 0 included).")

    @OptionGroup var database: DatabaseOption

    @Option(name: .long, help: "An organization id; repeat for several (default: all).")
    var org: [String] = []

    @Option(name: .long, help: "batched (default: one query per 500 organizations) or per-org (one query each).")
    var strategy: ModuleStrategy = .batched

    @OptionGroup var cacheOption: CacheOption
    @OptionGroup var output: FormatOption

    func run() async throws {
        let engine = TallyEngine(reader: try TallyDatabase.openReadOnly(path: database.db), cache: cacheOption.choice)
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
            for o in counts.organizations { print([o.id, o.name, "\(o.activeModules)"].map(csvField).joined(separator: ",")) }
        case .table:
            var table = TextTable(["organization", "name", "active modules"], rightAligned: [2])
            for o in counts.organizations { table.add([o.id, o.name, "\(o.activeModules)"]) }
            print(table.render())
            print("\(counts.organizations.count) organizations, strategy \(strategy.rawValue), \(counts.meta.durationMs) ms")
        }
    }
}
