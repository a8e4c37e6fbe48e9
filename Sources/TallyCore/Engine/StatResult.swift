/// The answer to one `Stat`: one row per group present in the data.
///
/// Every strategy produces the same `StatResult` for the same snapshot
/// (reals within rounding: SQLite adds them in its own row order), which is
/// what the cross-strategy tests compare.
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

    /// The number of rows matching `predicate`: the sum of the `count`
    /// aggregate (or another counting aggregate at `index`) over the groups.
    /// Counts never exceed the rows of a table, so this cannot overflow.
    public func count(_ index: Int = 0, where predicate: (Key) -> Bool = { _ in true }) -> Int64 {
        groups.reduce(0) { total, group in
            guard predicate(group.key), case .integer(let n) = group.value[index] else { return total }
            return total &+ n
        }
    }
}

extension [StatResult] {
    /// The result of the stat named `name`; answers read their stats by
    /// name, never by position.
    public func named(_ name: String) -> StatResult? {
        first { $0.stat.name == name }
    }
}
