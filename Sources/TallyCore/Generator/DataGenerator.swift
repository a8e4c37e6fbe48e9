import Foundation
public import GRDB
public import Logging

/// Fills a Tally database with deterministic synthetic data: the same
/// `bookings` and `seed` give byte-identical table contents on any machine.
///
/// For example:
///
/// ```swift
/// let database = try TallyDatabase.openForWriting(path: "demo.sqlite")
/// let report = try DataGenerator(bookings: 100_000, seed: 42).run(on: database)
/// print(report.rowsPerSecond)
/// ```
///
/// Everything runs in one transaction with prepared statements stepped
/// through the C API. Documented indexes are dropped first and rebuilt after
/// the inserts (building an index once is much cheaper than maintaining it
/// row by row), unless `keepIndexes` is set. A run that fails or is killed
/// leaves nothing behind: the transaction is never committed.
public struct DataGenerator: Sendable {
    /// Progress of a run, reported every few thousand rows.
    public struct Progress: Sendable {
        public let table: String
        public let rowsInserted: Int
        public let rowsExpected: Int
    }

    /// What a run inserted, and how fast.
    public struct Report: Sendable, Codable {
        public var rows: [String: Int]
        public var totalRows: Int
        /// The whole run: inserts, index builds, ANALYZE and commit.
        public var seconds: Double
        /// The inserts alone.
        public var insertSeconds: Double = 0
        /// Building the documented indexes and ANALYZE, after the inserts.
        public var indexSeconds: Double = 0
        public var indexesBuilt: Int = 0
        public var rowsPerSecond: Double { seconds > 0 ? Double(totalRows) / seconds : 0 }
        public var insertRowsPerSecond: Double { insertSeconds > 0 ? Double(totalRows) / insertSeconds : 0 }

        enum CodingKeys: String, CodingKey {
            case rows, totalRows, seconds, insertSeconds, indexSeconds, indexesBuilt, rowsPerSecond, insertRowsPerSecond
        }

        init(rows: [String: Int], totalRows: Int, seconds: Double) {
            self.rows = rows
            self.totalRows = totalRows
            self.seconds = seconds
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            rows = try c.decode([String: Int].self, forKey: .rows)
            totalRows = try c.decode(Int.self, forKey: .totalRows)
            seconds = try c.decode(Double.self, forKey: .seconds)
            insertSeconds = try c.decode(Double.self, forKey: .insertSeconds)
            indexSeconds = try c.decode(Double.self, forKey: .indexSeconds)
            indexesBuilt = try c.decode(Int.self, forKey: .indexesBuilt)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(rows, forKey: .rows)
            try c.encode(totalRows, forKey: .totalRows)
            try c.encode(seconds, forKey: .seconds)
            try c.encode(insertSeconds, forKey: .insertSeconds)
            try c.encode(indexSeconds, forKey: .indexSeconds)
            try c.encode(indexesBuilt, forKey: .indexesBuilt)
            try c.encode(rowsPerSecond, forKey: .rowsPerSecond)
            try c.encode(insertRowsPerSecond, forKey: .insertRowsPerSecond)
        }
    }

    /// How many rows of each table a run makes for `bookings`.
    public struct Sizes: Sendable, Equatable {
        public let users, drivers, vehicles, bookings, organizations: Int

        public init(bookings n: Int) {
            bookings = n
            users = n == 0 ? 0 : max(10, n / 5)
            drivers = n == 0 ? 0 : max(2, n / 50)
            vehicles = drivers * 6 / 5
            organizations = n == 0 ? 0 : max(3, n / 500)
        }

        /// Payments average about 0.9 per booking, modules about 19 per organization.
        var expectedRows: Int { users + drivers + vehicles + bookings * 19 / 10 + organizations * 20 }
    }

    public let bookings: Int
    public let seed: UInt64
    /// Keep the documented indexes in place during the inserts (slower).
    public var keepIndexes = false
    /// Delete existing rows first instead of refusing a non-empty database.
    public var replace = false

    public init(bookings: Int, seed: UInt64 = 42) {
        self.bookings = bookings
        self.seed = seed
    }

    /// The data spans three calendar years, fixed so output never depends on today.
    static let bookingsStart: Int64 = 1_672_531_200_000  // 2023-01-01T00:00:00Z
    static let bookingsEnd: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z
    static let accountsStart: Int64 = 1_640_995_200_000  // 2022-01-01T00:00:00Z
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000
    static let day: Int64 = 86_400_000

