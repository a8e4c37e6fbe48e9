public import ArgumentParser
import Foundation
import Logging
import TallyCore
import TallyReport

/// `--db PATH`, shared by every command.
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: "Path of the SQLite database file.")
    var db: String

    func validate() throws {
        if db.isEmpty { throw ValidationError("--db must not be empty") }
        if db.utf8.contains(0) { throw ValidationError("--db must not contain NUL bytes") }
    }
}

/// `--schema-map FILE`: read an app's own database (Prisma, Django, Rails)
/// through a schema map (`tally schema-map guess` writes a starter one).
struct SchemaMapOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A JSON schema map: which tables and columns of an app's own database hold Tally's, and how to convert them.",
            discussion: "Start one with `tally schema-map guess --db FILE`.", valueName: "file"))
    var schemaMap: String?

    /// The parsed map, or nil without the option.
    ///
    /// - throws: `TallyError` naming the file, or the map entry that is wrong (exit 2).
    func load() throws -> SchemaMap? {
        guard let schemaMap else { return nil }
        guard let data = FileManager.default.contents(atPath: schemaMap) else {
            throw TallyError(.file, "cannot read the schema map \(schemaMap)", path: schemaMap)
        }
        do {
            return try SchemaMap(json: data)
        } catch let error as TallyError {
            throw TallyError(error.kind, "\(schemaMap): \(error.message)", path: schemaMap)
        }
    }

    /// Opens `path` read-only, through the map when one is given.
    func openReadOnly(path: String, settings: TallyDatabase.PoolSettings = .init()) throws -> TallyDatabase {
        try TallyDatabase.openReadOnly(path: path, schemaMap: try load(), settings: settings)
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
extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `--slow-query-ms`: the slow-query warning of one-shot reading commands
/// (off unless given).
struct SlowQueryOption: ParsableArguments {
    @Option(
        name: .long, parsing: .unconditional,
        help: "Warn on stderr when a computation takes longer than this many milliseconds, with its SQL and plans (off by default).")
    var slowQueryMs: Double?

    func validate() throws {
        if let slowQueryMs, !(slowQueryMs > 0 && slowQueryMs <= 3_600_000) {
            throw ValidationError("--slow-query-ms must be a positive number of milliseconds, got \(slowQueryMs)")
        }
    }

    var threshold: Duration? { slowQueryMs.map { .microseconds(Int64($0 * 1000)) } }
}

/// What every reading command takes besides `--db`: logging, the slow-query
/// warning, the cache.
struct ReadingOptions: ParsableArguments {
    @OptionGroup var slowQuery: SlowQueryOption

    @Option(name: .long, help: "Log level on stderr: trace, debug, info, notice, warning (default), error or critical.")
    var logLevel: Logger.Level = .warning

    @Flag(name: .long, help: "Bypass the cache: compute now (meta.cache = bypass).")
    var noCache = false

    @OptionGroup var map: SchemaMapOption

    var slowQueryThreshold: Duration? { slowQuery.threshold }

    /// Applies the log level (before any logger is made) and opens an engine
    /// over the file, read-only.
    func engine(path: String) throws -> TallyEngine {
        LogSettings.level.withLock { $0 = logLevel }
        let database = try map.openReadOnly(path: path)
        return TallyEngine(database: database, cache: noCache ? .disabled : .shared, slowQueryThreshold: slowQueryThreshold)
    }
}

/// Writes a value as pretty JSON on stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// Whether stderr is a terminal (progress lines only there).
var stderrIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

func printErrorInline(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

/// `--period`, `--from`, `--to`, `--tz`: a revenue query, shared by `revenue` and `report`.
struct RevenueOptions: ParsableArguments {
    @Option(name: .long, help: "day, week (ISO, from Monday), month, quarter or year.")
    var period: String = "month"

    @Option(name: .long, help: "Start of the range (inclusive): YYYY-MM-DD (midnight in --tz) or ISO 8601 with offset.")
    var from: String?

    @Option(name: .long, help: "End of the range (exclusive): YYYY-MM-DD or ISO 8601 with offset.")
    var to: String?

    @Option(name: .long, help: "Time zone of the periods: any tz database name, e.g. Europe/Paris, Asia/Kolkata, Etc/UTC.")
    var tz: String = "UTC"

    /// The parsed query; bad input is `TallyError.invalidInput` (exit 2).
    func query() throws -> RevenueQuery {
        try RevenueQuery(period: period, timeZone: tz, from: from, to: to)
    }
}

/// `1234567` → `1,234,567`.
func grouped(_ n: Int64) -> String { ReportFormat.count(n) }

/// Minor units → `12,345.67`.
func money(_ amount: Amount) -> String { ReportFormat.money(amount) }
