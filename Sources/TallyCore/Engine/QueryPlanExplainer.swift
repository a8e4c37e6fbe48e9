import Foundation
public import GRDB

/// One SQL statement the engine runs, with SQLite's `EXPLAIN QUERY PLAN`
/// summarised: which indexes it uses, whether they cover the query, and
/// whether a temp B-tree (a sort) is built.
public struct ExplainedStatement: Codable, Sendable, Equatable {
    /// `single-pass`, `grouped`, `naive`, `batched`, `per-org`.
    public var strategy: String
    /// What the statement computes (a stat's name).
    public var purpose: String
    public var sql: String
    /// The plan's lines, indented by depth.
    public var plan: [String]
    /// Indexes named in the plan.
    public var indexes: [String]
    /// True when every index used is a covering index.
    public var covering: Bool
    /// True when the plan builds a temp B-tree (`USE TEMP B-TREE FOR …`).
    public var tempBTree: Bool
    /// Tables read by a full scan without an index.
    public var fullScans: [String]
}

/// `tally explain`: the plan of every statement each strategy would run.
public enum QueryPlanExplainer {
    ///
    /// - parameters:
    ///   - db: a connection inside a read transaction.
    ///   - database: the database `db` belongs to, whose schema map (if
    ///     any) decides which rollup triggers are current.
    public static func explainAll(in db: Database, of database: TallyDatabase? = nil) throws -> [ExplainedStatement] {
        let mapping = database?.mapping
        var result: [ExplainedStatement] = []
        // Revenue per month of a fixed year: the plans do not depend on the data's range.
        let grid = try PeriodGrid(period: .month, zone: .utc, from: 1_704_067_200_000, to: 1_735_689_600_000)
        let stats = Dashboard.stats + [RevenueQuery.stat(grid: grid)]

        // A table an app's database lacks is read by no strategy: its
        // statements are listed as such, not as scans of an empty view.
        func absentTable(_ table: String, strategy: String, purpose: String) -> ExplainedStatement? {
            notRun(table, mapping: mapping, strategy: strategy, purpose: purpose)
        }

        for scan in SinglePassScanner.plan(stats, mapping: mapping) {
            let purpose = scan.stats.map(\.name).joined(separator: ", ")
            if let absent = absentTable(scan.stats[0].table, strategy: "single-pass", purpose: purpose) {
                result.append(absent)
                continue
            }
            result.append(
                try explain(
                    scan.sql(), arguments: StatementArguments(scan.conditions.arguments), strategy: "single-pass",
                    purpose: purpose, in: db))
            for sql in scan.rowValueStatements {
                result.append(try explain(sql, arguments: [0], strategy: "single-pass", purpose: Self.rowValuePurpose, in: db))
            }
        }
        try StatSQL.withBucketFunctions(stats, in: db) {
            for (stat, statement) in zip(stats, GroupedStrategy.statements(stats)) {
                result.append(
                    try absentTable(stat.table, strategy: "grouped", purpose: stat.name)
                        ?? explain(statement.sql, arguments: statement.arguments, strategy: "grouped", purpose: stat.name, in: db))
            }
            for (stat, statement) in zip(stats, NaiveStrategy.statements(stats)) {
                let purpose = stat.name + " (once per value)"
                result.append(
                    try absentTable(stat.table, strategy: "naive", purpose: purpose)
                        ?? explain(statement.sql, arguments: statement.arguments, strategy: "naive", purpose: purpose, in: db))
            }
        }
        let modules = ModuleCounts.stat()
        let pageIDs = ModuleCounts.stat(ids: [.text("org-1"), .text("org-2")])
        result += try explainRollups(stats + [modules], in: db, mapping: mapping)
        result += try explainRollups([pageIDs], in: db, note: " (a page of organizations)", mapping: mapping)
        // Module counts read modules and list organizations: not run when either is absent.
        func moduleCounts(
            _ statement: (sql: String, arguments: StatementArguments), strategy: String, purpose: String
        ) throws
            -> ExplainedStatement
        {
            try absentTable("modules", strategy: strategy, purpose: purpose)
                ?? absentTable("organizations", strategy: strategy, purpose: purpose)
                ?? explain(statement, strategy: strategy, purpose: purpose, in: db)
        }
        result.append(try moduleCounts(GroupedStrategy.statements([modules])[0], strategy: "batched", purpose: modules.name))
        result.append(
            try moduleCounts(
                GroupedStrategy.statements([pageIDs])[0], strategy: "batched", purpose: modules.name + " (a page of organizations)"))
        result.append(
            try moduleCounts(
                NaiveStrategy.statements([pageIDs])[0], strategy: "per-org", purpose: modules.name + " (once per organization)"))
        for status in [nil, "PENDING"] as [String?] {
            for (phase, cursor) in [
                (0, nil), (0, PageCursor(phase: 0, sortValue: .integer(0), tiebreak: .integer(0))),
                (1, PageCursor(phase: 1, sortValue: .null, tiebreak: .integer(0))),
            ] as [(Int, PageCursor?)] {
                let (sql, arguments) = BookingsPage.pager(status: status).sql(phase: phase, after: cursor)
                let purpose =
                    "/api/bookings page" + (status == nil ? "" : " with status") + (cursor == nil ? "" : " after a cursor")
                    + (phase == 1 ? " (rows without createdAt)" : "")
                result.append(
                    try absentTable("bookings", strategy: "keyset", purpose: purpose)
                        ?? explain(
                            sql, arguments: StatementArguments(arguments + [51.databaseValue]), strategy: "keyset",
                            purpose: purpose, in: db))
            }
        }
        let (sql, arguments) = OrganizationsPage.pager.sql(phase: 1, after: PageCursor(phase: 1, sortValue: .text("org"), tiebreak: .integer(0)))
        let purpose = "/api/organizations page after a cursor"
        result.append(
            try absentTable("organizations", strategy: "keyset", purpose: purpose)
                ?? explain(sql, arguments: StatementArguments(arguments + [51.databaseValue]), strategy: "keyset", purpose: purpose, in: db))
        return result
    }

