package import GRDB

/// What revenue to compute: a period, a zone, and an optional `[from, to)`.
public struct RevenueQuery: Sendable, Hashable {
    /// How a query's parameters are named in error messages: `--from` on the
    /// command line, `from` in a URL.
    public enum ParameterNames: Sendable {
        case commandLine, query

        func callAsFunction(_ name: String) -> String {
            self == .commandLine ? "--" + name : name
        }
    }

    public var period: Period
    public var zone: Zone
    /// Epoch milliseconds; nil means the data's own first or last payment.
    public var from: Int64?
    public var to: Int64?

    /// - throws: `TallyError.invalidInput` when `from` is after `to`.
    public init(period: Period, zone: Zone, from: Int64? = nil, to: Int64? = nil, names: ParameterNames = .commandLine) throws {
        if let from, let to, from > to {
            throw TallyError.invalid("\(names("from")) (\(zone.format(from))) is after \(names("to")) (\(zone.format(to)))")
        }
        self.period = period
        self.zone = zone
        self.from = from
        self.to = to
    }

    /// Parses the CLI/HTTP parameters (`YYYY-MM-DD` or ISO 8601 with offset).
    public init(
        period: String, timeZone: String = "UTC", from: String? = nil, to: String? = nil,
        names: ParameterNames = .commandLine
    ) throws {
        let zone = try Zone(timeZone)
        try self.init(
            period: try Period(parsing: period), zone: zone,
            from: try from.map { try TimestampParser.parse($0, zone: zone, option: names("from")) },
            to: try to.map { try TimestampParser.parse($0, zone: zone, option: names("to")) },
            names: names)
    }

    /// The stat behind revenue: COMPLETED payments, bucketed by `createdAt`.
    public static func stat(grid: PeriodGrid) -> Stat {
        Stat(
            name: "payments.revenue", table: "payments",
            filters: [.equals("status", .text("COMPLETED"))],
            bucket: Stat.TimeBucket(column: "createdAt", grid: grid),
            aggregates: [.count, .sum("amount")])
    }

    /// The grid for this query, filling an open end from the data's own range
    /// (the first and last COMPLETED payment), read in the same snapshot.
    ///
    /// Without `from`, the grid starts at the period holding the first
    /// payment; without `to`, it ends with the period holding the last one.
    /// A range that ends up empty (a `to` before the data, a `from` after
    /// it) has no buckets.
    ///
    /// - throws: `TallyError.Kind.state` when the data's own range leaves the
    ///   years 0000–9999 (a timestamp such as 9223372036854775807).
    package func grid(in db: Database, execution: Execution = Execution()) throws -> PeriodGrid {
        var from = self.from, to = self.to
        if from == nil || to == nil {
            let (first, last) = try dataRange(in: db, execution: execution)
            if let first, let last {
                let supported = Double(Zone.supportedRange.lowerBound)...Double(Zone.supportedRange.upperBound)
                guard supported.contains(first), supported.contains(last) else {
                    throw TallyError(
                        .state,
                        "payments.createdAt holds timestamps outside the years 0000–9999 "
                            + "(from \(first) to \(last) ms); pass from and to to choose a range")
                }
                let (low, high) = (Int64(first.rounded(.down)), Int64(last.rounded(.down)))
                if from == nil { from = zone.startOfDay(period.start(of: zone.local(low).date)) }
                if to == nil { to = zone.startOfDay(period.next(after: period.start(of: zone.local(high).date))) }
            }
        }
        var start = from ?? to ?? 0
        var end = to ?? start
        // A given end before the data, or a given start after it: an empty
        // range at the bound the user gave.
        if start > end {
            if self.from == nil { start = end } else { end = start }
        }
        do {
            return try PeriodGrid(period: period, zone: zone, from: start, to: end)
        } catch let error as TallyError where self.from == nil || self.to == nil {
            throw TallyError(.state, error.message + " (the data's own range; pass from and to to choose one)")
        }
    }
}

