/// A declarative statistic over one table: an optional filter, group-by
/// columns, an optional time bucket, and aggregates.
///
/// The dashboard, revenue and module counts are defined as stats; the engine
/// groups the stats of one table into one scan. Library users define their
/// own the same way. For example, bookings by service type per month:
///
/// ```swift
/// let grid = try PeriodGrid(period: .month, timeZone: "UTC", from: from, to: to)
/// let stat = Stat(name: "bookings.byServiceTypePerMonth", table: "bookings",
///                 groupBy: ["serviceType"], bucket: .init(column: "createdAt", grid: grid),
///                 aggregates: [.count, .sum("price")])
/// let results = try await engine.run([stat])
/// ```
///
/// Table and column names must be the contract's (`TallySchema`): they are the
/// only identifiers ever written into SQL; filter values are always bound.
public struct Stat: Sendable, Hashable {
    /// What to compute per group.
    public enum Aggregate: Sendable, Hashable, CustomStringConvertible {
        /// Number of rows.
        case count
        /// Number of rows where the column is not NULL.
        case countNonNull(String)
        /// Sum of the non-NULL values (integer when every value is an integer), NULL when none.
        case sum(String)
        /// Mean of the non-NULL values, NULL when none.
        case avg(String)
        case min(String)
        case max(String)

        public var column: String? {
            switch self {
            case .count: nil
            case .countNonNull(let c), .sum(let c), .avg(let c), .min(let c), .max(let c): c
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

    /// A row filter: `column = value`.
    public struct Filter: Sendable, Hashable {
        public let column: String
        public let value: StatValue

        public static func equals(_ column: String, _ value: StatValue) -> Filter {
            Filter(column: column, value: value)
        }
    }

    /// Groups rows by the calendar period (of `grid`) holding an integer
    /// timestamp column; rows outside the grid's `[from, to)` are left out.
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

    public init(name: String, table: String, filters: [Filter] = [], groupBy: [String] = [],
                bucket: TimeBucket? = nil, aggregates: [Aggregate] = [.count]) {
        self.name = name
        self.table = table
        self.filters = filters
        self.groupBy = groupBy
        self.bucket = bucket
        self.aggregates = aggregates
    }

    /// Every column the stat reads.
    var columns: [String] {
        var result: [String] = []
        func add(_ c: String) { if !result.contains(c) { result.append(c) } }
        filters.forEach { add($0.column) }
        groupBy.forEach(add)
        if let bucket { add(bucket.column) }
        aggregates.compactMap(\.column).forEach(add)
        return result
    }

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
    }
}
