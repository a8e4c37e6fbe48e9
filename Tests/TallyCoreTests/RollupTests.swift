import Foundation
import GRDB
import TallyTestSupport
import Testing

@testable import TallyCore

/// Rollups kept by triggers, against scans of the same snapshot: after
/// seeded random workloads of inserts, updates, deletes, REPLACEs and
/// UPSERTs (with `recursive_triggers` off and on), through a connection that
/// is not Tally's, every answer by rollup equals the scans' and `verify`
/// finds nothing.
@Suite("Rollups")
struct RollupTests {
    /// Instants that break naive bucketing: changes of offset in the test
    /// zones, ISO week 1, St John's before 2010 (changes at 00:01), and
    /// seconds off the quarter hour.
    static let interesting: [Int64] = [
        "2024-03-31T00:59:59Z", "2024-03-31T01:00:00Z", "2024-10-27T00:59:00Z", "2024-10-27T01:30:00Z",  // Paris
        "2024-03-10T06:59:59Z", "2024-03-10T07:00:00Z", "2024-11-03T05:30:00Z", "2024-11-03T06:00:01Z",  // New York
        "2024-04-06T13:44:59Z", "2024-04-06T14:00:00Z", "2024-09-28T14:00:00Z",  // Chatham (+13:45/+12:45)
        "2024-04-06T14:59:00Z", "2024-10-05T15:30:00Z",  // Lord Howe (half-hour change)
        "2009-03-08T03:30:59Z", "2009-03-08T03:31:00Z", "2009-11-01T02:30:00Z", "2009-11-01T02:31:10Z",  // St John's 2009
        "2024-03-10T05:30:00Z", "2024-11-03T04:30:00Z",  // St John's 2024
        "2024-12-29T23:59:59Z", "2024-12-30T00:00:00Z", "2025-12-31T23:00:00Z", "2026-01-01T00:00:00Z",  // ISO week 1
        "2024-06-15T12:07:33Z", "2024-01-01T00:00:00Z", "2009-06-30T18:29:59Z",
    ].map { try! TimestampParser.parse($0, zone: .utc) }