    /// Generates into `database`, opened for writing.
    ///
    /// - throws: `TallyError.Kind.file` when it was opened read-only.
    public func run(
        on database: TallyDatabase, logger: Logger = Logger(label: "tally.generator"),
        progress: (@Sendable (Progress) -> Void)? = nil
    ) throws -> Report {
        guard let writer = database.writer else {
            throw TallyError(.file, "\(database.path) is open read-only; generating needs it opened for writing", path: database.path)
        }
        return try run(in: writer, logger: logger, progress: progress)
    }

    public func run(
        in pool: DatabasePool, logger: Logger = Logger(label: "tally.generator"),
        progress: (@Sendable (Progress) -> Void)? = nil
    ) throws -> Report {
        guard bookings >= 0 else { throw TallyError.invalid("--bookings must be zero or more, got \(bookings)") }
        let started = ContinuousClock.now
        var report = Report(rows: [:], totalRows: 0, seconds: 0)
        try pool.writeWithoutTransaction { db in
            // Enough page cache that the inserts don't spill mid-transaction;
            // index builds sort in memory.
            let previousCacheSize = try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? -2000
            try db.execute(sql: "PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = OFF")
            defer { try? db.execute(sql: "PRAGMA cache_size = \(previousCacheSize); PRAGMA temp_store = DEFAULT; PRAGMA foreign_keys = ON") }
            try db.inTransaction(.immediate) {
                // Rollups' triggers would cost more than the inserts: they go,
                // and come back rebuilt from one scan, in this transaction.
                let rollups = try Rollups.installed(in: db)
                if !rollups.isEmpty { try Rollups.remove(in: db) }
                try prepare(db)
                let indexes = keepIndexes ? [] : try IndexManager.presentDocumentedIndexes(db)
                for index in indexes { try db.execute(sql: index.dropSQL) }
                var writer = RowWriter(db: db, sizes: Sizes(bookings: bookings), seed: seed, progress: progress)
                let insertStarted = ContinuousClock.now
                report.rows = try writer.insertAll()
                report.insertSeconds = Self.seconds(since: insertStarted)
                if !indexes.isEmpty || keepIndexes {
                    let indexStarted = ContinuousClock.now
                    progress?(.init(table: "indexes", rowsInserted: writer.inserted, rowsExpected: writer.inserted))
                    for index in indexes { try db.execute(sql: index.createSQL) }
                    // Sampled statistics: a full ANALYZE of 2M rows costs a
                    // third of a second for plans that come out the same.
                    try db.execute(sql: "PRAGMA analysis_limit = 10000; ANALYZE; PRAGMA analysis_limit = 0")
                    report.indexSeconds = Self.seconds(since: indexStarted)
                    report.indexesBuilt = indexes.count
                }
                if !rollups.isEmpty { try Rollups.install(rollups, in: db) }
                return .commit
            }
        }
        report.totalRows = report.rows.values.reduce(0, +)
        report.seconds = Self.seconds(since: started)
        logger.debug("generated", metadata: ["rows": "\(report.totalRows)", "seconds": "\(report.seconds)"])
        return report
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        (ContinuousClock.now - start) / .seconds(1)
    }

    private func prepare(_ db: Database) throws {
        let counts = try TallySchema.tables.map { table in
            (table.name, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.name)") ?? 0)
        }
        guard counts.contains(where: { $0.1 > 0 }) else { return }
        guard replace else {
            let nonEmpty = counts.filter { $0.1 > 0 }.map { "\($0.0) (\($0.1) rows)" }.joined(separator: ", ")
            throw TallyError(.state, "the database already holds data: \(nonEmpty); pass --replace to regenerate it")
        }
        for table in TallySchema.tables.reversed() {
            try db.execute(sql: "DELETE FROM \(table.name)")
        }
    }
}

/// The inserts of one run, table by table, from one seeded random stream per
/// table (so that changing one table's shape does not reshuffle the others).
private struct RowWriter {
    let db: Database
    let sizes: DataGenerator.Sizes
    let seed: UInt64
    let progress: (@Sendable (DataGenerator.Progress) -> Void)?
    var inserted = 0

    init(db: Database, sizes: DataGenerator.Sizes, seed: UInt64, progress: (@Sendable (DataGenerator.Progress) -> Void)?) {
        self.db = db
        self.sizes = sizes
        self.seed = seed
        self.progress = progress
    }

    func random(_ stream: UInt64) -> SplitMix64 {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        return SplitMix64(seed: mixer.next())
    }

