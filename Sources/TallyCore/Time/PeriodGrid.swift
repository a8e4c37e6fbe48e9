/// The buckets of one revenue query: whole calendar periods in a time zone,
/// from the one holding `from` to the one holding the last instant before
/// `to`, computed once so that each row maps to its bucket by binary search
/// (no calendar call per row).
///
/// For example, months of 2024 in Paris:
///
/// ```swift
/// let zone = try Zone("Europe/Paris")
/// let grid = PeriodGrid(period: .month, zone: zone,
///                       from: zone.startOfDay(.init(year: 2024, month: 1, day: 1)),
///                       to: zone.startOfDay(.init(year: 2025, month: 1, day: 1)))
/// grid.count  // 12
/// ```
public struct PeriodGrid: Sendable, Hashable {
    public let period: Period
    public let zone: Zone
    /// The half-open range `[from, to)` in epoch milliseconds; rows outside it don't count.
    public let from: Int64
    public let to: Int64
    /// Bucket `i` starts at `starts[i]` (its calendar start, possibly before `from`)
    /// and ends at `starts[i + 1]`; `starts` has `count + 1` elements, or none.
    public let starts: [Int64]

    /// The most buckets a grid may hold (about 270 years of days).
    public static let maximumBuckets = 100_000

    /// - precondition: `from <= to`. An empty range has no buckets.
    /// - throws: `TallyError.invalidInput` if the range needs more than `maximumBuckets`.
    public init(period: Period, zone: Zone, from: Int64, to: Int64) throws {
        precondition(from <= to, "PeriodGrid needs from <= to")
        self.period = period
        self.zone = zone
        self.from = from
        self.to = to
        guard from < to else {
            starts = []
            return
        }
        var day = period.start(of: zone.local(from).date)
        var boundaries = [zone.startOfDay(day)]
        // A DST gap can make a day begin after `from` (when midnight is skipped
        // and `from` is given as an instant); the bucket still holds `from`.
        if boundaries[0] > from { boundaries[0] = from }
        while boundaries[boundaries.count - 1] < to {
            day = period.next(after: day)
            boundaries.append(zone.startOfDay(day))
            if boundaries.count > Self.maximumBuckets + 1 {
                throw TallyError.invalid("the range needs more than \(Self.maximumBuckets) \(period.rawValue) buckets; choose a longer period or a shorter range")
            }
        }
        starts = boundaries
    }

    /// Number of buckets.
    public var count: Int { Swift.max(0, starts.count - 1) }

    /// The bucket holding an instant, or nil outside `[from, to)`.
    @inline(__always)
    public func bucket(of millis: Int64) -> Int? {
        guard millis >= from, millis < to else { return nil }
        // Last start <= millis.
        var low = 0, high = starts.count - 1
        while high - low > 1 {
            let mid = (low + high) >> 1
            if starts[mid] <= millis { low = mid } else { high = mid }
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
