import GRDB

/// What revenue to compute: a period, a zone, and an optional `[from, to)`.
public struct RevenueQuery: Sendable, Hashable {
    public var period: Period
    public var zone: Zone
    /// Epoch milliseconds; nil means the data's own first or last payment.
    public var from: Int64?
    public var to: Int64?

    /// - throws: `TallyError.invalidInput` when `from` is after `to`.
    public init(period: Period, zone: Zone, from: Int64? = nil, to: Int64? = nil) throws {
        if let from, let to, from > to {
            throw TallyError.invalid("--from (\(zone.format(from))) is after --to (\(zone.format(to)))")
        }
        self.period = period
        self.zone = zone
        self.from = from
        self.to = to
    }

    /// Parses the CLI/HTTP parameters (`YYYY-MM-DD` or ISO 8601 with offset).
    public init(period: String, timeZone: String = "UTC", from: String? = nil, to: String? = nil) throws {
        let zone = try Zone(timeZone)
        try self.init(period: try Period(parsing: period), zone: zone,
                      from: try from.map { try TimestampParser.parse($0, zone: zone, option: "--from") },
                      to: try to.map { try TimestampParser.parse($0, zone: zone, option: "--to") })
    }

    /// First and last `createdAt` of COMPLETED payments.
    static func completedRange(_ db: Database) throws -> (min: Int64?, max: Int64?) {
        try StatSQL.extent(of: "createdAt", in: "payments", where: ["status = ?"], arguments: ["COMPLETED".databaseValue],
                           indexed: try IndexManager.hasRangeIndex(on: "payments", column: "createdAt", after: ["status"], in: db), in: db)
    }

    /// The stat behind revenue: COMPLETED payments, bucketed by `createdAt`.
    public static func stat(grid: PeriodGrid) -> Stat {
        Stat(name: "payments.revenue", table: "payments",
             filters: [.equals("status", .text("COMPLETED"))],
             bucket: .init(column: "createdAt", grid: grid),
             aggregates: [.count, .sum("amount")])
    }

    /// The grid for this query, filling an open end from the data's own range
    /// (the first and last COMPLETED payment), read in the same snapshot.
    /// Without `from`, the grid starts at the period holding the first
    /// payment; without `to`, it ends with the period holding the last one.
    func grid(in db: Database) throws -> PeriodGrid {
        var from = self.from, to = self.to
        if from == nil || to == nil {
            let (first, last) = try Self.completedRange(db)
            if let first, let last {
                if from == nil { from = zone.startOfDay(period.start(of: zone.local(min(first, to ?? first)).date)) }
                if to == nil {
                    let lastDay = period.start(of: zone.local(max(last, from!)).date)
                    to = zone.startOfDay(period.next(after: lastDay))
                }
            }
        }
        let start = from ?? to ?? 0
        return try PeriodGrid(period: period, zone: zone, from: start, to: max(start, to ?? start))
    }
}

/// Revenue per period, contract §4.
public struct Revenue: Codable, Sendable, Equatable {
    public struct Bucket: Codable, Sendable, Equatable {
        /// The period's start in the query's zone, ISO 8601 with offset.
        public var start: String
        public var count: Int64
        public var amount: Int64
    }

    public struct Total: Codable, Sendable, Equatable {
        public var count: Int64 = 0
        public var amount: Int64 = 0
    }

    public struct Meta: Codable, Sendable, Equatable {
        public var cache: String = "miss"
        public var durationMs: Double = 0
    }

    public var period: String
    public var timeZone: String
    /// nil only when there is no range at all (no `--from/--to` and no payment).
    public var from: String?
    public var to: String?
    public var buckets: [Bucket]
    public var total: Total
    public var meta = Meta()

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
    init(grid: PeriodGrid, result: StatResult, hasRange: Bool) {
        period = grid.period.rawValue
        timeZone = grid.zone.identifier
        from = hasRange ? grid.zone.format(grid.from) : nil
        to = hasRange ? grid.zone.format(grid.to) : nil
        var total = Total()
        buckets = (0..<grid.count).map { i in
            let values = result.groups[StatResult.Key([], bucket: i)]
            let count = values?[0].int64Value ?? 0
            let amount = values?[1].int64Value ?? 0
            total.count += count
            total.amount += amount
            return Bucket(start: grid.label(ofBucket: i), count: count, amount: amount)
        }
        self.total = total
    }
}
