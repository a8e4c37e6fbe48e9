import ArgumentParser
import Foundation
import TallyCore

/// `--db PATH`, shared by every command.
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: "Path of the SQLite database file.")
    var db: String

    func validate() throws {
        if db.isEmpty { throw ValidationError("--db must not be empty") }
        if db.utf8.contains(0) { throw ValidationError("--db must not contain NUL bytes") }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

/// `--format table|json|csv`: a table on a terminal, JSON otherwise.
struct FormatOption: ParsableArguments {
    @Option(name: .long, help: "Output format: table, json or csv (default: table on a terminal, json otherwise).")
    var format: OutputFormat?

    var resolved: OutputFormat {
        format ?? (isatty(STDOUT_FILENO) != 0 ? .table : .json)
    }
}

extension Strategy: ExpressibleByArgument {}
extension ModuleStrategy: ExpressibleByArgument {}

/// Writes a value as pretty JSON on stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// Prints progress lines on stderr only when it is a terminal.
var stderrIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// `--no-cache`: compute every number now (`meta.cache` is `bypass`).
struct CacheOption: ParsableArguments {
    @Flag(name: .long, help: "Bypass the cache: compute now (meta.cache = bypass).")
    var noCache = false

    var choice: TallyEngine.CacheChoice { noCache ? .disabled : .automatic }
}

/// `--period`, `--from`, `--to`, `--tz`: a revenue query, shared by `revenue` and `report`.
struct RevenueOptions: ParsableArguments {
    @Option(name: .long, help: "day, week (ISO, from Monday), month, quarter or year.")
    var period: String = "month"

    @Option(name: .long, help: "Start of the range (inclusive): YYYY-MM-DD (midnight in --tz) or ISO 8601 with offset.")
    var from: String?

    @Option(name: .long, help: "End of the range (exclusive).")
    var to: String?

    @Option(name: .long, help: "IANA time zone of the periods, e.g. Europe/Paris.")
    var tz: String = "UTC"

    /// The parsed query; bad input is `TallyError.invalidInput` (exit 2).
    func query() throws -> RevenueQuery {
        try RevenueQuery(period: period, timeZone: tz, from: from, to: to)
    }
}
