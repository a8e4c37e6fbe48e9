/// The answer to one `Stat`: one row per group present in the data.
///
/// Every strategy produces the same `StatResult` for the same snapshot, which
/// is what the cross-strategy tests compare.
public struct StatResult: Sendable, Equatable {
    /// A group: its group-by values (in `Stat.groupBy` order) and its time bucket index.
    public struct Key: Sendable, Hashable {
        public var values: [StatValue]
        public var bucket: Int?

        public init(_ values: [StatValue], bucket: Int? = nil) {
            self.values = values
            self.bucket = bucket
        }
    }

    public let stat: Stat
    /// The aggregates of each group, in `Stat.aggregates` order.
    public var groups: [Key: [StatValue]]

    public init(stat: Stat, groups: [Key: [StatValue]] = [:]) {
        self.stat = stat
        self.groups = groups
    }

    /// The value of aggregate `index` for a group, or nil when the group is absent.
    public func value(_ key: Key, _ index: Int = 0) -> StatValue? {
        groups[key]?[index]
    }

    /// Sum of an integer aggregate over the groups matching `predicate`.
    ///
    /// A real sum (a foreign database storing `2.5` in an INTEGER column) is
    /// rounded to the nearest integer rather than dropped.
    public func total(_ index: Int = 0, where predicate: (Key) -> Bool = { _ in true }) -> Int64 {
        groups.reduce(0) { sum, group in
            guard predicate(group.key) else { return sum }
            switch group.value[index] {
            case .integer(let v): return sum + v
            case .real(let v): return sum + Int64(v.rounded())
            default: return sum
            }
        }
    }

    /// Sum of a numeric aggregate over the groups matching `predicate`, as a double.
    public func realTotal(_ index: Int, where predicate: (Key) -> Bool = { _ in true }) -> Double {
        groups.reduce(0) { sum, group in
            predicate(group.key) ? sum + (group.value[index].doubleValue ?? 0) : sum
        }
    }
}
