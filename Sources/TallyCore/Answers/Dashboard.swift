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
        /// Sum of the amounts, in minor units.
        public var amount: Amount = 0
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
        public var revenue: Amount = 0
        /// Sum of REFUNDED amounts, in minor units.
        public var refunded: Amount = 0
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

    enum CodingKeys: String, CodingKey { case users, drivers, vehicles, bookings, payments, modules, meta }

    /// Whether the section of `table` is left out (its table is absent
    /// from an app's database read through a schema map).
    public func isAbsent(_ table: String) -> Bool { meta.absent?.contains(table) ?? false }

    /// Every section, except those of tables the database lacks
    /// (`meta.absent`); `modules` needs both its tables.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if !isAbsent("users") { try c.encode(users, forKey: .users) }
        if !isAbsent("drivers") { try c.encode(drivers, forKey: .drivers) }
        if !isAbsent("vehicles") { try c.encode(vehicles, forKey: .vehicles) }
        if !isAbsent("bookings") { try c.encode(bookings, forKey: .bookings) }
        if !isAbsent("payments") { try c.encode(payments, forKey: .payments) }
        if !isAbsent("modules") || !isAbsent("organizations") { try c.encode(modules, forKey: .modules) }
        try c.encode(meta, forKey: .meta)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        users = try c.decodeIfPresent(Users.self, forKey: .users) ?? Users()
        drivers = try c.decodeIfPresent(Drivers.self, forKey: .drivers) ?? Drivers()
        vehicles = try c.decodeIfPresent(Vehicles.self, forKey: .vehicles) ?? Vehicles()
        bookings = try c.decodeIfPresent(Bookings.self, forKey: .bookings) ?? Bookings()
        payments = try c.decodeIfPresent(Payments.self, forKey: .payments) ?? Payments()
        modules = try c.decodeIfPresent(Modules.self, forKey: .modules) ?? Modules()
        meta = try c.decode(ResponseMeta.self, forKey: .meta)
    }
}

extension Dashboard {
    /// The stats a dashboard is made of, one or more per table. The engine
    /// serves all the stats of one table from one scan (`single-pass`), one
    /// query each (`grouped`), or one query per value (`naive`).
    public static let stats: [Stat] = [
        Stat(name: "users.byRoleAndActive", table: "users", groupBy: ["role", "isActive"]),
        Stat(
            name: "drivers.byAvailable", table: "drivers", groupBy: ["isAvailable"],
            aggregates: [.count, .countNonNull("rating"), .avg("rating")]),
        Stat(name: "vehicles.byTypeAndAvailable", table: "vehicles", groupBy: ["type", "isAvailable"]),
        Stat(name: "bookings.byStatus", table: "bookings", groupBy: ["status"]),
        Stat(name: "bookings.byServiceType", table: "bookings", groupBy: ["serviceType"]),
        Stat(name: "payments.byStatus", table: "payments", groupBy: ["status"], aggregates: [.count, .sum("amount")]),
        Stat(name: "modules.byActive", table: "modules", groupBy: ["isActive"]),
        Stat(name: "organizations.count", table: "organizations"),
    ]

