import ArgumentParser
import Foundation
import TallyCore
import TallyReport

struct Report: AsyncParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case html, md, csv
    }

    static let configuration = CommandConfiguration(
        abstract: "Write an offline report: one self-contained HTML page with charts, Markdown, or CSV files.",
        discussion: """
            Fit for cron: exit 0 on success, 1 with one line on stderr on failure (2 for bad usage); \
            the output is written atomically (a temporary file renamed into place), so a failed run never \
            leaves half a report. CSV files go into the directory (created if missing), replacing only \
            their own names: other files there stay. \
            The same data and options give the same report apart from its generation time. --format \
            defaults from --out's extension, case-insensitively: .html or .htm for HTML, .md or .markdown \
            for Markdown, a path ending in / or without an extension for a directory of CSV files; any \
            other extension is refused.

            Examples:
              tally report --db shop.sqlite --out report.html
              tally report --db shop.sqlite --out report.md --period week --tz Europe/Paris
              tally report --db shop.sqlite --out csv/ --format csv
            """)

    @OptionGroup var database: DatabaseOption
    @OptionGroup var map: SchemaMapOption

    @Option(name: .long, help: "The report file (HTML or Markdown) or directory (CSV).")
    var out: String

    @Option(name: .long, help: "html, md or csv (default: from --out's extension).")
    var format: Format?

    @OptionGroup var range: RevenueOptions

    @Flag(name: .long, help: "Print nothing on success.")
    var quiet = false

    @OptionGroup var slowQuery: SlowQueryOption

    /// The format from `--format`, or from `--out`'s extension.
    func resolvedFormat() throws -> Format {
        if let format { return format }
        if out.hasSuffix("/") { return .csv }
        let ext = (out as NSString).pathExtension.lowercased()
        switch ext {
        case "html", "htm": return .html
        case "md", "markdown": return .md
        case "": return .csv
        default:
            throw ValidationError("--out has the extension .\(ext); use .html, .md, a directory for CSV files, or pass --format")
        }
    }

    func validate() throws {
        if out.isEmpty || out.utf8.contains(0) { throw ValidationError("--out must be a file or directory path") }
        _ = try resolvedFormat()
    }

    func run() async throws {
        let query = try range.query()
        let format = try resolvedFormat()
        let db = try map.openReadOnly(path: database.db)
        let data: ReportData
        do {
            data = try await ReportData.collect(
                engine: TallyEngine(database: db, cache: .disabled, slowQueryThreshold: slowQuery.threshold), query: query,
                databaseName: (database.db as NSString).lastPathComponent,
                tallyVersion: TallyVersion.current)
        } catch {
            throw TallyError.wrapping(error, path: database.db)
        }
        try db.close()
        let target = out.hasSuffix("/") && out.count > 1 ? String(out.dropLast()) : out
        switch format {
        case .html: try AtomicWriter.write(ReportRenderer.html(data), to: target)
        case .md: try AtomicWriter.write(ReportRenderer.markdown(data), to: target)
        case .csv: try AtomicWriter.writeDirectory(ReportRenderer.csvFiles(data), to: target)
        }
        if !quiet { print("wrote \(out) (\(format.rawValue))") }
    }
}