    mutating func tick(_ table: String) {
        inserted += 1
        if inserted & 0xFFFF == 0, let progress {
            progress(.init(table: table, rowsInserted: inserted, rowsExpected: sizes.expectedRows))
        }
    }

    mutating func insertAll() throws -> [String: Int] {
        var rows: [String: Int] = [:]
        let driverUsers = try insertUsers()
        rows["users"] = sizes.users
        rows["drivers"] = try insertDrivers(driverUsers: driverUsers)
        rows["vehicles"] = try insertVehicles()
        let (bookings, payments) = try insertBookingsAndPayments()
        rows["bookings"] = bookings
        rows["payments"] = payments
        let (organizations, modules) = try insertOrganizationsAndModules()
        rows["organizations"] = organizations
        rows["modules"] = modules
        return rows
    }

    static let firstNames = [
        "Ada", "Ben", "Chloé", "Dev", "Emma", "Farid", "Grace", "Hiro", "Inès", "Jonas",
        "Kemi", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rafael", "Sara", "Tomás",
    ]
    static let lastNames = [
        "Adeyemi", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Haddad",
        "Ivanova", "Jensen", "Kowalski", "Lopez", "Martin", "Nakamura", "O'Brien",
        "Petrov", "Rossi", "Silva", "Tanaka", "Weber",
    ]

    /// Inserts users; returns the ids of those with role DRIVER.
    mutating func insertUsers() throws -> [Int64] {
        var rng = random(1)
        let insert = try RawInsert(db, sql: "INSERT INTO users (id, email, name, role, isActive, createdAt) VALUES (?, ?, ?, ?, ?, ?)")
        let roles = [TextBytes("CUSTOMER"), TextBytes("DRIVER"), TextBytes("ADMIN")]
        let roleWeights = WeightedChoice([88, 10, 2])
        let first = Self.firstNames.map(TextBytes.init)
        let last = Self.lastNames.map(TextBytes.init)
        let email = TextBytes(), name = TextBytes()
        var driverUsers: [Int64] = []
        driverUsers.reserveCapacity(sizes.users / 9)
        let span = DataGenerator.bookingsEnd - DataGenerator.accountsStart
        for i in 0..<sizes.users {
            let id = Int64(i + 1)
            let f = first[rng.below(first.count)], l = last[rng.below(last.count)]
            name.clear(); name.append(f); name.appendByte(32); name.append(l)
            email.clear(); email.append("user"); email.append(decimal: id); email.append("@example.com")
            let role = rng.pick(roleWeights)
            if role == 1 { driverUsers.append(id) }
            insert.bind(1, id)
            insert.bind(2, email)
            if rng.chance(0.03) { insert.bindNull(3) } else { insert.bind(3, name) }
            insert.bind(4, roles[role])
            insert.bind(5, rng.chance(0.9) ? Int64(1) : 0)
            insert.bind(6, DataGenerator.accountsStart + Int64(rng.below(Int(span))))
            try insert.step()
            tick("users")
        }
        return driverUsers
    }

    mutating func insertDrivers(driverUsers: [Int64]) throws -> Int {
        var rng = random(2)
        let insert = try RawInsert(db, sql: "INSERT INTO drivers (id, userId, isAvailable, rating, createdAt) VALUES (?, ?, ?, ?, ?)")
        let span = DataGenerator.bookingsEnd - DataGenerator.accountsStart
        for i in 0..<sizes.drivers {
            insert.bind(1, Int64(i + 1))
            let userId = driverUsers.isEmpty ? Int64(1 + rng.below(sizes.users)) : driverUsers[i % driverUsers.count]
            insert.bind(2, userId)
            insert.bind(3, rng.chance(0.4) ? Int64(1) : 0)
            if rng.chance(0.15) {
                insert.bindNull(4)  // not rated yet
            } else {
                let u = rng.unit()
                // Mostly good ratings, a thin tail of poor ones; two decimals.
                let raw = rng.chance(0.04) ? 1.0 + 1.5 * u : 5.0 - 2.5 * u * u
                insert.bind(4, (raw * 100).rounded() / 100)
            }
            insert.bind(5, DataGenerator.accountsStart + Int64(rng.below(Int(span))))
            try insert.step()
            tick("drivers")
        }
        return sizes.drivers
    }

