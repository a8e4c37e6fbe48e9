import Foundation

/// The dashboard of contract §4: every headline number of the seeds' admin
/// page, computed from one snapshot.
public struct Dashboard: Codable, Sendable, Equatable {
    public struct TotalActive: Codable, Sendable, Equatable {
        public var total: Int64 = 0
        public var active: Int64 = 0
    }

    public struct TotalAvailable: Codable, Sendable, Equatable {
        public var total: Int64 = 0
        public var available: Int64 = 0
    }

    public struct CountAmount: Codable, Sendable, Equatable {
        public var count: Int64 = 0
        public var amount: Int64 = 0
    }

    public struct Users: Codable, Sendable, Equatable {
        public var total: Int64 = 0
        public var active: Int64 = 0
        public var byRole = KeyedValues<TotalActive>()
    }

    public struct Drivers: Codable, Sendable, Equatable {
        public var total: Int64 = 0
        public var available: Int64 = 0
        /// Drivers with a non-NULL rating.
        public var rated: Int64 = 0
        /// Mean of the non-NULL ratings; `null` when no driver is rated.
        public var averageRating: Double?

        enum CodingKeys: String, CodingKey { case total, available, rated, averageRating }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(total, forKey: .total)
            try container.encode(available, forKey: .available)
            try container.encode(rated, forKey: .rated)
            try container.encode(averageRating, forKey: .averageRating)  // explicit null
        }
    }

    public struct Vehicles: Codable, Sendable, Equatable {
        public var total: Int64 = 0
        public var available: Int64 = 0
        public var byType = KeyedValues<TotalAvailable>()
    }

    public struct Bookings: Codable, Sendable, Equatable {
        public var total: Int64 = 0
        public var byStatus = KeyedValues<Int64>()
        public var byServiceType = KeyedValues<Int64>()
    }

    public struct Payments: Codable, Sendable, Equatable {
        public var total: Int64 = 0
        public var byStatus = KeyedValues<CountAmount>()
        /// Sum of COMPLETED amounts, in minor units.
        public var revenue: Int64 = 0
        /// Sum of REFUNDED amounts, in minor units.
        public var refunded: Int64 = 0
    }

    public struct Modules: Codable, Sendable, Equatable {
        public var total: Int64 = 0
        public var active: Int64 = 0
        /// Rows in `organizations`.
        public var organizations: Int64 = 0
    }

    public var users = Users()
    public var drivers = Drivers()
    public var vehicles = Vehicles()
    public var bookings = Bookings()
    public var payments = Payments()
    public var modules = Modules()
    public var meta = ResponseMeta()

    public init() {}
}

/// `meta` of every answer: how it was computed.
public struct ResponseMeta: Codable, Sendable, Equatable {
    /// The strategy, when the answer has one.
    public var strategy: String?
    /// `miss` when computed for this request; the cache sets `hit`/`stale`.
    public var cache: String = "miss"
    /// When the numbers were computed, ISO 8601 UTC.
    public var computedAt: String?
    public var durationMs: Double = 0

    public init(strategy: String? = nil, cache: String = "miss", computedAt: String? = nil, durationMs: Double = 0) {
        self.strategy = strategy
        self.cache = cache
        self.computedAt = computedAt
        self.durationMs = durationMs
    }
}

extension Dashboard {
    /// The stats a dashboard is made of, one or more per table. The engine
    /// serves all the stats of one table from one scan (`single-pass`), one
    /// query each (`grouped`), or one query per value (`naive`).
    public static let stats: [Stat] = [
        Stat(name: "users.byRoleAndActive", table: "users", groupBy: ["role", "isActive"]),
        Stat(name: "drivers.byAvailable", table: "drivers", groupBy: ["isAvailable"],
             aggregates: [.count, .countNonNull("rating"), .sum("rating")]),
        Stat(name: "vehicles.byTypeAndAvailable", table: "vehicles", groupBy: ["type", "isAvailable"]),
        Stat(name: "bookings.byStatus", table: "bookings", groupBy: ["status"]),
        Stat(name: "bookings.byServiceType", table: "bookings", groupBy: ["serviceType"]),
        Stat(name: "payments.byStatus", table: "payments", groupBy: ["status"], aggregates: [.count, .sum("amount")]),
        Stat(name: "modules.byActive", table: "modules", groupBy: ["isActive"]),
        Stat(name: "organizations.count", table: "organizations"),
    ]

    /// Builds the dashboard from the results of `Dashboard.stats`, in order.
    init(results: [StatResult]) {
        precondition(results.count == Self.stats.count)
        let one = StatValue.integer(1)
        func isOn(_ key: StatResult.Key, _ index: Int) -> Bool { key.values[index] == one }

        let users = results[0]
        self.users.total = users.total()
        self.users.active = users.total { isOn($0, 1) }
        for role in Self.groupKeys(users, column: 0, enum: "users.role") {
            self.users.byRole[role.description] = TotalActive(
                total: users.total { $0.values[0] == role },
                active: users.total { $0.values[0] == role && isOn($0, 1) })
        }

        let drivers = results[1]
        self.drivers.total = drivers.total()
        self.drivers.available = drivers.total { isOn($0, 0) }
        self.drivers.rated = drivers.total(1)
        self.drivers.averageRating = self.drivers.rated == 0 ? nil : drivers.realTotal(2) / Double(self.drivers.rated)

        let vehicles = results[2]
        self.vehicles.total = vehicles.total()
        self.vehicles.available = vehicles.total { isOn($0, 1) }
        for type in Self.groupKeys(vehicles, column: 0, enum: "vehicles.type") {
            self.vehicles.byType[type.description] = TotalAvailable(
                total: vehicles.total { $0.values[0] == type },
                available: vehicles.total { $0.values[0] == type && isOn($0, 1) })
        }

        let byStatus = results[3], byService = results[4]
        bookings.total = byStatus.total()
        for status in Self.groupKeys(byStatus, column: 0, enum: "bookings.status") {
            bookings.byStatus[status.description] = byStatus.total { $0.values[0] == status }
        }
        for service in Self.groupKeys(byService, column: 0, enum: "bookings.serviceType") {
            bookings.byServiceType[service.description] = byService.total { $0.values[0] == service }
        }

        let payments = results[5]
        self.payments.total = payments.total()
        for status in Self.groupKeys(payments, column: 0, enum: "payments.status") {
            self.payments.byStatus[status.description] = CountAmount(
                count: payments.total { $0.values[0] == status },
                amount: payments.total(1) { $0.values[0] == status })
        }
        self.payments.revenue = self.payments.byStatus["COMPLETED"]?.amount ?? 0
        self.payments.refunded = self.payments.byStatus["REFUNDED"]?.amount ?? 0

        let modules = results[6]
        self.modules.total = modules.total()
        self.modules.active = modules.total { isOn($0, 0) }
        self.modules.organizations = results[7].total()
    }

    /// The keys of a group-by column: every enum value, then the values
    /// outside the enum found in the data (contract §2: nothing is dropped).
    static func groupKeys(_ result: StatResult, column: Int, enum name: String) -> [StatValue] {
        let known = (TallySchema.enumValues[name] ?? []).map(StatValue.text)
        let found = Set(result.groups.keys.map { $0.values[column] })
        return known + found.subtracting(known).sorted()
    }
}
