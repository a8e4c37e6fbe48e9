import Foundation
import GRDB
import TallyTestSupport
import Testing

@testable import TallyCore

/// A value as SQLite would store it.
private func v(_ value: some DatabaseValueConvertible) -> DatabaseValue { value.databaseValue }

/// Databases holding every storage class in every column (what passes the
/// schema's CHECKs, and anything at all without them), generated from a
/// seed: every strategy must give SQL's own answer (same value, same storage
/// class) or fail as SQL fails, naming the table and column.
@Suite("Any stored value")
struct StoredValueTests {
    /// A small database of adversarial rows.
    struct Generated {
        let path: String
        let foreign: Bool
    }

    /// Values chosen to break what assumes a column holds its declared type.
    static let oddValues: [DatabaseValue] = oddValueList()

    static func oddValueList() -> [DatabaseValue] {
        var values: [DatabaseValue] = [
            .null, v(0), v(1), v(-1), v(Int64.max), v(Int64.min),
            v(9_007_199_254_740_993), v(1e300), v(-0.0), v(0.5), v(1.0),
            "abc".databaseValue, "".databaseValue, "12".databaseValue, " 7 ".databaseValue, "1e3".databaseValue, "12abc".databaseValue,
            "PENDING".databaseValue, "COMPLETED".databaseValue, "CAR".databaseValue, "ADMIN".databaseValue,
            Data([0x00, 0xFF]).databaseValue, Data().databaseValue, Data("COMPLETED".utf8).databaseValue,
            String(repeating: "long-", count: 80).databaseValue, "日本語".databaseValue,
        ]
        values.append(v(Int64.max))
        return values
    }

    /// Amounts, by seed: integers that can overflow a sum; reals and texts
    /// that make it a real; integers past 2^53 whose sums must stay exact.
    /// Never overflow and reals in one database, so that SQL's own answer
    /// does not depend on the order it adds rows in.
    static func amounts(seed: UInt64) -> [DatabaseValue] {
        switch seed % 3 {
        case 0: [v(0), v(1), v(Int64.max), v(5_000_000_000_000_000_000), v(12_345)]
        case 1:
            [
                v(0.5), v(1e300), v(-0.0), "abc".databaseValue, "12".databaseValue,
                "12abc".databaseValue, Data([0x31, 0x32]).databaseValue, v(700), v(1e15),
            ]
        default: [v(9_007_199_254_740_993), v(1 << 60), v(3), "7".databaseValue, v(4_611_686_018_427_387_903)]
        }
    }