extension RevenueQuery {
    /// The first and last COMPLETED payment's `createdAt` (numbers only), or
    /// as much of them as fixes the grid: from the revenue rollup when the
    /// computation reads rollups (two index steps, even without an index on
    /// `payments`), from the table otherwise (O(log n) with
    /// `idx_payments_status_createdAt`, a scan without).
    package func dataRange(in db: Database, execution: Execution) throws -> (first: Double?, last: Double?) {
        let stat = Self.stat(grid: .placeholder)
        func exact(from low: Int64? = nil, to high: Int64? = nil) throws -> (min: Double?, max: Double?) {
            let indexed = try IndexManager.hasRangeIndex(on: "payments", column: "createdAt", after: ["status"], in: db)
            var conditions = ["status = ?"]
            var arguments: [DatabaseValue] = ["COMPLETED".databaseValue]
            if let low, let high {
                conditions.append("createdAt >= ? AND createdAt < ?")
                arguments += [low.databaseValue, high.databaseValue]
            }
            return try StatSQL.extent(
                of: "createdAt", in: "payments", where: conditions, arguments: arguments,
                indexed: indexed, in: db, execution: execution)
        }
        guard let catalog = execution.catalog, let rollup = catalog.rollup(for: stat) else {
            let range = try exact()
            return (range.min, range.max)
        }
        guard let (low, high) = try RollupStrategy.bucketRange(of: rollup, in: db, execution: execution) else { return (nil, nil) }
        // A 15-minute bucket lies in one period unless a period boundary
        // cuts it (zones and eras off the quarter hour): then the exact time
        // decides, read from that bucket's base rows.
        let m = RollupDefinition.bucketMilliseconds
        func periodStart(_ t: Int64) -> CivilDate { period.start(of: zone.local(t).date) }
        func resolve(_ b: Int64, first: Bool) throws -> Double? {
            let (start, overflow) = b.multipliedReportingOverflow(by: m)
            let (end, overflow2) = start.addingReportingOverflow(m)
            guard !overflow, !overflow2, Zone.supportedRange.contains(start), Zone.supportedRange.contains(end - 1) else {
                let range = try exact()  // outside the calendar: the exact values, for the error message
                return first ? range.min : range.max
            }
            if periodStart(start) == periodStart(end - 1) { return Double(start) }
            let range = try exact(from: start, to: end)
            return first ? range.min : range.max
        }
        return (try resolve(low, first: true), try resolve(high, first: false))
    }
}

/// Revenue per period, contract §4.
public struct Revenue: Codable, Sendable, Equatable {
    public struct Bucket: Codable, Sendable, Equatable {
        /// The period's start in the query's zone, ISO 8601 with offset.
        public var start: String
        public var count: Int64
        /// Sum of the COMPLETED amounts, in minor units.
        public var amount: Amount
    }

    public struct Total: Codable, Sendable, Equatable {
        public var count: Int64 = 0
        public var amount: Amount = 0
    }

    public var period: String
    public var timeZone: String
    /// nil only when there is no range at all (no `from`/`to` and no payment).
    public var from: String?
    public var to: String?
    public var buckets: [Bucket]
    public var total: Total
    public var meta = ResponseMeta()

    enum CodingKeys: String, CodingKey { case period, timeZone, from, to, buckets, total, meta }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(period, forKey: .period)
        try c.encode(timeZone, forKey: .timeZone)
        try c.encode(from, forKey: .from)
        try c.encode(to, forKey: .to)
        try c.encode(buckets, forKey: .buckets)
        try c.encode(total, forKey: .total)
        try c.encode(meta, forKey: .meta)
    }

    /// Builds the answer from the grid and the revenue stat's result: every
    /// bucket present, empty ones with zeros.
    ///
    /// - throws: SQL's integer overflow when the total leaves 64 bits.
    init(grid: PeriodGrid, result: StatResult, hasRange: Bool) throws {
        period = grid.period.rawValue
        timeZone = grid.zone.identifier
        from = hasRange ? grid.zone.format(grid.from) : nil
        to = hasRange ? grid.zone.format(grid.to) : nil
        var total = Total()
        var buckets: [Bucket] = []
        buckets.reserveCapacity(grid.count)
        for i in 0..<grid.count {
            let values = result.groups[StatResult.Key([], bucket: i)]
            var count: Int64 = 0
            if case .integer(let n)? = values?[0] { count = n }
            let amount = try Amount(sum: values?[1], of: "payments.amount")
            total.count &+= count
            total.amount = try total.amount.adding(amount, column: "payments.amount")
            buckets.append(Bucket(start: grid.label(ofBucket: i), count: count, amount: amount))
        }
        self.buckets = buckets
        self.total = total
    }
}
