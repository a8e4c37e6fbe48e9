import ArgumentParser
import Foundation
import TallyCore
import TallyReport

struct RollupsCommand: AsyncParsableCommand {
    enum Action: String, ExpressibleByArgument, CaseIterable {
        case enable, disable, status, verify
    }

    static let configuration = CommandConfiguration(
        commandName: "rollups",
        abstract: "Enable, remove, list or verify the exact rollups kept by triggers.",
        discussion: """
            A rollup keeps a stat's aggregates per group (and per 15 minutes UTC) in a small table of the \
            same file, updated by triggers inside every writer's own transaction (your app, Python, the \
            sqlite3 shell): a fresh answer then costs O(groups), not O(rows). The same triggers keep a \
            change counter per table, which cache keys and HTTP ETags use across processes.

              enable   create tables, counters and triggers and fill them with one
                       scan per table, in one transaction; running it again rebuilds
                       them (the file must be writable)
              disable  remove all of it
              status   each rollup, its rows, and whether it is intact (exit 1 if
                       any is not)
              verify   recompute every rollup from the base rows in one snapshot;
                       print the differences (exit 1 on any)

            Examples:
              tally rollups enable --db shop.sqlite
              tally rollups verify --db shop.sqlite
              # triggers on the app's own tables:
              tally rollups enable --db app.sqlite --schema-map app.map.json
            """)

    @Argument(help: "enable, disable, status or verify.")
    var action: Action

    @OptionGroup var database: DatabaseOption
    @OptionGroup var map: SchemaMapOption
    @OptionGroup var output: FormatOption

    func run() async throws {
        switch action {
        case .enable, .disable:
            let db =
                try map.load().map { try TallyDatabase.openForWriting(path: database.db, schemaMap: $0) }
                ?? TallyDatabase.openForWriting(path: database.db)
            let started = ContinuousClock.now
            do {
                if action == .enable { try Rollups.enable(on: db) } else { try Rollups.disable(on: db) }
                let report = try await Rollups.status(of: db)
                try db.close()
                let seconds = (ContinuousClock.now - started) / .seconds(1)
                try show(
                    report,
                    note: action == .enable
                        ? "enabled \(report.rollups.count) rollups in \(String(format: "%.2f", seconds)) s"
                        : "rollups removed")
            } catch {
                try? db.close()
                throw TallyError.wrapping(error, path: database.db)
            }
        case .status:
            let db = try map.openReadOnly(path: database.db)
            let report: Rollups.Report
            do { report = try await Rollups.status(of: db) } catch { throw TallyError.wrapping(error, path: database.db) }
            try show(report, note: report.enabled ? nil : "rollups are not enabled (run `tally rollups enable --db \(database.db)`)")
            if report.enabled, !report.allIntact {
                let broken = report.rollups.filter { !$0.isIntactOrAbsent }
                throw TallyError(
                    .state, "\(broken.count) rollup(s) not intact: " + (broken.first.map { "\($0.name): \($0.state)" } ?? "counters missing"))
            }
        case .verify:
            let db = try map.openReadOnly(path: database.db)
            let differences: [String]
            do { differences = try await Rollups.verify(db) } catch { throw TallyError.wrapping(error, path: database.db) }
            switch output.resolved {
            case .json: try printJSON(["differences": differences])
            case .csv:
                print("difference")
                for line in differences { print(csvField(line)) }
            case .table:
                for line in differences { print(line) }
                print(differences.isEmpty ? "every rollup equals its base rows" : "\(differences.count) difference(s)")
            }
            if !differences.isEmpty {
                throw TallyError(.state, "\(differences.count) difference(s) between rollups and base rows: \(differences[0])")
            }
        }
    }

    func show(_ report: Rollups.Report, note: String?) throws {
        switch output.resolved {
        case .json: try printJSON(report)
        case .csv:
            print("name,table,groupBy,bucket,sums,filters,rows,state")
            for r in report.rollups {
                print(
                    [
                        r.name, r.table, r.groupBy.joined(separator: " "), r.bucket ?? "", r.sums.joined(separator: " "),
                        r.filters.joined(separator: " AND "), "\(r.rows)", r.state,
                    ].map(csvField).joined(separator: ","))
            }
        case .table:
            var table = TextTable(["rollup", "table", "groups", "bucket", "sums", "rows", "state"], rightAligned: [5])
            for r in report.rollups {
                table.add([
                    r.name,
                    r.table + (r.appTable.flatMap { $0 == r.table ? nil : " (\"\($0)\")" } ?? "")
                        + (r.filters.isEmpty ? "" : " where " + r.filters.joined(separator: " and ")),
                    r.groupBy.joined(separator: ", "), r.bucket.map { "\($0) (15 min)" } ?? "", r.sums.joined(separator: ", "),
                    grouped(Int64(r.rows)), r.state,
                ])
            }
            if !report.rollups.isEmpty { print(table.render()) }
            if let note { print(note) }
        }
    }
}
