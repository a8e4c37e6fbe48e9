/// The buckets of one revenue query: whole calendar periods in a time zone,
/// from the one holding `from` to the one holding the last instant before
/// `to`, computed once so that each row maps to its bucket by binary search
/// (no calendar call per row).
///
/// For example, the months of 2024 in Paris:
///
/// ```swift
/// let zone = try Zone("Europe/Paris")
/// let grid = try PeriodGrid(period: .month, zone: zone,
///                           from: try TimestampParser.parse("2024-01-01", zone: zone),
///                           to: try TimestampParser.parse("2025-01-01", zone: zone))
/// let months = grid.count              // 12
/// let april = grid.label(ofBucket: 3)  // "2024-04-01T00:00:00+02:00"
/// ```
///
/// A local date that does not exist in the zone (Pacific/Apia skipped
/// 2011-12-30) has no bucket: bucket starts are strictly increasing.
public struct PeriodGrid: Sendable, Hashable {
    public let period: Period
    public let zone: Zone
    /// The half-open range `[from, to)` in epoch milliseconds; rows outside it don't count.
    public let from: Int64
    public let to: Int64
    /// Bucket `i` starts at `starts[i]` (its calendar start, possibly before
    /// `from`) and ends at `starts[i + 1]`; `count + 1` elements, or none.
    public let starts: [Int64]

    /// The most buckets a grid may hold (about 270 years of days).
    public static let maximumBuckets = 100_000

    /// - precondition: `from <= to`. An empty range has no buckets.
    /// - throws: `TallyError.invalidInput` when the range leaves years
    ///   0000–9999 or needs more than `maximumBuckets` buckets.
    public init(period: Period, zone: Zone, from: Int64, to: Int64) throws {
        precondition(from <= to, "PeriodGrid needs from <= to")
        guard Zone.supportedRange.contains(from), Zone.supportedRange.contains(to) else {
            throw TallyError.invalid(
                "the range \(zone.format(from)) to \(zone.format(to)) reaches beyond the years 0000–9999, "
                    + "the calendar revenue periods support")
        }
        self.period = period
        self.zone = zone
        self.from = from
        self.to = to
        guard from < to else {
            starts = []
            return
        }
        guard Self.bucketsAtLeast(period: period, from: from, to: to) <= Self.maximumBuckets else {
            throw Self.tooManyBuckets(period)
        }
        var day = period.start(of: zone.local(from).date)
        var boundaries = [zone.startOfDay(day)]
        // A change of offset can make a day begin after `from` (when midnight
        // is skipped and `from` is given as an instant); the bucket still holds `from`.
        if boundaries[0] > from { boundaries[0] = from }
        while boundaries[boundaries.count - 1] < to {
            day = period.next(after: day)
            let start = zone.startOfDay(day)
            // A skipped local date starts where the next one does: no bucket.
            if start > boundaries[boundaries.count - 1] { boundaries.append(start) }
            if boundaries.count > Self.maximumBuckets + 1 { throw Self.tooManyBuckets(period) }
        }
        starts = boundaries
    }

    /// A lower bound on the buckets `[from, to)` needs, computed without
    /// calendar arithmetic (so that absurd ranges are refused at once).
    static func bucketsAtLeast(period: Period, from: Int64, to: Int64) -> Int64 {
        let hour: Int64 = 3_600_000
        // The longest a period can be: a day of 26 hours (Lord Howe's half
        // hour is less), a month of 31 days, and so on.
        let longest: Int64 =
            switch period {
            case .day: 26 * hour
            case .week: 7 * 24 * hour + 2 * hour
            case .month: 31 * 24 * hour + 2 * hour
            case .quarter: 92 * 24 * hour + 2 * hour
            case .year: 366 * 24 * hour + 2 * hour
            }
        return (to - from) / longest
    }

    static func tooManyBuckets(_ period: Period) -> TallyError {
        TallyError.invalid("the range needs more than \(maximumBuckets) \(period.rawValue) buckets; choose a longer period or a shorter range")
    }

    /// An empty grid, for stats whose shape matters and not their range.
    static let placeholder = try! PeriodGrid(period: .day, zone: .utc, from: 0, to: 0)

    /// Number of buckets.
    public var count: Int { Swift.max(0, starts.count - 1) }

    /// The bucket holding an instant, or nil outside `[from, to)`.
    @inline(__always)
    public func bucket(of millis: Int64) -> Int? {
        guard millis >= from, millis < to else { return nil }
        return Self.lastStart(atOrBefore: millis, in: starts)
    }

    /// The bucket holding a real timestamp, compared exactly as SQLite
    /// compares an integer with a real; nil outside `[from, to)`.
    public func bucket(of millis: Double) -> Int? {
        guard compareExactly(from, millis) <= 0, compareExactly(to, millis) > 0 else { return nil }
        var low = 0, high = starts.count - 1
        while high - low > 1 {
            let mid = (low + high) >> 1
            if compareExactly(starts[mid], millis) <= 0 { low = mid } else { high = mid }
        }
        return low
    }

    /// The index of the last element of `starts` that is `<= value`; `starts`
    /// is sorted and its first element is `<= value`.
    @inline(__always)
    static func lastStart(atOrBefore value: Int64, in starts: [Int64]) -> Int {
        var low = 0, high = starts.count - 1
        while high - low > 1 {
            let mid = (low + high) >> 1
            if starts[mid] <= value { low = mid } else { high = mid }
        }
        return low
    }

    /// The part of `[from, to)` that bucket `i` covers: `[start, end)`.
    public func range(ofBucket i: Int) -> Range<Int64> {
        Swift.max(from, starts[i])..<Swift.min(to, starts[i + 1])
    }

    /// The label of bucket `i`: its calendar start in the zone.
    public func label(ofBucket i: Int) -> String { zone.format(starts[i]) }
}
