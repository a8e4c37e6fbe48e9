import Foundation

/// A rollup: the aggregates of one table per group (and per 15-minute UTC
/// bucket of a timestamp), kept in a small table of the same file by
/// triggers, so that an answer costs O(groups) instead of O(rows).
///
/// A rollup is generated from what a `Stat` asks: its equality filters, its
/// group-by columns, its bucket column, and the columns it counts, sums or
/// averages. `min` and `max` cannot be kept under deletes (removing the
/// minimum needs the next one): a stat asking for them keeps the scan.
///
/// For example, your own stat gets its own rollup:
///
/// ```swift
/// let stat = Stat(name: "bookings.priceByServiceType", table: "bookings",
///                 groupBy: ["serviceType"], aggregates: [.count, .sum("price")])
/// try Rollups.enable(on: database, definitions: Rollups.standard + [try RollupDefinition(stat)])
/// let answer = try await engine.run([stat])   // read from the rollup
/// ```
public struct RollupDefinition: Sendable, Hashable, Codable {
    /// The rollup's name: `tally_rollup_<name>` is its table.
    public let name: String
    public let table: String
    /// Equality filters (`column = value`) every row of the rollup passed.
    public let filters: [FixedFilter]
    /// The group-by columns, kept as stored values.
    public let groupBy: [String]
    /// A timestamp column bucketed by 15 minutes UTC, or nil.
    public let bucketColumn: String?
    /// Columns whose non-NULL count, exact sum and real sum are kept (what
    /// `countNonNull`, `sum` and `avg` need).
    public let sums: [String]

    /// An equality filter with a constant: a text or an integer.
    public struct FixedFilter: Sendable, Hashable, Codable {
        public let column: String
        public let text: String?
        public let integer: Int64?

        public init(column: String, value: String) {
            self.column = column
            text = value
            integer = nil
        }

        public init(column: String, value: Int64) {
            self.column = column
            text = nil
            integer = value
        }

        var value: StatValue { text.map(StatValue.text) ?? .integer(integer ?? 0) }

        /// The constant as an SQL literal (a text quoted, quotes doubled).
        var literal: String {
            if let text { return text.sqlLiteral }
            return String(integer ?? 0)
        }
    }

    /// The width of a time bucket: 15 minutes. Every current tz database
    /// offset is a multiple of it, so from 2010-11-07 on every zone's days,
    /// weeks and months start on a bucket boundary.
    public static let bucketMilliseconds: Int64 = 900_000

    public init(
        name: String, table: String, filters: [FixedFilter] = [], groupBy: [String] = [],
        bucketColumn: String? = nil, sums: [String] = []
    ) throws {
        self.name = name
        self.table = table
        self.filters = filters
        self.groupBy = groupBy
        self.bucketColumn = bucketColumn
        self.sums = sums
        try validate()
    }

    /// The rollup that serves `stat` exactly.
    ///
    /// - throws: when the stat has a `min` or `max` (not maintainable under
    ///   deletes), a filter with several values or a non-text value, or names
    ///   outside the contract.
    public init(_ stat: Stat) throws {
        try stat.validate()
        var filters: [FixedFilter] = []
        for filter in stat.filters {
            switch filter.values.count == 1 ? filter.values[0] : .null {
            case .text(let value): filters.append(FixedFilter(column: filter.column, value: value))
            case .integer(let value): filters.append(FixedFilter(column: filter.column, value: value))
            default:
                throw TallyError.invalid(
                    "stat \(stat.name): a rollup keeps equality filters on a text or an integer; "
                        + "group by \(filter.column) instead, and the rollup serves any of its values")
            }
        }
        var sums: [String] = []
        for aggregate in stat.aggregates {
            guard aggregate.isIncremental else {
                throw TallyError.invalid("stat \(stat.name): \(aggregate) cannot be kept by triggers under deletes; this stat keeps the scan")
            }
            if let column = aggregate.column, !sums.contains(column) { sums.append(column) }
        }
        let name = stat.name.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
        try self.init(
            name: name, table: stat.table, filters: filters, groupBy: stat.groupBy,
            bucketColumn: stat.bucket?.column, sums: sums)
    }

    func validate() throws {
        guard !name.isEmpty, name.utf8.count <= 60, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw TallyError.invalid("rollup name '\(name.quotedForMessage())' must be 1 to 60 ASCII letters, digits or underscores")
        }
        guard let schema = TallySchema.tables.first(where: { $0.name == table }) else {
            throw TallyError.invalid("rollup \(name): unknown table \(table)")
        }
        for column in filters.map(\.column) + groupBy + sums + (bucketColumn.map { [$0] } ?? []) where !schema.columns.contains(column) {
            throw TallyError.invalid("rollup \(name): table \(table) has no column \(column)")
        }
        if Set(groupBy).count != groupBy.count || groupBy.count > 3 {
            throw TallyError.invalid("rollup \(name): at most three distinct group-by columns")
        }
    }

    /// The table holding the rollup's rows.
    public var tableName: String { "tally_rollup_\(name)" }

    /// The columns of the base table the rollup reads.
    var columns: [String] {
        var result: [String] = []
        for column in filters.map(\.column) + groupBy + (bucketColumn.map { [$0] } ?? []) + sums where !result.contains(column) {
            result.append(column)
        }
        return result
    }

    /// Whether this rollup answers `stat` exactly: same table, its filters a
    /// subset of the stat's (the others on group-by columns), the stat's
    /// groups among its groups, the same bucket column, and only aggregates
    /// it keeps.
    func serves(_ stat: Stat) -> Bool {
        guard stat.table == table else { return false }
        for filter in filters where !stat.filters.contains(.equals(filter.column, filter.value)) { return false }
        for filter in stat.filters where !filters.contains(where: { filter == .equals($0.column, $0.value) }) {
            guard groupBy.contains(filter.column) else { return false }
        }
        guard stat.groupBy.allSatisfy(groupBy.contains) else { return false }
        if let bucket = stat.bucket, bucket.column != bucketColumn { return false }
        for aggregate in stat.aggregates {
            guard aggregate.isIncremental else { return false }
            if let column = aggregate.column, !sums.contains(column) { return false }
        }
        return true
    }
}

/// The rollups Tally keeps for its own answers.
public enum Rollups {
    /// The dashboard's, revenue's and module counts' rollups: every stat of
    /// those answers is served by one of them.
    public static let standard: [RollupDefinition] = [
        try! RollupDefinition(name: "users", table: "users", groupBy: ["role", "isActive"]),
        try! RollupDefinition(name: "drivers", table: "drivers", groupBy: ["isAvailable"], sums: ["rating"]),
        try! RollupDefinition(name: "vehicles", table: "vehicles", groupBy: ["type", "isAvailable"]),
        try! RollupDefinition(name: "bookings", table: "bookings", groupBy: ["status", "serviceType"]),
        try! RollupDefinition(name: "payments", table: "payments", groupBy: ["status"], sums: ["amount"]),
        try! RollupDefinition(
            name: "revenue", table: "payments", filters: [.init(column: "status", value: "COMPLETED")],
            bucketColumn: "createdAt", sums: ["amount"]),
        try! RollupDefinition(name: "modules", table: "modules", groupBy: ["isActive"]),
        try! RollupDefinition(name: "modules_by_organization", table: "modules", groupBy: ["organizationId", "isActive"]),
        try! RollupDefinition(name: "organizations", table: "organizations"),
    ]

    /// The version of the SQL this Tally generates for rollups: a rollup made
    /// by another version (or edited) is not used until enabled again.
    public static let version = 2
}