    /// What `rollup` reads for each stat: the rollup table's `SELECT`, and
    /// for a stat with periods the index range read that completes a cut
    /// 15-minute bucket; or, for a stat no intact rollup serves, why it
    /// keeps the scan (no SQL).
    static func explainRollups(
        _ stats: [Stat], in db: Database, note: String = "", mapping: MappedSchema? = nil
    ) throws -> [ExplainedStatement] {
        let catalog = try RollupCatalog.load(db, mapping: mapping)
        var result: [ExplainedStatement] = []
        for stat in stats {
            if let absent = notRun(stat.table, mapping: mapping, strategy: "rollup", purpose: stat.name) {
                result.append(absent)
                continue
            }
            guard let r = catalog.rollup(for: stat) else {
                let reason = catalog.whyNotServed(stat) ?? "no rollup"
                result.append(
                    ExplainedStatement(
                        strategy: "rollup", purpose: "\(stat.name): keeps the scan", sql: "", plan: [reason],
                        indexes: [], covering: false, tempBTree: false, fullScans: []))
                continue
            }
            let read = try RollupStrategy.read(stat, from: r, in: db, mapping: mapping)
            result.append(
                try explain(
                    read.sql, arguments: StatementArguments(read.arguments), strategy: "rollup",
                    purpose: "\(stat.name)\(note) from \(r.tableName)", in: db))
            if let bucket = stat.bucket {
                let (sql, arguments) = RollupStrategy.baseRowsStatement(stat, column: bucket.column, ranges: [(0, 1)], sums: read.needed)
                result.append(
                    try explain(
                        sql, arguments: StatementArguments(arguments), strategy: "rollup",
                        purpose: "\(stat.name): a 15-minute bucket cut by a period boundary, from base rows", in: db))
            }
        }
        return result
    }

    /// What a single-pass row read is for: through a schema map, a stored
    /// value the scan does not convert in Swift is read by rowid.
    static let rowValuePurpose =
        "one row's converted value, read only for a stored value the scan does not convert in Swift "
        + "(text, a blob, a number past the exact range)"

    /// The entry of a statement over a table an app's database lacks (none
    /// runs), or nil when the table is there.
    static func notRun(_ table: String, mapping: MappedSchema?, strategy: String, purpose: String) -> ExplainedStatement? {
        guard mapping?.absent.contains(table) == true else { return nil }
        return ExplainedStatement(
            strategy: strategy, purpose: purpose, sql: "",
            plan: ["not run: the app's database has no \(table) table (schema map), so its part of the answer is left out"],
            indexes: [], covering: false, tempBTree: false, fullScans: [])
    }

    private static func explain(
        _ statement: (sql: String, arguments: StatementArguments), strategy: String, purpose: String,
        in db: Database
    ) throws -> ExplainedStatement {
        try explain(statement.sql, arguments: statement.arguments, strategy: strategy, purpose: purpose, in: db)
    }

    /// The plans of the statements one strategy runs for `stats`.
    public static func explain(
        _ stats: [Stat], strategy: Strategy, in db: Database, of database: TallyDatabase? = nil
    ) throws -> [ExplainedStatement] {
        if strategy == .rollup { return try explainRollups(stats, in: db, mapping: database?.mapping) }
        return try StatSQL.withBucketFunctions(stats, in: db) {
            let statements: [(sql: String, arguments: StatementArguments)]
            switch strategy {
            case .auto, .singlePass, .rollup:
                statements = SinglePassScanner.plan(stats, mapping: database?.mapping).flatMap { scan in
                    [(scan.sql(), StatementArguments(scan.conditions.arguments))] + scan.rowValueStatements.map { ($0, [0]) }
                }
            case .grouped: statements = GroupedStrategy.statements(stats)
            case .naive: statements = NaiveStrategy.statements(stats)
            }
            return try statements.map { try explain($0.sql, arguments: $0.arguments, strategy: strategy.rawValue, purpose: "", in: db) }
        }
    }

    public static func explain(
        _ sql: String, arguments: StatementArguments, strategy: String, purpose: String,
        in db: Database
    ) throws -> ExplainedStatement {
        let rows = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments)
        var depth: [Int: Int] = [:]
        var plan: [String] = []
        var indexes: [String] = []
        var covering = true, tempBTree = false
        var fullScans: [String] = []
        for row in rows {
            let id: Int = row["id"], parent: Int = row["parent"]
            let detail: String = row["detail"]
            let level = (depth[parent] ?? -1) + 1
            depth[id] = level
            plan.append(String(repeating: "  ", count: level) + detail)
            if detail.contains("USE TEMP B-TREE") { tempBTree = true }
            if let range = detail.range(of: "USING COVERING INDEX ") {
                indexes.append(String(detail[range.upperBound...].prefix { $0 != " " }))
            } else if let range = detail.range(of: "USING INDEX ") {
                indexes.append(String(detail[range.upperBound...].prefix { $0 != " " }))
                covering = false
            } else if detail.hasPrefix("SCAN "), !detail.contains("USING"), !detail.contains("CONSTANT ROW") {
                let table = detail.dropFirst(5).prefix { $0 != " " }
                fullScans.append(String(table))
            }
        }
        return ExplainedStatement(
            strategy: strategy, purpose: purpose, sql: sql, plan: plan,
            indexes: indexes, covering: !indexes.isEmpty && covering,
            tempBTree: tempBTree, fullScans: fullScans)
    }
}