    mutating func insertVehicles() throws -> Int {
        var rng = random(3)
        let insert = try RawInsert(db, sql: "INSERT INTO vehicles (id, driverId, type, plate, isAvailable, createdAt) VALUES (?, ?, ?, ?, ?, ?)")
        let types = [TextBytes("CAR"), TextBytes("MOTORBIKE"), TextBytes("VAN"), TextBytes("TRUCK")]
        let typeWeights = WeightedChoice([55, 20, 15, 10])
        let plate = TextBytes()
        let span = DataGenerator.bookingsEnd - DataGenerator.accountsStart
        for i in 0..<sizes.vehicles {
            let id = Int64(i + 1)
            insert.bind(1, id)
            if sizes.drivers > 0, rng.chance(0.9) {
                insert.bind(2, Int64(1 + rng.below(sizes.drivers)))
            } else {
                insert.bindNull(2)
            }
            insert.bind(3, types[rng.pick(typeWeights)])
            plate.clear(); plate.append("TL-"); plate.append(id, radix: 36, minimumDigits: 6)
            insert.bind(4, plate)
            insert.bind(5, rng.chance(0.65) ? Int64(1) : 0)
            insert.bind(6, DataGenerator.accountsStart + Int64(rng.below(Int(span))))
            try insert.step()
            tick("vehicles")
        }
        return sizes.vehicles
    }

    enum Status: Int { case pending, confirmed, inProgress, completed, cancelled }