    static let zones = ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "Australia/Lord_Howe", "America/St_Johns"]

    /// A generated database with rollups, then `operations` random writes by
    /// another connection.
    static func workload(seed: UInt64, recursive: Bool, operations: Int = 160, in dir: TemporaryDirectory) throws -> TallyDatabase {
        let path = dir.path("w-\(seed)-\(recursive).sqlite")
        try generatedDatabase(in: dir, bookings: 300, seed: seed, name: "w-\(seed)-\(recursive).sqlite").close()
        let database = try TallyDatabase.openForWriting(path: path)
        try Rollups.enable(on: database)
        try database.close()

        var rng = SplitMix64(seed: seed &* 7919)
        let other = try Self.foreignWriter(path)
        try other.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA recursive_triggers = \(recursive ? 1 : 0)")
            func pick<T>(_ values: [T]) -> T { values[rng.below(values.count)] }
            func time() -> Int64 { pick(interesting) + Int64(rng.below(3)) * 1_000 - 1_000 + (rng.chance(0.3) ? Int64(rng.below(900_000)) : 0) }
            let statuses = ["PENDING", "COMPLETED", "FAILED", "REFUNDED"]
            let amounts: [DatabaseValue] =
                [100, 2_500, 0, 99_999, 4_611_686_018_427_387_903].map { Int64($0).databaseValue }
                + [Double(12.5).databaseValue, "abc".databaseValue]
            for _ in 0..<operations {
                let sql: String
                var arguments: [DatabaseValue] = []
                switch rng.below(16) {
                case 0, 1, 2:
                    sql = "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, ?, ?, ?)"
                    arguments = [
                        rng.chance(0.9) ? pick(Array(amounts.prefix(4))) : pick(amounts), pick(statuses).databaseValue, time().databaseValue,
                    ]
                case 3:
                    sql = "INSERT OR REPLACE INTO payments (id, bookingId, amount, status, createdAt) VALUES (?, 1, ?, ?, ?)"
                    arguments = [
                        Int64(1 + rng.below(40)).databaseValue, pick(Array(amounts.prefix(3))), pick(statuses).databaseValue, time().databaseValue,
                    ]
                case 4:
                    sql = "UPDATE payments SET status = ?, amount = amount + 1 WHERE id % 13 = ?"
                    arguments = [pick(statuses).databaseValue, Int64(rng.below(13)).databaseValue]
                case 5:
                    sql = "UPDATE payments SET createdAt = ? WHERE id = ?"
                    arguments = [time().databaseValue, Int64(1 + rng.below(300)).databaseValue]
                case 6:
                    sql = "DELETE FROM payments WHERE id % 29 = ?"
                    arguments = [Int64(rng.below(29)).databaseValue]
                case 7:
                    sql = "UPDATE bookings SET status = ?, serviceType = ? WHERE id % 17 = ?"
                    arguments = [
                        pick(["PENDING", "CONFIRMED", "COMPLETED", "CANCELLED"]).databaseValue,
                        pick(["RIDE", "DELIVERY"]).databaseValue, Int64(rng.below(17)).databaseValue,
                    ]
                case 8:
                    sql =
                        "INSERT OR REPLACE INTO bookings (id, userId, serviceType, status, price, scheduledDate, createdAt) VALUES (?, 1, 'RENTAL', 'IN_PROGRESS', 5, 0, ?)"
                    arguments = [Int64(1 + rng.below(30)).databaseValue, time().databaseValue]
                case 9:
                    sql = "INSERT OR REPLACE INTO users (email, role, isActive, createdAt) VALUES (?, ?, ?, 0)"
                    arguments = [
                        "u\(rng.below(40))@x".databaseValue, pick(["CUSTOMER", "DRIVER", "ADMIN"]).databaseValue, Int64(rng.below(2)).databaseValue,
                    ]
                case 10:
                    sql = "UPDATE OR REPLACE users SET email = ? WHERE id = ?"
                    arguments = ["u\(rng.below(40))@x".databaseValue, Int64(1 + rng.below(60)).databaseValue]
                case 11:
                    sql =
                        "INSERT INTO modules (organizationId, key, isActive, createdAt) VALUES (?, ?, ?, 0) ON CONFLICT(organizationId, key) DO UPDATE SET isActive = 1 - isActive"
                    arguments = [pick(["o1", "o2", "o3"]).databaseValue, pick(["a", "b", "c"]).databaseValue, Int64(rng.below(2)).databaseValue]
                case 12:
                    sql = "INSERT OR IGNORE INTO payments (id, bookingId, amount, status, createdAt) VALUES (?, 1, 7, 'COMPLETED', ?)"
                    arguments = [Int64(1 + rng.below(60)).databaseValue, time().databaseValue]
                case 13:
                    sql = "UPDATE drivers SET rating = ?, isAvailable = 1 - isAvailable WHERE id % 7 = ?"
                    arguments = [
                        pick([Double(4.5).databaseValue, DatabaseValue.null, Double(3.25).databaseValue, Int64(5).databaseValue]),
                        Int64(rng.below(7)).databaseValue,
                    ]
                case 14:
                    sql = "INSERT OR REPLACE INTO organizations (id, name, createdAt) VALUES (?, 'O', 0)"
                    arguments = [pick(["o1", "o2", "o3", "o4"]).databaseValue]
                default:
                    sql = "DELETE FROM modules WHERE id % 11 = ?"
                    arguments = [Int64(rng.below(11)).databaseValue]
                }
                // A write the schema refuses (a CHECK) is rolled back alone.
                try? db.execute(sql: sql, arguments: StatementArguments(arguments))
            }
        }
        try other.close()
        return try TallyDatabase.openReadOnly(path: path)
    }

    @Test(
        "after random writes by another connection, every rollup equals its base rows and every answer the scans'",
        arguments: Array(UInt64(0)..<10), [false, true])
    func randomWorkloads(seed: UInt64, recursive: Bool) async throws {
        let dir = try TemporaryDirectory()
        let database = try Self.workload(seed: seed, recursive: recursive, in: dir)
        #expect(try await Rollups.verify(database) == [], "seed \(seed) recursive \(recursive)")
        #expect(try await Rollups.status(of: database).allIntact)
        let engine = TallyEngine(database: database, cache: .disabled)
        let byRollup = await Outcome { try await engine.dashboard(strategy: .rollup) }
        let scanned = await Outcome { try await engine.dashboard(strategy: .singlePass) }
        #expect(sameOutcome(byRollup, scanned), "seed \(seed) dashboard: \(byRollup) vs \(scanned)")
        #expect(sameOutcome(await Outcome { try await engine.dashboard(strategy: .grouped) }, scanned))
        if case .value(let answer) = byRollup { #expect(answer.meta.strategy?.hasPrefix("rollup") == true) }
        #expect(try await engine.moduleCounts(strategy: .rollup).organizations == engine.moduleCounts(strategy: .batched).organizations)
        if recursive {
            // Half the runs read cut 15-minute buckets without an index on
            // payments.createdAt (one scan for all, or the single pass).
            let writer = try DatabaseQueue(path: database.path)
            try await writer.write { db in
                for index in try db.indexes(on: "payments") where index.columns.contains("createdAt") {
                    try db.execute(sql: "DROP INDEX \(index.name)")
                }
            }
            try writer.close()
        }
        for zone in Self.zones {
            for (from, to) in [("2009-01-01", "2010-01-01"), ("2024-01-01", "2025-01-01"), ("2024-12-23", "2026-01-12")] {
                for period in [Period.day, .week, .month] {
                    let query = try RevenueQuery(period: period.rawValue, timeZone: zone, from: from, to: to)
                    let rollupOutcome = await Outcome { try await engine.revenue(query, strategy: .rollup) }
                    let scanOutcome = await Outcome { try await engine.revenue(query, strategy: .singlePass) }
                    guard case .value(let rollup) = rollupOutcome, case .value(let scan) = scanOutcome else {
                        if case .overflow = rollupOutcome, case .overflow = scanOutcome { continue }
                        Issue.record("seed \(seed) \(zone) \(period) \(from): \(rollupOutcome) vs \(scanOutcome)")
                        continue
                    }
                    #expect(rollup.buckets.count == scan.buckets.count)
                    let same = zip(rollup.buckets, scan.buckets).allSatisfy {
                        $0.start == $1.start && $0.count == $1.count && close($0.amount, $1.amount)
                    }
                    #expect(same && rollup.total.count == scan.total.count, "seed \(seed) \(zone) \(period) \(from)")
                }
            }
        }
        // The data's own range (no from/to): the rollup's first and last
        // buckets, resolved exactly where a period boundary cuts them.
        for zone in Self.zones {
            for period in [Period.day, .month] {
                let query = try RevenueQuery(period: period.rawValue, timeZone: zone)
                let rollupOutcome = await Outcome { try await engine.revenue(query, strategy: .rollup) }
                let scanOutcome = await Outcome { try await engine.revenue(query, strategy: .singlePass) }
                guard case .value(let rollup) = rollupOutcome, case .value(let scan) = scanOutcome else {
                    // Both failed the same way (an overflow, a range outside the calendar).
                    let same =
                        switch (rollupOutcome, scanOutcome) {
                        case (.overflow, .overflow): true
                        case (.otherError(let a), .otherError(let b)): a == b
                        default: false
                        }
                    #expect(same, "seed \(seed) \(zone) \(period): \(rollupOutcome) vs \(scanOutcome)")
                    continue
                }
                #expect(rollup.from == scan.from && rollup.to == scan.to, "seed \(seed) \(zone) \(period)")
                #expect(rollup.buckets.map(\.start) == scan.buckets.map(\.start) && rollup.buckets.map(\.count) == scan.buckets.map(\.count))
            }
        }
        // Boundaries off the quarter hour, read from the base rows.
        let odd = try RevenueQuery(period: .day, zone: Zone("Asia/Kathmandu"), from: Self.interesting[0] + 123_456, to: Self.interesting[20] + 7_777)
        if case .value(let rollup) = await Outcome({ try await engine.revenue(odd, strategy: .rollup) }),
            case .value(let scan) = await Outcome({ try await engine.revenue(odd, strategy: .grouped) })
        {
            #expect(rollup.buckets.map(\.count) == scan.buckets.map(\.count))
            #expect(zip(rollup.buckets, scan.buckets).allSatisfy { close($0.amount, $1.amount) })
        }
    }

    /// A writer of another program: no foreign keys enforced, no Tally functions.
    static func foreignWriter(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = false
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    @Test("a foreign database without the CHECKs: texts in sums answer by scan, the rest by rollup, all exact")
    func foreignValues() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("f.sqlite")
        let queue = try Self.foreignWriter(path)
        try await queue.write { db in
            try db.execute(
                sql: foreignSchemaSQL.replacingOccurrences(
                    of: "CREATE TABLE organizations (id TEXT,", with: "CREATE TABLE organizations (id TEXT PRIMARY KEY,"))
            try db.execute(
                sql: """
                    INSERT INTO users (email, role, isActive, createdAt) VALUES ('a', NULL, 1, 0), ('b', x'00', '1', 0), ('c', 'ADMIN', 2.5, 0);
                    INSERT INTO payments (bookingId, amount, status, createdAt) VALUES
                      (1, 100, 'COMPLETED', 1704067200000), (1, 'abc', 'PENDING', 1704067200000), (1, 2.5, NULL, 'later'), (1, NULL, x'01', NULL);
                    INSERT INTO modules (organizationId, key, isActive, createdAt) VALUES (NULL, 'k', 1, 0), (7, 'k', 1, 0);
                    """)
        }
        try queue.close()
        let writer = try TallyDatabase.openForWriting(path: path)
        try Rollups.enable(on: writer)
        let other = try Self.foreignWriter(path)
        try await other.write { db in
            try db.execute(
                sql: """
                    INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 9223372036854775807, 'FAILED', 5), (1, 1, 'FAILED', 6);
                    UPDATE users SET role = NULL WHERE email = 'c';
                    DELETE FROM payments WHERE amount IS NULL;
                    """)
        }
        let database = try TallyDatabase.openReadOnly(path: path)
        #expect(try await Rollups.verify(database) == [])
        let engine = TallyEngine(database: database, cache: .disabled)
        let outcome = await #expect(throws: TallyError.self) { _ = try await engine.dashboard(strategy: .rollup) }
        #expect(outcome?.message.contains("integer overflow") == true, "9223372036854775807 + 1 overflows as SQL's SUM does")
        try await other.write { db in try db.execute(sql: "DELETE FROM payments WHERE amount = 1") }
        let answer = try await engine.dashboard(strategy: .rollup)
        #expect(answer.meta.strategy == "rollup+single-pass", "the PENDING group holds a text amount")
        let fresh = try await database.reader.read { try referenceDashboard($0) }
        #expect(sameNumbers(answer, fresh))
    }

    @Test("an infinite amount or rating, added then removed, leaves the rollup exact; an order-dependent SUM overflow reads the scan")
    func valuesOnlyAScanReads() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("f.sqlite")
        let queue = try Self.foreignWriter(path)
        try await queue.write { db in
            try db.execute(sql: foreignSchemaSQL)
            try db.execute(
                sql: """
                    INSERT INTO drivers (userId, isAvailable, rating, createdAt) VALUES (1, 1, 4.5, 0), (2, 1, 3.0, 0), (3, 0, NULL, 0);
                    INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 700, 'COMPLETED', 1704067200000);
                    """)
        }
        let writer = try TallyDatabase.openForWriting(path: path)
        try Rollups.enable(on: writer)
        let database = try TallyDatabase.openReadOnly(path: path)
        let engine = TallyEngine(database: database, cache: .disabled)
        func expectRollupExact(_ comment: Comment, strategy expected: String = "rollup") async throws {
            #expect(try await Rollups.verify(database) == [], comment)
            let answer = try await engine.dashboard(strategy: .rollup)
            let fresh = try await database.reader.read { try referenceDashboard($0) }
            #expect(sameNumbers(answer, fresh), comment)
            #expect(answer.meta.strategy == expected, comment)
            let revenue = try await engine.revenue(RevenueQuery(period: .year, zone: .utc), strategy: .rollup)
            let single = try await engine.revenue(RevenueQuery(period: .year, zone: .utc), strategy: .singlePass)
            #expect(revenue.buckets.map(\.amount) == single.buckets.map(\.amount), comment)
        }
        // 1e999 is +Inf, and passes `amount >= 0`: SQLite turned the kept
        // real sum into NaN (stored as NULL) when it was removed.
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 1e999, 'COMPLETED', 1704067200000);
                    UPDATE drivers SET rating = 9e999 WHERE userId = 1;
                    UPDATE drivers SET rating = -9e999 WHERE userId = 2;
                    """)
        }
        #expect(try await Rollups.verify(database) == [])
        try await queue.write { db in
            try db.execute(
                sql: """
                    DELETE FROM payments WHERE amount = 1e999;
                    INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 10.5, 'COMPLETED', 1704067200000);
                    UPDATE drivers SET rating = 4 WHERE userId = 1;
                    UPDATE drivers SET rating = 3.5 WHERE userId = 2;
                    """)
        }
        try await expectRollupExact("after infinities came and went")
        // SQL's SUM fails at the first partial sum past 64 bits in row order:
        // MAX, -2, 1 sums; MAX, 1, -2 fails. The rollup cannot tell the two
        // apart, so both read the scan, and give SQL's answer.
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO payments (bookingId, amount, status, createdAt) VALUES
                      (1, 9223372036854775807, 'REFUNDED', 5), (1, -2, 'REFUNDED', 6), (1, 1, 'REFUNDED', 7);
                    """)
        }
        try await expectRollupExact("MAX, -2, 1", strategy: "rollup+single-pass")
        #expect(try await engine.dashboard(strategy: .rollup).payments.refunded == .integer(9_223_372_036_854_775_806))
        try await queue.write { db in
            try db.execute(
                sql: """
                    DELETE FROM payments WHERE status = 'REFUNDED';
                    INSERT INTO payments (bookingId, amount, status, createdAt) VALUES
                      (1, 9223372036854775807, 'REFUNDED', 5), (1, 1, 'REFUNDED', 6), (1, -2, 'REFUNDED', 7);
                    """)
        }
        #expect(try await Rollups.verify(database) == [])
        let sql = await #expect(throws: DatabaseError.self) {
            try await database.reader.read { try Int64.fetchOne($0, sql: "SELECT sum(amount) FROM payments WHERE status = 'REFUNDED'") }
        }
        #expect(sql?.message?.contains("integer overflow") == true)
        for strategy in [Strategy.rollup, .singlePass] {
            let error = await #expect(throws: TallyError.self) { _ = try await engine.dashboard(strategy: strategy) }
            #expect(error?.message.contains("integer overflow") == true, "\(strategy)")
        }
        try await queue.write { db in try db.execute(sql: "DELETE FROM payments WHERE status = 'REFUNDED'") }
        try await expectRollupExact("overflowing values gone")
        // The integer −2⁶³, whose abs() is an overflow error: no trigger may fail the write.
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, -9223372036854775808, 'FAILED', 8)")
        }
        try await expectRollupExact("-2^63 written", strategy: "rollup")
        try await queue.write { db in try db.execute(sql: "DELETE FROM payments WHERE amount = -9223372036854775808") }
        // A group whose real sum overflowed, then emptied: it holds nothing, exactly.
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 1e308, 'FAILED', 9), (1, 1e308, 'FAILED', 9);
                    DELETE FROM payments WHERE status = 'FAILED';
                    """)
        }
        try await expectRollupExact("an overflowing group emptied")
        // Two finite ratings whose sum passes the largest real: the kept sum
        // is lost until rebuilt; answers read the scan, verify says so.
        try await queue.write { db in
            try db.execute(sql: "UPDATE drivers SET rating = 1e308 WHERE userId IN (1, 2); UPDATE drivers SET rating = 4 WHERE userId IN (1, 2)")
        }
        let lost = try await Rollups.verify(database)
        #expect(lost.count == 1 && lost.first?.contains("was lost") == true, "\(lost)")
        let answer = try await engine.dashboard(strategy: .rollup)
        #expect(answer.meta.strategy == "rollup+single-pass")
        #expect(answer.drivers.averageRating == 4)
        try Rollups.enable(on: writer)
        try await expectRollupExact("rebuilt")
    }

    @Test("a rollup edited by hand is found by verify; a tampered trigger makes it unused, and status says why")
    func tampering() async throws {
        let dir = try TemporaryDirectory()
        let writer = try generatedDatabase(in: dir, bookings: 500)
        try Rollups.enable(on: writer)
        try await writer.writer!.write { db in try db.execute(sql: "UPDATE tally_rollup_bookings SET n = n + 1 WHERE rowid = 1") }
        let differences = try await Rollups.verify(writer)
        #expect(differences.count == 1 && differences[0].contains("bookings"), "\(differences)")
        try await writer.writer!.write { db in
            try db.execute(sql: "DROP TRIGGER tally_payments_insert")
            try db.execute(sql: "CREATE TRIGGER tally_payments_insert AFTER INSERT ON payments BEGIN SELECT 1; END")
        }
        let report = try await Rollups.status(of: writer)
        #expect(report.rollups.first { $0.name == "payments" }?.state.contains("differs") == true)
        #expect(report.rollups.first { $0.name == "users" }?.state == "intact")
        let engine = TallyEngine(database: writer, cache: .disabled)
        // Any storage class in a rollup's cells: answers and verify do not trap.
        try await writer.writer!.write { db in
            try db.execute(sql: "UPDATE tally_rollup_revenue SET n = 'many', l0 = 1.5, b = 'soon' WHERE rowid = 1")
            try db.execute(sql: "UPDATE tally_rollup_users SET n = 9223372036854775807")
        }
        #expect(try await Rollups.verify(writer).count > 2)
        _ = await Outcome { try await engine.revenue(try RevenueQuery(period: "month"), strategy: .rollup) }
        _ = await Outcome { try await engine.dashboard(strategy: .rollup) }
        #expect(try await engine.dashboard().meta.strategy == "single-pass", "auto: not every rollup is intact")
        let error = await #expect(throws: TallyError.self) { _ = try await engine.dashboard(strategy: .rollup) }
        #expect(error?.kind == .state)
        // Enabling again restores them.
        try Rollups.enable(on: writer)
        #expect(try await Rollups.status(of: writer).allIntact)
        #expect(try await engine.dashboard().meta.strategy == "rollup")
    }

    @Test("generate on a database with rollups rebuilds them in its transaction; disable removes everything")
    func generateKeepsRollups() async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 200)
        try Rollups.enable(on: database)
        var generator = DataGenerator(bookings: 700, seed: 5)
        generator.replace = true
        _ = try generator.run(in: database.writer!)
        #expect(try await Rollups.status(of: database).allIntact)
        #expect(try await Rollups.verify(database) == [])
        #expect(try await TallyEngine(database: database, cache: .disabled).dashboard(strategy: .rollup).bookings.total == 700)
        try Rollups.disable(on: database)
        let left = try await database.reader.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE name LIKE 'tally%'")
        }
        #expect(left.isEmpty, "\(left)")
    }

    @Test("change counters: a table's counter moves with its rows only; a revenue stamp ignores bookings")
    func counters() async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 200)
        try Rollups.enable(on: database)
        let engine = TallyEngine(database: database)
        let revenueQuery = try RevenueQuery(period: "month", timeZone: "UTC", from: "2024-01-01", to: "2025-01-01")
        let revenue = try await engine.answerRevenue(revenueQuery)
        let dashboard = try await engine.answerDashboard()
        #expect(revenue.stamp != nil && dashboard.stamp != nil)
        try await database.writer!.write { db in try db.execute(sql: "UPDATE bookings SET status = 'CANCELLED' WHERE id = 1") }
        #expect(try await engine.answerRevenue(revenueQuery).stamp == revenue.stamp)
        #expect(try await engine.answerRevenue(revenueQuery).status == .hit, "a bookings write leaves revenue cached")
        #expect(try await engine.answerDashboard().stamp != dashboard.stamp)
        try await database.writer!.write { db in
            try db.execute(sql: "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 5, 'COMPLETED', 1704067200000)")
        }
        #expect(try await engine.answerRevenue(revenueQuery).stamp != revenue.stamp)
    }

    @Test("a rollup for a stat of your own; min and max keep the scan")
    func customRollup() async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 400)
        let stat = Stat(
            name: "bookings.priceByServiceType", table: "bookings", filters: [.equals("status", .text("COMPLETED"))],
            groupBy: ["serviceType"], aggregates: [.count, .sum("price"), .avg("price")])
        try Rollups.enable(on: database, definitions: Rollups.standard + [try RollupDefinition(stat)])
        let engine = TallyEngine(database: database, cache: .disabled)
        let byRollup = try await engine.compute([stat], strategy: .auto, kind: "test")
        #expect(byRollup.strategy == .rollup)
        let scan = try await engine.run([stat], strategy: .grouped)[0]
        #expect(byRollup.results[0].groups.keys == scan.groups.keys)
        for (key, values) in scan.groups {
            let got = byRollup.results[0].groups[key]!
            #expect(got[0] == values[0] && got[1] == values[1])
            #expect(close(got[2].doubleValue!, values[2].doubleValue!))
        }
        let withMax = Stat(name: "m", table: "bookings", aggregates: [.max("price")])
        #expect(throws: TallyError.self) { try RollupDefinition(withMax) }
        #expect(try await engine.compute([withMax], strategy: .auto, kind: "test").strategy == .singlePass)
        // explain shows the rollup read of one and why the other keeps the scan.
        let plans = try await database.reader.read { db in try QueryPlanExplainer.explain([stat, withMax], strategy: .rollup, in: db) }
        #expect(plans.count == 2)
        #expect(plans[0].sql.contains("FROM tally_rollup_bookings_priceByServiceType") && plans[0].purpose.contains(stat.name))
        #expect(plans[1].sql.isEmpty && plans[1].plan.joined().contains("cannot be kept by triggers under deletes"))
    }
}
