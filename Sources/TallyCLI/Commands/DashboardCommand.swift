import ArgumentParser
import Foundation
import TallyCore
import TallyReport

struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Print the dashboard: users, drivers, vehicles, bookings, payments, modules.",
        discussion: """
            Every number comes from one snapshot of the file, which is opened read-only. Money is in \
            minor units (cents) in JSON and CSV, in major units in the table. meta.strategy says what ran.

            Examples:
              tally dashboard --db shop.sqlite
              tally dashboard --db shop.sqlite --strategy grouped --format json
            """)

    @OptionGroup var database: DatabaseOption

    @Option(name: .long, help: "auto (default: rollups when enabled, else single-pass), rollup, single-pass, grouped or naive.")
    var strategy: Strategy = .auto

    @OptionGroup var reading: ReadingOptions
    @OptionGroup var output: FormatOption

    func run() async throws {
        let engine = try reading.engine(path: database.db)
        let dashboard: Dashboard
        do { dashboard = try await engine.dashboard(strategy: strategy) } catch { throw TallyError.wrapping(error, path: database.db) }
        switch output.resolved {
        case .json: try printJSON(dashboard)
        case .csv: print(dashboard.csv)
        case .table: print(DashboardRendering.table(dashboard))
        }
    }
}

enum DashboardRendering {
    static func table(_ d: Dashboard) -> String {
        var out: [String] = []
        var summary = TextTable(["section", "total", "detail"], rightAligned: [1])
        summary.add(["users", grouped(d.users.total), "\(grouped(d.users.active)) active"])
        let rating = d.drivers.averageRating.map { String(format: "%.2f", $0) } ?? "n/a"
        summary.add([
            "drivers", grouped(d.drivers.total),
            "\(grouped(d.drivers.available)) available, \(grouped(d.drivers.rated)) rated, average rating \(rating)",
        ])
        summary.add(["vehicles", grouped(d.vehicles.total), "\(grouped(d.vehicles.available)) available"])
        summary.add(["bookings", grouped(d.bookings.total), ""])
        summary.add([
            "payments", grouped(d.payments.total),
            "revenue \(money(d.payments.revenue)), refunded \(money(d.payments.refunded)) (major units)",
        ])
        summary.add(["modules", grouped(d.modules.total), "\(grouped(d.modules.active)) active in \(grouped(d.modules.organizations)) organizations"])
        summary.rows.removeAll { row in
            row[0] == "modules" ? d.isAbsent("modules") && d.isAbsent("organizations") : d.isAbsent(row[0])
        }
        out.append(summary.render())

        var groups = TextTable(["group", "key", "count", "detail"], rightAligned: [2])
        for e in d.users.byRole { groups.add(["users.byRole", e.key, grouped(e.value.total), "\(grouped(e.value.active)) active"]) }
        for e in d.vehicles.byType { groups.add(["vehicles.byType", e.key, grouped(e.value.total), "\(grouped(e.value.available)) available"]) }
        for e in d.bookings.byStatus { groups.add(["bookings.byStatus", e.key, grouped(e.value), ""]) }
        for e in d.bookings.byServiceType { groups.add(["bookings.byServiceType", e.key, grouped(e.value), ""]) }
        for e in d.payments.byStatus { groups.add(["payments.byStatus", e.key, grouped(e.value.count), "amount \(money(e.value.amount))"]) }
        groups.rows.removeAll { d.isAbsent(String($0[0].prefix { $0 != "." })) }
        out.append(groups.render())
        if let absent = d.meta.absent {
            out.append("absent from this database (schema map): \(absent.joined(separator: ", "))")
        }
        out.append(
            "strategy \(d.meta.strategy ?? "-"), cache \(d.meta.cache), \(d.meta.statements) SQL statements, "
                + "\(d.meta.durationMs) ms, computed at \(d.meta.computedAt ?? "-")")
        return out.joined(separator: "\n\n")
    }
}
