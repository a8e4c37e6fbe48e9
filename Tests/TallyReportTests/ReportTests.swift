import Foundation
import GRDB
import TallyCore
import TallyTestSupport
import Testing

@testable import TallyReport

@Suite("Reports")
struct ReportTests {
    static let fixedNow = Date(timeIntervalSince1970: 1_800_000_000)

    /// The cells of `<table … id="ID">`, row by row.
    static func table(_ html: String, id: String) throws -> [[String]] {
        let start = try #require(html.range(of: "id=\"\(id)\""))
        let end = try #require(html.range(of: "</table>", range: start.upperBound..<html.endIndex))
        let body = html[start.upperBound..<end.lowerBound]
        return body.components(separatedBy: "<tr>").dropFirst(2).map { row in
            row.components(separatedBy: "<td>").dropFirst().map { cell in
                String(cell.prefix { $0 != "<" })
                    .replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&#39;", with: "'")
                    .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                    .replacingOccurrences(of: "&quot;", with: "\"")
            }
        }
    }

    static func number(_ text: String) -> Int64 {
        Int64(text.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: ".", with: ""))!
    }

    /// The report's data, computed by an engine over `database`.
    static func collect(
        _ database: TallyDatabase, _ query: RevenueQuery, name: String = "x.sqlite",
        now: Date = fixedNow
    ) async throws -> ReportData {
        try await ReportData.collect(
            engine: TallyEngine(database: database, cache: .disabled), query: query,
            databaseName: name, tallyVersion: "t", now: now)
    }

    @Test("the HTML report's numbers equal the engine's answers")
    func htmlNumbers() async throws {
        let dir = try TemporaryDirectory()
        let pool = try generatedDatabase(in: dir, bookings: 3_000)
        let query = try RevenueQuery(period: "quarter", timeZone: "Europe/Paris")
        let data = try await Self.collect(pool, query)
        let html = ReportRenderer.html(data)
        let engine = TallyEngine(database: pool, cache: .disabled)
        let dashboard = try await engine.dashboard()
        let revenue = try await engine.revenue(query)

        let revenueRows = try Self.table(html, id: "revenue")
        #expect(revenueRows.dropLast().map { $0[0] } == revenue.buckets.map(\.start))
        #expect(revenueRows.dropLast().map { Self.number($0[1]) } == revenue.buckets.map(\.count))
        #expect(revenueRows.dropLast().map { Self.number($0[2]) } == revenue.buckets.map { $0.amount.integer! })
        #expect(revenueRows.last.map { Self.number($0[2]) } == revenue.total.amount.integer)
        let statuses = try Self.table(html, id: "bookings-status")
        #expect(statuses.map { $0[0] } == dashboard.bookings.byStatus.keys)
        #expect(statuses.map { Self.number($0[1]) } == dashboard.bookings.byStatus.map(\.value))
        let roles = try Self.table(html, id: "users-role")
        #expect(roles.map { Self.number($0[1]) } == dashboard.users.byRole.map(\.value.total))
        #expect(html.contains("id=\"revenue\">\(ReportFormat.money(dashboard.payments.revenue))<"))
        #expect(html.contains("id=\"bookings-total\">\(ReportFormat.count(dashboard.bookings.total))<"))
        // Top organizations: by active modules, then id; equal to a plain SQL ranking.
        let top = try Self.table(html, id: "organizations")
        let expected = try pool.reader.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT o.id, COUNT(m.id) AS n FROM organizations o
                    LEFT JOIN modules m ON m.organizationId = o.id AND m.isActive = 1
                    GROUP BY o.id ORDER BY n DESC, o.id LIMIT 10
                    """)
        }
        #expect(top.map { $0[0] } == expected.map { $0[0] as String })
        #expect(top.map { Self.number($0[2]) } == expected.map { $0[1] as Int64 })
        // Self-contained: no script, stylesheet, font or image fetched from anywhere.
        #expect(!html.contains("NaN"))
        for external in ["<script", "<link", "src=", "href=", "@import", "url("] { #expect(!html.contains(external), "\(external)") }
        #expect(html.contains("x.sqlite") && html.contains("Tally t") && html.contains("2027-01-15T08:00:00Z"))
    }

    @Test("CSV and Markdown carry the same numbers")
    func csvAndMarkdown() async throws {
        let dir = try TemporaryDirectory()
        let pool = try generatedDatabase(in: dir, bookings: 1_000)
        let data = try await Self.collect(pool, try RevenueQuery(period: "year"))
        let files = ReportRenderer.csvFiles(data)
        #expect(Set(files.keys) == ["dashboard.csv", "revenue.csv", "payments.csv", "organizations.csv"])
        #expect(files["revenue.csv"]!.hasPrefix("start,count,amount_minor\n"))
        let revenue = files["revenue.csv"]!.split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        #expect(revenue.dropLast().map { Int64($0[2])! } == data.revenue.buckets.map { $0.amount.integer! })
        #expect(files["dashboard.csv"]!.contains("payments,,revenue_minor,\(data.dashboard.payments.revenue)\n"))
        let markdown = ReportRenderer.markdown(data)
        #expect(markdown.contains("| bookings | \(ReportFormat.count(data.dashboard.bookings.total)) |"))
    }

    @Test("the payments section: count and amount per status, the total and the refunded count, as plain SQL gives them, in every format")
    func payments() async throws {
        let dir = try TemporaryDirectory()
        let pool = try generatedDatabase(in: dir, bookings: 2_000)
        let data = try await Self.collect(pool, try RevenueQuery(period: "month"))
        let expected = try await pool.reader.read { db in
            try Row.fetchAll(db, sql: "SELECT status, COUNT(*), SUM(amount) FROM payments GROUP BY status ORDER BY status")
                .map { [$0[0] as String, "\($0[1] as Int64)", "\($0[2] as Int64)"] }
        }
        let totals = try pool.reader.read { db in try Row.fetchOne(db, sql: "SELECT COUNT(*), SUM(amount) FROM payments")! }
        let refunded: Int64 = try await pool.reader.read { db in
            try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM payments WHERE status = 'REFUNDED'")!
        }
        #expect(expected.count == 4 && refunded > 0)

        let html = ReportRenderer.html(data)
        let rows = try Self.table(html, id: "payments-status")
        #expect(rows.dropLast().map { [$0[0], "\(Self.number($0[1]))", "\(Self.number($0[2]))"] }.sorted { $0[0] < $1[0] } == expected)
        #expect(
            rows.last.map { [$0[0], "\(Self.number($0[1]))", "\(Self.number($0[2]))"] }
                == ["total", "\(totals[0] as Int64)", "\(totals[1] as Int64)"])
        #expect(html.contains("id=\"refunded-count\">\(ReportFormat.count(refunded))<"))
        #expect(html.contains("id=\"payments-total\">\(ReportFormat.count(totals[0] as Int64))<"))
        #expect(html.contains("<th>amount (major units)</th>"))

        let csv = try #require(ReportRenderer.csvFiles(data)["payments.csv"])
        let csvRows = csv.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        #expect(csvRows.first == ["status", "count", "amount_minor"])
        #expect(Array(csvRows.dropFirst().dropLast()).sorted { $0[0] < $1[0] } == expected)
        #expect(csvRows.last == ["total", "\(totals[0] as Int64)", "\(totals[1] as Int64)"])

        let markdown = ReportRenderer.markdown(data)
        #expect(markdown.contains("## Payments by status"))
        for row in expected {
            let amount = ReportFormat.money(.integer(Int64(row[2])!))
            #expect(markdown.contains("| \(row[0].replacingOccurrences(of: "_", with: "\\_")) | \(ReportFormat.count(Int64(row[1])!)) | \(amount) |"))
        }
    }

    @Test("the footer labels the revenue's range (requested or the data's) and the completed payments' range")
    func footerRanges() async throws {
        let dir = try TemporaryDirectory()
        let pool = try generatedDatabase(in: dir, bookings: 1_000)
        let (first, last) = try await pool.reader.read { db -> (Int64, Int64) in
            let row = try Row.fetchOne(db, sql: "SELECT MIN(createdAt), MAX(createdAt) FROM payments WHERE status = 'COMPLETED'")!
            return (row[0], row[1])
        }
        func iso(_ ms: Int64) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ms / 1_000))) }
        let own = try await Self.collect(pool, try RevenueQuery(period: "year"))
        let ownFooter = ReportRenderer.ranges(own)
        #expect(ownFooter.hasPrefix("Revenue range (the data's own): "))
        #expect(ownFooter.hasSuffix("completed payments in the data: \(iso(first)) to \(iso(last))"))
        let asked = try await Self.collect(pool, try RevenueQuery(period: "month", from: "2030-01-01", to: "2030-03-01"))
        let askedFooter = ReportRenderer.ranges(asked)
        #expect(askedFooter.hasPrefix("Revenue range (requested): 2030-01-01T00:00:00+00:00 to 2030-03-01T00:00:00+00:00"))
        #expect(askedFooter.contains("completed payments in the data: \(iso(first)) to \(iso(last))"))
        #expect(ReportRenderer.html(asked).contains(HTML.escape(askedFooter)))
        let empty = try await Self.collect(try generatedDatabase(in: dir, bookings: 0), try RevenueQuery(period: "month"))
        #expect(ReportRenderer.ranges(empty) == "Revenue range: no completed payments")
    }

    @Test("a stored name is text in every format: no markup, no formula, no broken row")
    func hostileNames() async throws {
        let dir = try TemporaryDirectory()
        let pool = try generatedDatabase(in: dir, bookings: 300)
        let names = [
            "<script>alert(1)</script>", "two\nlines | and a pipe", "=HYPERLINK(\"http://x\",\"y\")", "@SUM(A1)", "-2+3", "*bold* _i_ [l](u)",
        ]
        try await pool.writer!.write { db in
            for (i, name) in names.enumerated() {
                try db.execute(sql: "INSERT INTO organizations (id, name, createdAt) VALUES (?, ?, 0)", arguments: ["zz-\(i)", name])
                for k in 0..<(50 + i) {
                    try db.execute(
                        sql: "INSERT INTO modules (organizationId, key, isActive, createdAt) VALUES (?, ?, 1, 0)",
                        arguments: ["zz-\(i)", "k\(k)"])
                }
            }
        }
        let data = try await Self.collect(pool, try RevenueQuery(period: "year"))
        #expect(Set(data.topOrganizations.compactMap(\.name)).isSuperset(of: names))

        let markdown = ReportRenderer.markdown(data)
        #expect(!markdown.contains("<script>") && markdown.contains("&lt;script&gt;"))
        let table = markdown.components(separatedBy: "## Top organizations by active modules")[1]
        let rows = table.split(separator: "\n").filter { $0.hasPrefix("| zz-") }
        #expect(rows.count == names.count)
        // Every row has its three cells: no line break or unescaped pipe split one.
        for row in rows { #expect(row.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count == 4, "\(row)") }
        #expect(markdown.contains("two<br>lines \\| and a pipe") && markdown.contains("\\*bold\\* \\_i\\_ \\[l\\](u)"))

        let csv = try #require(ReportRenderer.csvFiles(data)["organizations.csv"])
        #expect(csv.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""))
        #expect(csv.contains(",'@SUM(A1),") && csv.contains(",'-2+3,"))
        #expect(csvField("-5") == "-5" && csvField("-0.5") == "-0.5" && csvField("+1") == "+1")
        #expect(csvField("\tx") == "'\tx" && csvField("\rx") == "\"'\rx\"")

        let html = ReportRenderer.html(data)
        #expect(!html.contains("<script") && html.contains("&lt;script&gt;"))
    }

    @Test("empty database, a single day and ten years all render readable charts")
    func edgeRanges() async throws {
        let dir = try TemporaryDirectory()
        let empty = try generatedDatabase(in: dir, bookings: 0)
        let html = ReportRenderer.html(try await Self.collect(empty, try RevenueQuery(period: "month")))
        #expect(html.contains("No data in this range"))
        #expect(!html.contains("NaN") && !html.contains("inf"))
        let pool = try generatedDatabase(in: dir, bookings: 2_000)
        let day = try RevenueQuery(period: "day", timeZone: "UTC", from: "2025-06-01", to: "2025-06-02")
        let one = ReportRenderer.html(try await Self.collect(pool, day))
        #expect(try Self.table(one, id: "revenue").count == 2)  // one bucket and the total
        #expect(!one.contains("NaN"))
        let decade = try RevenueQuery(period: "month", timeZone: "UTC", from: "2020-01-01", to: "2030-01-01")
        let long = ReportRenderer.html(try await Self.collect(pool, decade))
        #expect(try Self.table(long, id: "revenue").count == 121)
        // 120 bars, at most 12 axis labels: no overlap.
        let chart = long[long.range(of: "<svg")!.lowerBound..<long.range(of: "</svg>")!.upperBound]
        let labels = chart.components(separatedBy: "text-anchor=\"middle\" class=\"axis\"").count - 1
        #expect(labels >= 10 && labels <= 12)
        #expect(!long.contains("NaN"))
    }

    @Test("the same data and options give the same report, apart from its generation time")
    func deterministic() async throws {
        let dir = try TemporaryDirectory()
        let pool = try generatedDatabase(in: dir, bookings: 500)
        func render(_ now: Date) async throws -> String {
            ReportRenderer.html(try await Self.collect(pool, try RevenueQuery(period: "month"), name: "d", now: now))
        }
        let first = try await render(Self.fixedNow), second = try await render(Self.fixedNow)
        #expect(first == second)
        let other = try await render(Self.fixedNow.addingTimeInterval(3600))
        #expect(other != first)
        #expect(other.replacingOccurrences(of: "2027-01-15T09:00:00Z", with: "2027-01-15T08:00:00Z") == first)
    }

    @Test("writes are atomic: a failed write leaves nothing; CSV files replace their own names only")
    func atomicWrites() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: TallyError.self) { try AtomicWriter.write("x", to: dir.path("missing/r.html")) }
        #expect(!FileManager.default.fileExists(atPath: dir.path("missing")))
        try AtomicWriter.write("one", to: dir.path("r.html"))
        try AtomicWriter.write("two", to: dir.path("r.html"))
        #expect(try String(contentsOfFile: dir.path("r.html"), encoding: .utf8) == "two")
        try AtomicWriter.writeDirectory(["a.csv": "1", "b.csv": "2"], to: dir.path("csv"))
        // The user's own files in the directory (the database itself, notes) stay.
        try Data("keep".utf8).write(to: URL(fileURLWithPath: dir.path("csv/shop.sqlite")))
        try AtomicWriter.writeDirectory(["a.csv": "3"], to: dir.path("csv"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("csv")).sorted() == ["a.csv", "b.csv", "shop.sqlite"])
        #expect(try String(contentsOfFile: dir.path("csv/a.csv"), encoding: .utf8) == "3")
        #expect(try String(contentsOfFile: dir.path("csv/shop.sqlite"), encoding: .utf8) == "keep")
        // A directory given as its own path, or as a file that is not one.
        try AtomicWriter.writeDirectory(["c.csv": "4"], to: dir.path("csv/."))
        #expect(try String(contentsOfFile: dir.path("csv/c.csv"), encoding: .utf8) == "4")
        #expect(throws: TallyError.self) { try AtomicWriter.writeDirectory(["d.csv": "5"], to: dir.path("r.html")) }
        #expect(throws: TallyError.self) { try AtomicWriter.writeDirectory(["d.csv": "5"], to: dir.path("missing/csv")) }
        // A name taken by a directory: refused before any file changes.
        try FileManager.default.removeItem(atPath: dir.path("csv/b.csv"))
        try FileManager.default.createDirectory(atPath: dir.path("csv/b.csv"), withIntermediateDirectories: false)
        #expect(throws: TallyError.self) { try AtomicWriter.writeDirectory(["a.csv": "6", "b.csv": "7"], to: dir.path("csv")) }
        #expect(try String(contentsOfFile: dir.path("csv/a.csv"), encoding: .utf8) == "3")
        #expect(!FileManager.default.fileExists(atPath: dir.path("missing")))
        for directory in [dir.url.path, dir.path("csv")] {
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".") }
            #expect(leftovers.isEmpty)
        }
    }
}
