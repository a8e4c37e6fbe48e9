/// A declarative statistic over one table: filters, group-by columns, an
/// optional time bucket, and aggregates. The engine serves every stat of one
/// table from one scan (`single-pass`), one query each (`grouped`), one query
/// per value (`naive`), or a rollup kept by triggers (`rollup`).
///
/// For example, bookings by service type per month of 2025 in Paris:
///
/// ```swift
/// let zone = try Zone("Europe/Paris")
/// let grid = try PeriodGrid(period: .month, zone: zone,
///                           from: try TimestampParser.parse("2025-01-01", zone: zone),
///                           to: try TimestampParser.parse("2026-01-01", zone: zone))
/// let stat = Stat(name: "bookings.byServiceTypePerMonth", table: "bookings",
///                 groupBy: ["serviceType"], bucket: Stat.TimeBucket(column: "createdAt", grid: grid),
///                 aggregates: [.count, .sum("price")])
/// let results = try await engine.run([stat])
/// ```
///
/// Every aggregate means what SQLite's function of the same name returns
/// on the same rows (`COUNT`, `SUM`, `AVG`, `MIN`, `MAX`): the same value and
/// the same storage class, or the same error.
///
/// Table and column names must be the contract's (`TallySchema`): they are the
/// only identifiers ever written into SQL; filter values are always bound.
public struct Stat: Sendable, Hashable {
    /// What to compute per group.
    public enum Aggregate: Sendable, Hashable, CustomStringConvertible {
        /// Number of rows: `COUNT(*)`.
        case count
        /// Number of rows where the column is not NULL: `COUNT(column)`.
        case countNonNull(String)
        /// `SUM(column)`: an integer while every value is one, a real once any
        /// is not, NULL when none; SQL's "integer overflow" error when an
        /// integer sum leaves 64 bits.
        case sum(String)
        /// `AVG(column)`: a real, NULL when no value.
        case avg(String)
        /// `MIN(column)`: the smallest non-NULL value, in SQLite's order,
        /// with its storage class.
        case min(String)
        /// `MAX(column)`.
        case max(String)

        public var column: String? {
            switch self {
            case .count: nil
            case .countNonNull(let c), .sum(let c), .avg(let c), .min(let c), .max(let c): c
            }
        }

        /// Whether a rollup kept by triggers can maintain it exactly under
        /// inserts, updates and deletes (`min`/`max` cannot: a delete of the
        /// minimum needs the next one).
        public var isIncremental: Bool {
            switch self {
            case .count, .countNonNull, .sum, .avg: true
            case .min, .max: false
            }
        }

        public var description: String {
            switch self {
            case .count: "count"
            case .countNonNull(let c): "countNonNull(\(c))"
            case .sum(let c): "sum(\(c))"
            case .avg(let c): "avg(\(c))"
            case .min(let c): "min(\(c))"
            case .max(let c): "max(\(c))"
            }
        }
    }

    /// A row filter: `column = value`, `column IS NULL` for `.null`, or
    /// `column IN (values…)`.
    public struct Filter: Sendable, Hashable {
        public let column: String
        /// One value for an equality; several for `IN`.
        public let values: [StatValue]

        public static func equals(_ column: String, _ value: StatValue) -> Filter {
            Filter(column: column, values: [value])
        }

        /// `column IN (values…)`; an empty list matches no row.
        public static func oneOf(_ column: String, _ values: [StatValue]) -> Filter {
            Filter(column: column, values: values)
        }
    }

    /// Groups rows by the calendar period (of `grid`) holding a timestamp
    /// column: bucket `i` holds the rows with `starts[i] <= column <
    /// starts[i + 1]` as SQLite compares them, within `[from, to)`; other rows
    /// (outside the range, NULL, text) are left out.
    public struct TimeBucket: Sendable, Hashable {
        public let column: String
        public let grid: PeriodGrid

        public init(column: String, grid: PeriodGrid) {
            self.column = column
            self.grid = grid
        }
    }

    public var name: String
    public var table: String
    public var filters: [Filter]
    public var groupBy: [String]
    public var bucket: TimeBucket?
    public var aggregates: [Aggregate]

    public init(
        name: String, table: String, filters: [Filter] = [], groupBy: [String] = [],
        bucket: TimeBucket? = nil, aggregates: [Aggregate] = [.count]
    ) {
        self.name = name
        self.table = table
        self.filters = filters
        self.groupBy = groupBy
        self.bucket = bucket
        self.aggregates = aggregates
    }

    /// Every column the stat reads, each once.
    var columns: [String] {
        var result: [String] = []
        func add(_ c: String) { if !result.contains(c) { result.append(c) } }
        filters.forEach { add($0.column) }
        groupBy.forEach(add)
        if let bucket { add(bucket.column) }
        aggregates.compactMap(\.column).forEach(add)
        return result
    }

    /// The index of the aggregate `aggregate` in `aggregates`.
    public func index(of aggregate: Aggregate) -> Int? { aggregates.firstIndex(of: aggregate) }

    /// Throws unless the table and every column are the contract's.
    func validate() throws {
        guard let table = TallySchema.tables.first(where: { $0.name == self.table }) else {
            throw TallyError.invalid("stat \(name): unknown table \(self.table)")
        }
        for column in columns where !table.columns.contains(column) {
            throw TallyError.invalid("stat \(name): table \(table.name) has no column \(column)")
        }
        if groupBy.count + (bucket == nil ? 0 : 1) > 3 {
            throw TallyError.invalid("stat \(name): at most three group-by dimensions (columns and time bucket)")
        }
        if aggregates.isEmpty {
            throw TallyError.invalid("stat \(name): no aggregate")
        }
        if Set(groupBy).count != groupBy.count {
            throw TallyError.invalid("stat \(name): a group-by column is repeated")
        }
    }
}