    mutating func insertBookingsAndPayments() throws -> (Int, Int) {
        var rng = random(4)
        let booking = try RawInsert(
            db,
            sql: """
                INSERT INTO bookings (id, userId, driverId, vehicleId, serviceType, status, price, scheduledDate, createdAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        let payment = try RawInsert(db, sql: "INSERT INTO payments (id, bookingId, amount, status, createdAt) VALUES (?, ?, ?, ?, ?)")
        let services = [TextBytes("RIDE"), TextBytes("DELIVERY"), TextBytes("RENTAL")]
        let serviceWeights = WeightedChoice([62, 28, 10])
        let statuses = [TextBytes("PENDING"), TextBytes("CONFIRMED"), TextBytes("IN_PROGRESS"), TextBytes("COMPLETED"), TextBytes("CANCELLED")]
        let statusWeights = WeightedChoice([10, 11, 7, 58, 14])
        let paymentPending = TextBytes("PENDING"), paymentCompleted = TextBytes("COMPLETED")
        let paymentFailed = TextBytes("FAILED"), paymentRefunded = TextBytes("REFUNDED")
        let priceRanges: [ClosedRange<Int64>] = [500...6_000, 300...3_500, 4_000...60_000]
        let span = Double(DataGenerator.bookingsEnd - DataGenerator.bookingsStart)
        let n = Double(max(sizes.bookings, 1))
        var paymentId: Int64 = 0

        func pay(_ bookingId: Int64, _ amount: Int64, _ status: TextBytes, _ at: Int64) throws {
            paymentId += 1
            payment.bind(1, paymentId)
            payment.bind(2, bookingId)
            payment.bind(3, amount)
            payment.bind(4, status)
            payment.bind(5, at)
            try payment.step()
        }

        for i in 0..<sizes.bookings {
            let id = Int64(i + 1)
            // Ids ascend with time and the business grows: density rises over the years.
            let createdAt = DataGenerator.bookingsStart + Int64(span * ((Double(i) + rng.unit()) / n).squareRoot())
            let service = rng.pick(serviceWeights)
            let status = Status(rawValue: rng.pick(statusWeights))!
            let price = rng.chance(0.01) ? 0 : rng.int(in: priceRanges[service])
            booking.bind(1, id)
            booking.bind(2, Int64(1 + rng.below(sizes.users)))
            let assigned = status != .pending && !(status == .cancelled && rng.chance(0.5))
            if assigned {
                booking.bind(3, Int64(1 + rng.below(sizes.drivers)))
                if sizes.vehicles > 0, rng.chance(0.8) {
                    booking.bind(4, Int64(1 + rng.below(sizes.vehicles)))
                } else {
                    booking.bindNull(4)
                }
            } else {
                booking.bindNull(3)
                booking.bindNull(4)
            }
            booking.bind(5, services[service])
            booking.bind(6, statuses[status.rawValue])
            booking.bind(7, price)
            booking.bind(8, createdAt + rng.int(in: 15 * DataGenerator.minute...10 * DataGenerator.day))
            booking.bind(9, createdAt)
            try booking.step()
            tick("bookings")

            // 0–2 payments, shaped by the booking's status.
            let paidAt = createdAt + rng.int(in: DataGenerator.minute...3 * DataGenerator.hour)
            let r = rng.below(100)
            switch status {
            case .completed:
                if r < 92 {
                    try pay(id, price, paymentCompleted, paidAt)
                } else if r < 97 {
                    try pay(id, price, paymentFailed, paidAt)
                    try pay(id, price, paymentCompleted, paidAt + rng.int(in: DataGenerator.minute...DataGenerator.day))
                } else {
                    try pay(id, price, paymentRefunded, paidAt)
                }
            case .cancelled:
                if r < 55 {
                } else if r < 85 {
                    try pay(id, price, paymentRefunded, paidAt)
                } else {
                    try pay(id, price, paymentFailed, paidAt)
                }
            case .pending:
                if r >= 70 { try pay(id, price, paymentPending, paidAt) }
            case .confirmed:
                try pay(id, price, r < 50 ? paymentPending : paymentCompleted, paidAt)
            case .inProgress:
                try pay(id, price, r < 30 ? paymentPending : paymentCompleted, paidAt)
            }
        }
        inserted += Int(paymentId)
        return (sizes.bookings, Int(paymentId))
    }

    static let moduleKeys = [
        "analytics", "billing", "bookings", "calendar", "chat", "compliance", "crm", "dispatch", "documents",
        "email", "exports", "fleet", "forms", "geofencing", "helpdesk", "hr", "inventory", "invoices", "kyc",
        "leads", "loyalty", "maintenance", "maps", "marketing", "notifications", "payments", "payroll",
        "pricing", "promotions", "quotes", "ratings", "reports", "routing", "scheduling", "sms", "sso",
        "surveys", "tasks", "telematics", "webhooks",
    ]
    static let orgWords = [
        "Acme", "Blue", "City", "Delta", "Eagle", "Fast", "Green", "Harbor", "Iron", "Jet",
        "Kite", "Lime", "Metro", "North", "Orbit", "Pine", "Quick", "River", "Swift", "Urban",
    ]
    static let orgSuffixes = ["Logistics", "Rides", "Mobility", "Couriers", "Fleet", "Transit", "Movers", "Cabs"]

    mutating func insertOrganizationsAndModules() throws -> (Int, Int) {
        var rng = random(5)
        let organization = try RawInsert(db, sql: "INSERT INTO organizations (id, name, createdAt) VALUES (?, ?, ?)")
        let module = try RawInsert(db, sql: "INSERT INTO modules (id, organizationId, key, isActive, createdAt) VALUES (?, ?, ?, ?, ?)")
        let keys = Self.moduleKeys.map(TextBytes.init)
        let words = Self.orgWords.map(TextBytes.init), suffixes = Self.orgSuffixes.map(TextBytes.init)
        let orgId = TextBytes(), name = TextBytes()
        // Strictly increasing creation times make the opaque ids unique.
        let step = max(1, (DataGenerator.bookingsEnd - DataGenerator.accountsStart) / Int64(max(sizes.organizations, 1)))
        var moduleId: Int64 = 0
        for i in 0..<sizes.organizations {
            let createdAt = DataGenerator.accountsStart + Int64(i) * step + Int64(rng.below(Int(step)))
            orgId.clear(); orgId.append(decimal: createdAt); orgId.appendByte(45)  // "-"
            orgId.append(Int64(rng.below(101_559_956_668_416)), radix: 36, minimumDigits: 9)  // 36^9
            name.clear(); name.append(words[rng.below(words.count)]); name.appendByte(32)
            name.append(suffixes[rng.below(suffixes.count)]); name.appendByte(32); name.append(decimal: Int64(i + 1))
            organization.bind(1, orgId)
            organization.bind(2, name)
            organization.bind(3, createdAt)
            try organization.step()
            tick("organizations")
            // 0–40 modules; one organization in eight has none at all.
            let count = rng.chance(0.125) ? 0 : rng.below(keys.count + 1)
            let offset = rng.below(keys.count)
            for k in 0..<count {
                moduleId += 1
                module.bind(1, moduleId)
                module.bind(2, orgId)
                module.bind(3, keys[(offset + k) % keys.count])
                module.bind(4, rng.chance(0.8) ? Int64(1) : 0)
                module.bind(5, createdAt + rng.int(in: DataGenerator.hour...400 * DataGenerator.day))
                try module.step()
                tick("modules")
            }
        }
        return (sizes.organizations, Int(moduleId))
    }
}
