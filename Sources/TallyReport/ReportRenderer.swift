import Foundation
public import TallyCore

/// Renders a `ReportData` as one self-contained HTML page, as Markdown, or
/// as CSV files. Each chart comes with its numbers in a table (what a screen
/// reader, a spreadsheet and the tests read).
public enum ReportRenderer {
    // MARK: - HTML

    public static func html(_ data: ReportData) -> String {
        let d = data.dashboard, r = data.revenue
        var body = ""
        body +=
            "<header><h1>Tally report</h1><p class=\"sub\">\(HTML.escape(data.databaseName)) · revenue per \(r.period) in \(HTML.escape(r.timeZone))</p></header>\n"
        if let note = absentNote(d) { body += "<p class=\"sub\" id=\"absent\">\(HTML.escape(note))</p>\n" }
        body += "<section class=\"cards\">"
        for (label, value, id) in headline(d) {
            body += "<div class=\"card\"><div class=\"label\">\(label)</div><div class=\"value\" id=\"\(id)\">\(HTML.escape(value))</div></div>"
        }
        body += "</section>\n"

        let bars = r.buckets.map { SVGBarChart.Bar(label: ReportFormat.bucketLabel($0.start, period: r.period), value: $0.amount.double / 100) }
        body += "<section><h2>Revenue per \(r.period)</h2>"
        body += SVGBarChart(bars: bars, title: "Revenue per \(r.period)", valueFormat: { ReportFormat.money(.real($0 * 100)) }).render()
        body += table(
            id: "revenue", headers: ["start", "payments", "amount (major units)"],
            rows: r.buckets.map {
                [$0.start, ReportFormat.count($0.count), ReportFormat.money($0.amount)]
            } + [["total", ReportFormat.count(r.total.count), ReportFormat.money(r.total.amount)]], collapsed: true)
        body += "</section>\n"

        body += "<section><h2>Payments by status</h2><div class=\"grid2\"><div>"
        body += SVGHorizontalBars(items: d.payments.byStatus.map { (label: $0.key, value: $0.value.count) }).render()
        body += "</div><div>"
        body += table(
            id: "payments-status", headers: ["status", "payments", "amount (major units)"],
            rows: paymentRows(d), collapsed: false)
        body += "</div></div></section>\n"

        body += "<section class=\"grid2\">"
        for (title, id, items) in breakdowns(d) { body += panel(title, id: id, items) }
        body += "</section>\n"

        body += "<section><h2>Top organizations by active modules</h2>"
        body += table(
            id: "organizations", headers: ["organization", "name", "active modules"],
            rows: data.topOrganizations.map { [$0.id, $0.name ?? "", ReportFormat.count($0.activeModules)] }, collapsed: false)
        body += "</section>\n"

        body +=
            "<footer>\(HTML.escape(ranges(data))) · generated \(HTML.escape(data.generatedAt)) · database \(HTML.escape(data.databaseName)) · Tally \(HTML.escape(data.tallyVersion))</footer>"
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Tally report: \(HTML.escape(data.databaseName))</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#1d2430;background:#fff}
            h1{margin:0 0 4px;font-size:26px}h2{font-size:17px;margin:28px 0 8px}.sub{color:#5b6575;margin:0}
            .cards{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin-top:20px}
            .card{border:1px solid #dde3ea;border-radius:8px;padding:10px 12px}.label{color:#5b6575;font-size:12px}.value{font-size:20px;font-weight:600;margin-top:4px}
            .grid2{display:grid;grid-template-columns:1fr 1fr;gap:8px 24px}
            svg{width:100%;height:auto}.bar{fill:#3b7dd8}.grid{stroke:#e6eaef}.baseline{stroke:#8a94a3}.axis{font-size:11px;fill:#5b6575}.note{font-size:14px;fill:#8a94a3}
            table{border-collapse:collapse;font-size:13px;margin-top:6px}td,th{padding:3px 10px;border-bottom:1px solid #eef1f4;text-align:right}td:first-child,th:first-child{text-align:left}
            #organizations td:nth-child(2),#organizations th:nth-child(2){text-align:left}details summary{cursor:pointer;color:#5b6575;font-size:13px}footer{margin-top:32px;color:#8a94a3;font-size:12px}
            </style></head><body>
            \(body)
            </body></html>

            """
    }

    /// The headline numbers, in the order both HTML cards and Markdown show them: label, value, HTML id.
    private static func headline(_ d: Dashboard) -> [(label: String, value: String, id: String)] {
        [
            ("Users", ReportFormat.count(d.users.total), "users-total"),
            ("Active users", ReportFormat.count(d.users.active), "users-active"),
            ("Bookings", ReportFormat.count(d.bookings.total), "bookings-total"),
            ("Payments", ReportFormat.count(d.payments.total), "payments-total"),
            ("Revenue (major units)", ReportFormat.money(d.payments.revenue), "revenue"),
            ("Refunded (major units)", ReportFormat.money(d.payments.refunded), "refunded"),
            ("Refunded payments", ReportFormat.count(d.payments.byStatus["REFUNDED"]?.count ?? 0), "refunded-count"),
            ("Drivers available", "\(ReportFormat.count(d.drivers.available)) / \(ReportFormat.count(d.drivers.total))", "drivers"),
            ("Vehicles available", "\(ReportFormat.count(d.vehicles.available)) / \(ReportFormat.count(d.vehicles.total))", "vehicles"),
            ("Average rating", d.drivers.averageRating.map { String(format: "%.2f", $0) } ?? "–", "rating"),
        ].filter { !d.isAbsent(table(ofHeadline: $0.2)) }
    }

    /// The table a headline number comes from (absent ones are left out).
    private static func table(ofHeadline id: String) -> String {
        switch id {
        case "users-total", "users-active": "users"
        case "bookings-total": "bookings"
        case "drivers", "rating": "drivers"
        case "vehicles": "vehicles"
        default: "payments"
        }
    }

    /// What an app's database lacks, as one sentence, or nil.
    private static func absentNote(_ d: Dashboard) -> String? {
        d.meta.absent.map { "Absent from this database (schema map): \($0.joined(separator: ", "))." }
    }

    /// Count and amount per payment status, then the total: what the HTML and
    /// Markdown tables show.
    private static func paymentRows(_ d: Dashboard) -> [[String]] {
        d.payments.byStatus.map { [$0.key, ReportFormat.count($0.value.count), ReportFormat.money($0.value.amount)] }
            + [["total", ReportFormat.count(d.payments.total), totalAmount(d).map(ReportFormat.money) ?? "–"]]
    }

    /// The sum of every status's amount, added as SQL's `SUM` would; nil
    /// where SQL reports an overflow (shown as "–", never a wrong number).
    static func totalAmount(_ d: Dashboard) -> Amount? {
        try? d.payments.byStatus.reduce(Amount.integer(0)) { sum, entry in try sum.adding(entry.value.amount, column: "amount") }
    }

    /// The footer's ranges, each labelled: the revenue's (asked for, or the
    /// data's own) and the completed payments' (what the data holds).
    static func ranges(_ data: ReportData) -> String {
        let r = data.revenue
        var parts: [String] = []
        if let from = r.from, let to = r.to {
            let origin =
                switch (data.fromRequested, data.toRequested) {
                case (true, true): "requested"
                case (false, false): "the data's own"
                case (true, false): "from requested, to the data's"
                case (false, true): "from the data's, to requested"
                }
            parts.append("Revenue range (\(origin)): \(from) to \(to)")
        } else {
            parts.append("Revenue range: no completed payments")
        }
        if let first = data.firstCompletedPayment, let last = data.lastCompletedPayment {
            parts.append("completed payments in the data: \(first) to \(last)")
        }
        return parts.joined(separator: " · ")
    }

    /// The per-key breakdowns both formats show: title, HTML id, (key, count).
    private static func breakdowns(_ d: Dashboard) -> [(title: String, id: String, items: [(String, Int64)])] {
        [
            ("Bookings by status", "bookings-status", d.bookings.byStatus.map { ($0.key, $0.value) }),
            ("Bookings by service type", "bookings-service", d.bookings.byServiceType.map { ($0.key, $0.value) }),
            ("Users by role", "users-role", d.users.byRole.map { ($0.key, $0.value.total) }),
            ("Vehicles by type", "vehicles-type", d.vehicles.byType.map { ($0.key, $0.value.total) }),
        ]
    }

    private static func panel(_ title: String, id: String, _ items: [(String, Int64)]) -> String {
        "<div><h2>\(title)</h2>" + SVGHorizontalBars(items: items.map { (label: $0.0, value: $0.1) }).render()
            + table(id: id, headers: ["key", "count"], rows: items.map { [$0.0, ReportFormat.count($0.1)] }, collapsed: true) + "</div>"
    }

    private static func table(id: String, headers: [String], rows: [[String]], collapsed: Bool) -> String {
        var t = "<table class=\"data\" id=\"\(id)\"><thead><tr>" + headers.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for row in rows { t += "<tr>" + row.map { "<td>\(HTML.escape($0))</td>" }.joined() + "</tr>" }
        t += "</tbody></table>"
        return collapsed ? "<details><summary>numbers</summary>\(t)</details>" : t
    }

    // MARK: - Markdown

    public static func markdown(_ data: ReportData) -> String {
        let d = data.dashboard, r = data.revenue
        func row(_ cells: [String]) -> String { "| " + cells.map(MarkdownText.escape).joined(separator: " | ") + " |" }
        var lines = ["# Tally report: \(MarkdownText.escape(data.databaseName))", ""]
        if let note = absentNote(d) { lines += [MarkdownText.escape(note), ""] }
        lines += ["| metric | value |", "|---|---:|"]
        lines += headline(d).map { row([$0.label.lowercased(), $0.value]) }
        lines += [
            "", "## Revenue per \(r.period) (\(MarkdownText.escape(r.timeZone)))", "",
            "| start | payments | amount (major units) |", "|---|---:|---:|",
        ]
        lines += r.buckets.map { row([$0.start, ReportFormat.count($0.count), ReportFormat.money($0.amount)]) }
        lines.append(row(["total", ReportFormat.count(r.total.count), ReportFormat.money(r.total.amount)]))
        lines += ["", "## Payments by status", "", "| status | payments | amount (major units) |", "|---|---:|---:|"]
        lines += paymentRows(d).map(row)
        for (title, _, items) in breakdowns(d) {
            lines += ["", "## \(title)", "", "| key | count |", "|---|---:|"] + items.map { row([$0.0, ReportFormat.count($0.1)]) }
        }
        lines += ["", "## Top organizations by active modules", "", "| organization | name | active modules |", "|---|---|---:|"]
        lines += data.topOrganizations.map { row([$0.id, $0.name ?? "", ReportFormat.count($0.activeModules)]) }
        lines += [
            "", MarkdownText.escape("\(ranges(data)) · generated \(data.generatedAt) · database \(data.databaseName) · Tally \(data.tallyVersion)"),
            "",
        ]
        return lines.joined(separator: "\n")
    }

    // MARK: - CSV

    /// File name → contents: `dashboard.csv`, `revenue.csv`, `payments.csv`,
    /// `organizations.csv`. Amounts are in minor units (`amount_minor`), as in
    /// the JSON answers.
    public static func csvFiles(_ data: ReportData) -> [String: String] {
        let r = data.revenue, d = data.dashboard
        var revenue = ["start,count,amount_minor"] + r.buckets.map { "\($0.start),\($0.count),\($0.amount)" }
        revenue.append("total,\(r.total.count),\(r.total.amount)")
        let payments =
            ["status,count,amount_minor"]
            + d.payments.byStatus.map { [$0.key, "\($0.value.count)", "\($0.value.amount)"].map(csvField).joined(separator: ",") }
            + ["total,\(d.payments.total),\(totalAmount(d).map { "\($0)" } ?? "")"]
        let organizations =
            ["id,name,activeModules"]
            + data.topOrganizations.map {
                [$0.id, $0.name ?? "", "\($0.activeModules)"].map(csvField).joined(separator: ",")
            }
        return [
            "dashboard.csv": data.dashboard.csv + "\n",
            "revenue.csv": revenue.joined(separator: "\n") + "\n",
            "payments.csv": payments.joined(separator: "\n") + "\n",
            "organizations.csv": organizations.joined(separator: "\n") + "\n",
        ]
    }
}

extension Dashboard {
    /// `section,key,metric,value`: one number per line, for spreadsheets.
    public var csv: String {
        let d = self
        var lines = ["section,key,metric,value"]
        func add(_ section: String, _ key: String, _ metric: String, _ value: String) {
            lines.append([section, key, metric, value].map(csvField).joined(separator: ","))
        }
        add("users", "", "total", "\(d.users.total)"); add("users", "", "active", "\(d.users.active)")
        for e in d.users.byRole { add("users.byRole", e.key, "total", "\(e.value.total)"); add("users.byRole", e.key, "active", "\(e.value.active)") }
        add("drivers", "", "total", "\(d.drivers.total)"); add("drivers", "", "available", "\(d.drivers.available)")
        add("drivers", "", "rated", "\(d.drivers.rated)"); add("drivers", "", "averageRating", d.drivers.averageRating.map { "\($0)" } ?? "")
        add("vehicles", "", "total", "\(d.vehicles.total)"); add("vehicles", "", "available", "\(d.vehicles.available)")
        for e in d.vehicles.byType {
            add("vehicles.byType", e.key, "total", "\(e.value.total)"); add("vehicles.byType", e.key, "available", "\(e.value.available)")
        }
        add("bookings", "", "total", "\(d.bookings.total)")
        for e in d.bookings.byStatus { add("bookings.byStatus", e.key, "count", "\(e.value)") }
        for e in d.bookings.byServiceType { add("bookings.byServiceType", e.key, "count", "\(e.value)") }
        add("payments", "", "total", "\(d.payments.total)"); add("payments", "", "revenue_minor", "\(d.payments.revenue)")
        add("payments", "", "refunded_minor", "\(d.payments.refunded)")
        for e in d.payments.byStatus {
            add("payments.byStatus", e.key, "count", "\(e.value.count)"); add("payments.byStatus", e.key, "amount_minor", "\(e.value.amount)")
        }
        add("modules", "", "total", "\(d.modules.total)"); add("modules", "", "active", "\(d.modules.active)")
        add("modules", "", "organizations", "\(d.modules.organizations)")
        // Sections of tables the database lacks are left out, and said so.
        lines = lines.enumerated().filter { index, line in
            let section = line.prefix { $0 != "," && $0 != "." }
            return index == 0 || !(section == "modules" ? isAbsent("modules") && isAbsent("organizations") : isAbsent(String(section)))
        }.map(\.element)
        if let absent = d.meta.absent { add("meta", "", "absent", absent.joined(separator: " ")) }
        return lines.joined(separator: "\n")
    }
}