    static func generate(seed: UInt64, foreign: Bool, in dir: TemporaryDirectory) throws -> Generated {
        var rng = SplitMix64(seed: seed)
        let path = dir.path("v-\(seed)-\(foreign).sqlite")
        var configuration = Configuration()
        configuration.foreignKeysEnabled = false
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.write { db in
            if foreign {
                // The contract's tables and declared types, without a CHECK,
                // NOT NULL, UNIQUE or key.
                try db.execute(sql: foreignSchemaSQL)
            } else {
                try db.execute(sql: TallySchema.sql)
            }
            func pick(_ normal: [DatabaseValue], odd: Double = 0.35, pool: [DatabaseValue] = oddValues) -> DatabaseValue {
                rng.unit() < odd ? pool[rng.below(pool.count)] : normal[rng.below(normal.count)]
            }
            func insert(_ sql: String, _ values: [DatabaseValue]) {
                // A row a CHECK refuses is not inserted (the contract schema).
                try? db.execute(sql: sql, arguments: StatementArguments(values))
            }
            let flags: [DatabaseValue] = [v(0), v(1)]
            let time = { (i: Int) in (1_704_067_200_000 + Int64(i) * 7 * 86_400_000).databaseValue }  // from 2024-01-01, weekly
            for i in 0..<30 {
                insert(
                    "INSERT INTO users (email, name, role, isActive, createdAt) VALUES (?, ?, ?, ?, ?)",
                    [
                        "u\(i)@x".databaseValue, pick(["Ann".databaseValue]),
                        pick(["CUSTOMER", "DRIVER", "ADMIN"].map(\.databaseValue)), pick(flags), time(i),
                    ])
            }
            for i in 0..<12 {
                insert(
                    "INSERT INTO drivers (userId, isAvailable, rating, createdAt) VALUES (?, ?, ?, ?)",
                    [
                        pick([v(1)]), pick(flags), pick([v(4.5), v(3), .null]), time(i),
                    ])
            }
            for i in 0..<12 {
                insert(
                    "INSERT INTO vehicles (driverId, type, plate, isAvailable, createdAt) VALUES (?, ?, ?, ?, ?)",
                    [
                        pick([v(1), .null]), pick(["CAR", "MOTORBIKE", "VAN", "TRUCK"].map(\.databaseValue)),
                        "P\(i)".databaseValue, pick(flags), time(i),
                    ])
            }
            let statuses = ["PENDING", "CONFIRMED", "IN_PROGRESS", "COMPLETED", "CANCELLED"].map(\.databaseValue)
            for i in 0..<50 {
                insert(
                    """
                    INSERT INTO bookings (userId, driverId, vehicleId, serviceType, status, price, scheduledDate, createdAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        pick([v(1)]), pick([.null, v(2)]), pick([.null, v(3)]),
                        pick(["RIDE", "DELIVERY", "RENTAL"].map(\.databaseValue)), pick(statuses),
                        pick([v(1_500), v(2_000)]), time(i), pick([time(i)], odd: 0.2),
                    ])
            }
            let paymentStatuses = ["PENDING", "COMPLETED", "FAILED", "REFUNDED"].map(\.databaseValue)
            for i in 0..<60 {
                // `createdAt` rises with the rowid whatever its storage class, so
                // that every plan adds a group's rows in the same order.
                let created: DatabaseValue =
                    switch rng.below(10) {
                    case 0: "not a time".databaseValue
                    case 1: Data([1, 2]).databaseValue
                    case 2: foreign ? .null : time(i)
                    case 3: (Double(1_704_067_200_000 + Int64(i) * 6 * 86_400_000) + 0.5).databaseValue
                    default: (1_704_067_200_000 + Int64(i) * 6 * 86_400_000).databaseValue
                    }
                insert(
                    "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (?, ?, ?, ?)",
                    [
                        v(1), pick([v(100), v(2_500)], odd: 0.5, pool: amounts(seed: seed)),
                        pick(paymentStatuses, odd: 0.2), created,
                    ])
            }
            let organizations: [DatabaseValue] = ["o1", "o2", "o3", "1757366075154-i554z93kl"].map(\.databaseValue) + [v(7)]
            for (i, id) in organizations.enumerated() {
                insert("INSERT INTO organizations (id, name, createdAt) VALUES (?, ?, ?)", [id, pick(["Org".databaseValue]), time(i)])
            }
            for i in 0..<25 {
                insert(
                    "INSERT INTO modules (organizationId, key, isActive, createdAt) VALUES (?, ?, ?, ?)",
                    [
                        pick(organizations, odd: 0.15), "k\(i)".databaseValue, pick(flags), time(i),
                    ])
            }
        }
        try queue.close()
        // Rollups kept by triggers over the same rows: the `rollup` strategy
        // must give SQL's answer too.
        let writer = try TallyDatabase.openForWriting(path: path)
        try Rollups.enable(on: writer)
        try writer.close()
        return Generated(path: path, foreign: foreign)
    }

    static let seeds: [UInt64] = Array(0..<24)

    @Test("the dashboard: every strategy gives SQL's answer or SQL's error", arguments: seeds, [false, true])
    func dashboard(seed: UInt64, foreign: Bool) async throws {
        let dir = try TemporaryDirectory()
        let generated = try Self.generate(seed: seed, foreign: foreign, in: dir)
        let database = try TallyDatabase.openReadOnly(path: generated.path)
        let reference = await Outcome { try await database.reader.read { try referenceDashboard($0) } }
        for (strategy, parallelism) in [(Strategy.singlePass, 1), (.singlePass, 2), (.grouped, 2), (.naive, 1), (.rollup, 1)] {
            let engine = TallyEngine(database: database, cache: .disabled, maximumParallelism: parallelism)
            let got = await Outcome { try await engine.dashboard(strategy: strategy) }
            switch (reference, got) {
            case (.value(let expected), .value(let answer)):
                #expect(sameNumbers(answer, expected), "seed \(seed) foreign \(foreign) \(strategy)×\(parallelism)")
            case (.overflow, .overflow):
                break
            default:
                Issue.record("seed \(seed) foreign \(foreign) \(strategy)×\(parallelism): SQL \(reference), engine \(got)")
            }
        }
    }

    @Test("a stat of every aggregate over odd columns: SQL's values and storage classes", arguments: seeds, [false, true])
    func everyAggregate(seed: UInt64, foreign: Bool) async throws {
        let dir = try TemporaryDirectory()
        let generated = try Self.generate(seed: seed, foreign: foreign, in: dir)
        let database = try TallyDatabase.openReadOnly(path: generated.path)
        let stat = Stat(
            name: "odd", table: "bookings", groupBy: ["status"],
            aggregates: [
                .count, .countNonNull("driverId"), .min("price"), .max("price"), .min("serviceType"), .max("createdAt"),
                .avg("createdAt"), .sum("driverId"),
            ])
        // SQL's answer, one plain query per group.
        let reference = await Outcome { () -> [StatValue: [StatValue]] in
            try await database.reader.read { db in
                var groups: [StatValue: [StatValue]] = [:]
                for status in try DatabaseValue.fetchAll(db, sql: "SELECT DISTINCT status FROM bookings") {
                    let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT COUNT(*), COUNT(driverId), MIN(price), MAX(price), MIN(serviceType), MAX(createdAt), AVG(createdAt), SUM(driverId)
                            FROM bookings WHERE status IS ?
                            """, arguments: [status])!
                    groups[StatValue(key: status)] = row.databaseValues.map { StatValue($0) }
                }
                return groups
            }
        }
        for strategy in Strategy.scans {
            let got = await Outcome { try await TallyEngine(database: database, cache: .disabled).run([stat], strategy: strategy)[0] }
            switch (reference, got) {
            case (.value(let expected), .value(let result)):
                #expect(result.groups.count == expected.count, "seed \(seed) \(strategy)")
                for (key, aggregates) in result.groups {
                    let want = try #require(expected[key.values[0]], "seed \(seed) \(strategy): group \(key)")
                    for a in aggregates.indices {
                        let message = "seed \(seed) \(strategy) \(key.values[0]) \(stat.aggregates[a]): \(aggregates[a]) vs SQL \(want[a])"
                        #expect(Self.same(aggregates[a], want[a]), Comment(rawValue: message))
                    }
                }
            case (.overflow, .overflow):
                break
            default:
                Issue.record("seed \(seed) \(strategy): SQL \(reference), engine \(got)")
            }
        }
    }

    /// The same value and storage class (1 and 1.0 compare equal in SQL but
    /// are not the same answer); reals within 1e-9 relative.
    static func same(_ a: StatValue, _ b: StatValue) -> Bool {
        switch (a, b) {
        case (.real(let x), .real(let y)): close(x, y)
        default: a == b
        }
    }

    @Test(
        "revenue in several zones: every strategy agrees with SQL over Calendar's months", arguments: seeds, ["UTC", "Europe/Paris", "Asia/Kolkata"])
    func revenue(seed: UInt64, zoneName: String) async throws {
        let dir = try TemporaryDirectory()
        let generated = try Self.generate(seed: seed, foreign: seed % 3 == 0, in: dir)
        let database = try TallyDatabase.openReadOnly(path: generated.path)
        // The months of 2024 by Foundation's Calendar, independent of PeriodGrid.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zoneName)!
        let starts = (1...13).map { month in
            Int64(
                calendar.date(from: DateComponents(year: 2024 + (month - 1) / 12, month: (month - 1) % 12 + 1, day: 1))!
                    .timeIntervalSince1970 * 1000)
        }
        let reference = await Outcome { () -> [(Int64, Amount)] in
            try await database.reader.read { db in
                try (0..<12).map { (i: Int) throws -> (Int64, Amount) in
                    let row: Row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT COUNT(*), SUM(amount) FROM payments WHERE status = 'COMPLETED' AND createdAt >= ? AND createdAt < ?
                            """, arguments: [starts[i], starts[i + 1]])!
                    let sum: Amount =
                        switch (row[1] as DatabaseValue).storage {
                        case .int64(let v): .integer(v)
                        case .double(let v): .real(v)
                        default: 0
                        }
                    return (row[0] as Int64, sum)
                }
            }
        }
        let query = try RevenueQuery(period: .month, zone: Zone(zoneName), from: starts[0], to: starts[12])
        for strategy in Strategy.scans + [.rollup] {
            let got = await Outcome { try await TallyEngine(database: database, cache: .disabled).revenue(query, strategy: strategy) }
            switch (reference, got) {
            case (.value(let expected), .value(let revenue)):
                #expect(revenue.buckets.count == 12)
                for (bucket, (count, amount)) in zip(revenue.buckets, expected) {
                    #expect(
                        bucket.count == count && close(bucket.amount, amount),
                        "seed \(seed) \(zoneName) \(strategy) \(bucket.start): \(bucket.count)/\(bucket.amount) vs SQL \(count)/\(amount)")
                }
            case (.overflow, .overflow):
                break
            case (.value(let expected), .overflow):
                // A total past 64 bits is SQL's overflow too, when no month overflowed alone.
                let total = await Outcome { () -> Amount in
                    try expected.reduce(Amount.integer(0)) { try $0.adding($1.1, column: "payments.amount") }
                }
                guard case .overflow = total else {
                    Issue.record("seed \(seed) \(zoneName) \(strategy): SQL \(reference), engine overflow")
                    continue
                }
            default:
                Issue.record("seed \(seed) \(zoneName) \(strategy): SQL \(reference), engine \(got)")
            }
        }
    }

    @Test("module counts: every strategy agrees with a plain count per organization", arguments: seeds)
    func moduleCounts(seed: UInt64) async throws {
        let dir = try TemporaryDirectory()
        let generated = try Self.generate(seed: seed, foreign: seed % 2 == 1, in: dir)
        let database = try TallyDatabase.openReadOnly(path: generated.path)
        let expected: [(String, Int64)] = try await database.reader.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, (SELECT COUNT(*) FROM modules m WHERE m.organizationId = o.id AND m.isActive = 1) FROM organizations o
                    """
            ).map { row -> (String, Int64) in (StatValue(key: row[0] as DatabaseValue).description, row[1] as Int64) }
        }
        for strategy in [ModuleStrategy.batched, .perOrg, .rollup] {
            let got = try await TallyEngine(database: database, cache: .disabled).moduleCounts(strategy: strategy)
            #expect(
                Dictionary(got.organizations.map { ($0.id, $0.activeModules) }, uniquingKeysWith: +)
                    == Dictionary(expected, uniquingKeysWith: +), "seed \(seed) \(strategy)")
        }
    }
}
