import ArgumentParser
import Foundation
import TallyCore

struct Report: AsyncParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case html, md, csv
    }

    static let configuration = CommandConfiguration(
        abstract: "Write an offline report: one self-contained HTML page with charts, Markdown, or CSV files.",
        discussion: """
            Fit for cron: exit 0 on success, 1 with one line on stderr on failure; the output is written \
            atomically (a temporary file renamed into place), so a failed run never leaves half a report. \
            The same data and options give the same report apart from its generation time. \
            --format defaults from --out: .md for Markdown, a path without .html for a directory of CSV files.
            """)

    @OptionGroup var database: DatabaseOption

    @Option(name: .long, help: "The report file (HTML or Markdown) or directory (CSV).")
    var out: String

    @Option(name: .long, help: "html, md or csv.")
    var format: Format?

    @OptionGroup var range: RevenueOptions

    @Flag(name: .long, help: "Print nothing on success.")
    var quiet = false

    var resolvedFormat: Format {
        if let format { return format }
        if out.hasSuffix(".md") { return .md }
        if out.hasSuffix(".html") || out.hasSuffix(".htm") { return .html }
        return .csv
    }

    func validate() throws {
        if out.isEmpty || out.utf8.contains(0) { throw ValidationError("--out must be a file or directory path") }
    }

    func run() async throws {
        let query = try range.query()
        let pool = try TallyDatabase.openReadOnly(path: database.db)
        let data: ReportData
        do {
            data = try ReportData.collect(reader: pool, query: query, databaseName: (database.db as NSString).lastPathComponent,
                                          tallyVersion: TallyVersion.current)
        } catch {
            throw TallyError.wrapping(error, path: database.db)
        }
        try pool.close()
        switch resolvedFormat {
        case .html: try AtomicWriter.write(ReportRenderer.html(data), to: out)
        case .md: try AtomicWriter.write(ReportRenderer.markdown(data), to: out)
        case .csv: try AtomicWriter.writeDirectory(ReportRenderer.csvFiles(data), to: out)
        }
        if !quiet { print("wrote \(out) (\(resolvedFormat.rawValue))") }
    }
}