    /// Builds the dashboard from the results of `Dashboard.stats`, read by name.
    ///
    /// - throws: when a sum cannot be represented (see `Amount`).
    init(results: [StatResult]) throws {
        func result(_ name: String) -> StatResult { results.named(name) ?? StatResult(stat: Self.stats.first { $0.name == name }!) }
        /// A flag group: `isActive = 1` as SQL compares it.
        func isOn(_ key: StatResult.Key, _ index: Int) -> Bool { key.values[index].sqlEquals(.integer(1)) }

        let users = result("users.byRoleAndActive")
        self.users.total = users.count()
        self.users.active = users.count { isOn($0, 1) }
        for (role, name) in Self.groupKeys(users, column: 0, enum: "users.role") {
            self.users.byRole[name] = TotalActive(
                total: users.count { $0.values[0] == role },
                active: users.count { $0.values[0] == role && isOn($0, 1) })
        }

        let drivers = result("drivers.byAvailable")
        self.drivers.total = drivers.count()
        self.drivers.available = drivers.count { isOn($0, 0) }
        self.drivers.rated = drivers.count(1)
        // AVG over all drivers from the per-group averages: Σ avg·n / Σ n.
        // - A group whose average SQL gave as NULL although it has ratings
        //   summed +∞ and −∞: the whole sum is NaN too, which SQL gives as NULL.
        // - A group's infinite average, or Σ avg·n past the largest real: SQL's
        //   one sum over every row gives ±∞, or a number when its row order
        //   undoes an overflow. JSON has no infinity: one clear error.
        var ratingSum = 0.0
        var notANumber = false
        for (_, aggregates) in drivers.groups {
            guard case .integer(let n) = aggregates[1], n > 0 else { continue }
            guard let average = aggregates[2].doubleValue, !average.isNaN else {
                notANumber = true
                continue
            }
            ratingSum += average * Double(n)
        }
        if self.drivers.rated == 0 || notANumber {
            self.drivers.averageRating = nil
        } else {
            let average = ratingSum / Double(self.drivers.rated)
            guard average.isFinite else {
                throw TallyError(
                    .database, "the average of drivers.rating is too large to represent (SQL gives \(average) or, by its row order, a number)")
            }
            self.drivers.averageRating = average
        }

        let vehicles = result("vehicles.byTypeAndAvailable")
        self.vehicles.total = vehicles.count()
        self.vehicles.available = vehicles.count { isOn($0, 1) }
        for (type, name) in Self.groupKeys(vehicles, column: 0, enum: "vehicles.type") {
            self.vehicles.byType[name] = TotalAvailable(
                total: vehicles.count { $0.values[0] == type },
                available: vehicles.count { $0.values[0] == type && isOn($0, 1) })
        }

        let byStatus = result("bookings.byStatus"), byService = result("bookings.byServiceType")
        bookings.total = byStatus.count()
        for (status, name) in Self.groupKeys(byStatus, column: 0, enum: "bookings.status") {
            bookings.byStatus[name] = byStatus.count { $0.values[0] == status }
        }
        for (service, name) in Self.groupKeys(byService, column: 0, enum: "bookings.serviceType") {
            bookings.byServiceType[name] = byService.count { $0.values[0] == service }
        }

        let payments = result("payments.byStatus")
        self.payments.total = payments.count()
        for (status, name) in Self.groupKeys(payments, column: 0, enum: "payments.status") {
            let group = payments.groups[StatResult.Key([status])]
            self.payments.byStatus[name] = CountAmount(
                count: payments.count { $0.values[0] == status },
                amount: try Amount(sum: group?[1], of: "payments.amount"))
        }
        self.payments.revenue = self.payments.byStatus["COMPLETED"]?.amount ?? 0
        self.payments.refunded = self.payments.byStatus["REFUNDED"]?.amount ?? 0

        let modules = result("modules.byActive")
        self.modules.total = modules.count()
        self.modules.active = modules.count { isOn($0, 0) }
        self.modules.organizations = result("organizations.count").count()
    }

    /// The keys of a group-by column with their JSON names: every enum
    /// value, then the values outside the enum found in the data (contract
    /// §2: nothing is dropped), sorted as SQLite sorts them. Two values with
    /// the same text (the integer 1 and the text '1') get distinct names.
    static func groupKeys(_ result: StatResult, column: Int, enum name: String) -> [(value: StatValue, name: String)] {
        let known = (TallySchema.enumValues[name] ?? []).map(StatValue.text)
        let found = Set(result.groups.keys.map { $0.values[column] })
        var keys: [(StatValue, String)] = []
        var used: Set<String> = []
        for value in known + found.subtracting(known).sorted() {
            var name = value.description
            if used.contains(name) { name += " (\(value.storageClass))" }
            // A stored text may spell that name too ('x''00'' (blob)'):
            // number the rest, so that no group's key replaces another's.
            let base = name
            var number = 2
            while used.contains(name) {
                name = "\(base) #\(number)"
                number += 1
            }
            used.insert(name)
            keys.append((value, name))
        }
        return keys
    }
}

extension StatValue {
    /// `null`, `integer`, `real`, `text` or `blob`, as SQL's `typeof()` says.
    public var storageClass: String {
        switch self {
        case .null: "null"
        case .integer: "integer"
        case .real: "real"
        case .text: "text"
        case .blob: "blob"
        }
    }
}
