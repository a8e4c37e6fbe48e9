import Foundation
import GRDB
import Logging
import TallyTestSupport
import Testing

@testable import TallyCore

@Suite("Engine")
struct EngineTests {
    @Test(
        "the three strategies agree with a plain Swift loop",
        arguments: [
            (0, UInt64(1), true), (1, UInt64(2), true), (2_500, UInt64(3), true), (4_000, UInt64(4), false), (6_000, UInt64(99), true),
        ])
    func strategiesAgree(bookings: Int, seed: UInt64, indexes: Bool) async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: bookings, seed: seed, indexes: indexes)
        let engine = TallyEngine(database: database)
        let reference = try await database.reader.read { try referenceDashboard($0) }
        for strategy in Strategy.scans {
            let dashboard = try await engine.dashboard(strategy: strategy)
            #expect(sameNumbers(dashboard, reference), "\(strategy) on \(bookings) bookings")
            #expect(dashboard.meta.strategy == strategy.rawValue)
        }
        if bookings == 0 {
            let empty = try await engine.dashboard()
            #expect(empty.drivers.averageRating == nil)
            #expect(empty.bookings.byStatus.keys == ["PENDING", "CONFIRMED", "IN_PROGRESS", "COMPLETED", "CANCELLED"])
            #expect(empty.payments.byStatus["COMPLETED"] == .init(count: 0, amount: 0))
        }
    }

    /// A database without the CHECKs: values outside the enums, NULL ratings
    /// only, flags other than 0/1, reals where integers are expected; in each
    /// text encoding SQLite supports (single-pass reads text bytes as stored).
    @Test("a foreign database: values outside the enums appear under their own key", arguments: ["UTF-8", "UTF-16le", "UTF-16be"])
    func foreignValues(encoding: String) async throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("foreign.sqlite")
        let queue = try DatabaseQueue(path: path)
        try await queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA encoding = '\(encoding)'")
        }
        try await queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT, role TEXT, isActive INTEGER, createdAt INTEGER);
                    CREATE TABLE drivers (id INTEGER PRIMARY KEY, userId INTEGER, isAvailable INTEGER, rating REAL, createdAt INTEGER);
                    CREATE TABLE vehicles (id INTEGER PRIMARY KEY, driverId INTEGER, type TEXT, plate TEXT, isAvailable INTEGER, createdAt INTEGER);
                    CREATE TABLE bookings (id INTEGER PRIMARY KEY, userId INTEGER, driverId INTEGER, vehicleId INTEGER, serviceType TEXT,
                                           status TEXT, price INTEGER, scheduledDate INTEGER, createdAt INTEGER);
                    CREATE TABLE payments (id INTEGER PRIMARY KEY, bookingId INTEGER, amount INTEGER, status TEXT, createdAt INTEGER);
                    CREATE TABLE organizations (id TEXT PRIMARY KEY, name TEXT, createdAt INTEGER);
                    CREATE TABLE modules (id INTEGER PRIMARY KEY, organizationId TEXT, key TEXT, isActive INTEGER, createdAt INTEGER);
                    INSERT INTO users (email, role, isActive, createdAt) VALUES
                      ('a', 'CUSTOMER', 1, 0), ('b', 'SUPERUSER', 1, 0), ('c', 'SUPERUSER', 0, 0), ('d', 'customer', 2, 0), ('e', 'ADMIN', 1.0, 0);
                    INSERT INTO drivers (userId, isAvailable, rating, createdAt) VALUES (1, 1, NULL, 0), (2, 0, NULL, 0);
                    INSERT INTO vehicles (type, isAvailable, createdAt) VALUES ('HOVERCRAFT', 1, 0), ('CAR', 0, 0), ('VÉLO-CARGO ÉLECTRIQUE', 1, 0);
                    INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt) VALUES
                      (1, 'RIDE', 'COMPLETED', 100, 0, 0), (1, 'TELEPORT', 'LOST', 5, 0, 0), (1, 'RIDE', '', 5, 0, 0);
                    INSERT INTO payments (bookingId, amount, status, createdAt) VALUES
                      (1, 100, 'COMPLETED', 0), (1, 7, 'DISPUTED', 0), (1, 2.5, 'DISPUTED', 0);
                    INSERT INTO organizations VALUES ('o1', 'One', 0), ('o2', 'Two', 0);
                    INSERT INTO modules (organizationId, key, isActive, createdAt) VALUES ('o1', 'a', 1, 0), ('o1', 'b', 0, 0), ('o9', 'c', 1, 0);
                    """)
        }
        #expect(try await queue.read { try String.fetchOne($0, sql: "PRAGMA encoding") } == encoding)
        let engine = TallyEngine(database: try TallyDatabase.openReadOnly(path: path))
        let reference = try await queue.read { try referenceDashboard($0) }
        for strategy in Strategy.scans {
            let d = try await engine.dashboard(strategy: strategy)
            #expect(sameNumbers(d, reference), "\(strategy)")
            #expect(d.users.byRole["SUPERUSER"] == .init(total: 2, active: 1))
            #expect(d.users.byRole["customer"] == .init(total: 1, active: 0))
            #expect(d.users.byRole["ADMIN"] == .init(total: 1, active: 1))
            #expect(d.users.byRole["DRIVER"] == .init(total: 0, active: 0))
            #expect(d.drivers.averageRating == nil)
            #expect(d.drivers.rated == 0)
            #expect(d.vehicles.byType["HOVERCRAFT"] == .init(total: 1, available: 1))
            #expect(d.vehicles.byType["VÉLO-CARGO ÉLECTRIQUE"] == .init(total: 1, available: 1))
            #expect(d.bookings.byStatus["LOST"] == 1)
            #expect(d.bookings.byStatus[""] == 1)
            #expect(d.bookings.byServiceType["TELEPORT"] == 1)
            #expect(d.payments.byStatus["DISPUTED"]?.count == 2)
            #expect(d.payments.byStatus["DISPUTED"]?.amount == .real(9.5), "SQL's SUM of 7 and 2.5 is the real 9.5")
            #expect(d.payments.revenue == 100)
            #expect(d.modules == .init(total: 3, active: 2, organizations: 2))
        }
    }

    @Test("every number of one dashboard comes from one snapshot, under concurrent writes")
    func snapshotConsistency() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("busy.sqlite")
        let writer = try generatedDatabase(in: dir, bookings: 3_000, name: "busy.sqlite").writer!
        let reader = try TallyDatabase.openReadOnly(path: path)
        let engine = TallyEngine(database: reader)
        let initialPayments = try await reader.reader.read { try Int64.fetchOne($0, sql: "SELECT COUNT(*) FROM payments")! }
        let stop = FlagBox()
        let writes = Task.detached {
            var i: Int64 = 0
            while !stop.isSet {
                i += 1
                let n = i
                try await writer.write { db in
                    // Each commit moves rows between groups and adds some:
                    // a torn read would break one of the invariants below.
                    try db.execute(
                        sql: "UPDATE bookings SET status = CASE status WHEN 'PENDING' THEN 'CONFIRMED' ELSE 'PENDING' END WHERE id % 50 = ?",
                        arguments: [n % 50])
                    try db.execute(
                        sql: """
                            INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt)
                            VALUES (1, 'RIDE', 'PENDING', 100, 0, ?)
                            """, arguments: [1_700_000_000_000 + n])
                    try db.execute(
                        sql: "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 100, 'COMPLETED', ?)",
                        arguments: [1_700_000_000_000 + n])
                }
            }
            return i
        }
        var answers = 0
        for round in 0..<30 {
            let strategy = Strategy.scans[round % 3]
            let d = try await engine.dashboard(strategy: strategy)
            #expect(d.bookings.total == d.bookings.byStatus.reduce(0) { $0 + $1.value })
            #expect(d.bookings.total == d.bookings.byServiceType.reduce(0) { $0 + $1.value })
            #expect(d.payments.total == d.payments.byStatus.reduce(0) { $0 + $1.value.count })
            // Bookings and payments grow together in every commit.
            #expect(d.bookings.total - 3_000 == d.payments.total - initialPayments)
            answers += 1
        }
        stop.set()
        let commits = try await writes.value
        #expect(answers == 30)
        #expect(commits > 0)
        let last = try await engine.dashboard()
        let fresh = try await reader.reader.read { try referenceDashboard($0) }
        #expect(sameNumbers(last, fresh))
    }

    @Test("a user-defined stat: bookings by service type per month, checked against SQL")
    func userDefinedStat() async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 4_000)
        let zone = try Zone("UTC")
        let grid = try PeriodGrid(
            period: .month, zone: zone,
            from: zone.startOfDay(.init(year: 2024, month: 1, day: 1)),
            to: zone.startOfDay(.init(year: 2025, month: 1, day: 1)))
        let stat = Stat(
            name: "bookings.byServiceTypePerMonth", table: "bookings", groupBy: ["serviceType"],
            bucket: .init(column: "createdAt", grid: grid), aggregates: [.count, .sum("price"), .max("price")])
        let engine = TallyEngine(database: database)
        let expected = try database.reader.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT serviceType, strftime('%m', createdAt / 1000, 'unixepoch') - 1, COUNT(*), SUM(price), MAX(price)
                    FROM bookings WHERE createdAt >= 1704067200000 AND createdAt < 1735689600000 GROUP BY 1, 2
                    """)
        }
        #expect(expected.count == 36)
        for strategy in Strategy.scans {
            let result = try await engine.run([stat], strategy: strategy)[0]
            #expect(result.groups.count == expected.count, "\(strategy)")
            for row in expected {
                let key = StatResult.Key([.text(row[0])], bucket: row[1])
                #expect(result.groups[key] == [.integer(row[2]), .integer(row[3]), .integer(row[4])], "\(strategy) \(key)")
            }
        }
    }

    @Test("single-pass reads each table once, however many stats it serves")
    func oneScanPerTable() async throws {
        let stats = Dashboard.stats + [RevenueQuery.stat(grid: try PeriodGrid(period: .day, zone: Zone.utc, from: 0, to: 86_400_000))]
        let dir = try TemporaryDirectory()
        let path = try generatedDatabase(in: dir, bookings: 300).path
        let recorder = try SQLRecorder(path: path)
        let engine = TallyEngine(database: recorder.database, cache: .disabled, maximumParallelism: 1)
        let computation = try await engine.compute(stats, strategy: .singlePass, kind: "test")
        let statements = recorder.dataStatements
        #expect(statements.count == 7, "\(statements.joined(separator: "\n"))")
        #expect(statements.filter { $0.contains("FROM payments") }.count == 1)
        #expect(statements.filter { $0.contains("FROM bookings") }.count == 1)
        #expect(computation.statements == statements.count)
        #expect(computation.results.count == stats.count)
    }

    @Test("an invalid stat names its problem")
    func invalidStat() async throws {
        let dir = try TemporaryDirectory()
        let engine = TallyEngine(database: try generatedDatabase(in: dir, bookings: 10))
        await #expect(throws: TallyError.self) {
            _ = try await engine.run([Stat(name: "x", table: "payments", groupBy: ["amount; DROP TABLE payments"])])
        }
        await #expect(throws: TallyError.self) { _ = try await engine.run([Stat(name: "y", table: "sqlite_master")]) }
    }
}

@Suite("Parallel snapshots")
struct ParallelSnapshotTests {
    @Test("the fan-out over several connections gives the same answers as one connection")
    func parallelMatchesSequential() async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 3_000)
        let pool = database.writer!
        for strategy in Strategy.scans {
            let parallel = try ParallelStats.run(
                Dashboard.stats, strategy: strategy, pool: pool, width: 2,
                tables: TallyEngine.dashboardTables, execution: Execution())
            #expect(parallel != nil, "\(strategy) fanned out")
            let sequential = try await pool.read { try TallyEngine.run(Dashboard.stats, in: $0, strategy: strategy, execution: Execution()) }
            #expect(try parallel.map { try Dashboard(results: $0.0).comparable } == Dashboard(results: sequential).comparable)
        }
    }

    @Test("a commit between the lanes' snapshots is detected, never mixed into one answer")
    func commitBetweenSnapshotsIsDetected() throws {
        let dir = try TemporaryDirectory()
        let pool = try generatedDatabase(in: dir, bookings: 500).writer!
        let lanes: [SnapshotFanOut.Lane<Int>] = (0..<2).map { _ in
            { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bookings")! }
        }
        // No commit: the lanes agree.
        #expect(try SnapshotFanOut.run(pool, lanes: lanes) == [500, 500])
        // A commit after the first barrier: lane 0's snapshot would differ.
        let result = try SnapshotFanOut.run(
            pool, lanes: lanes,
            betweenBarriers: {
                try! pool.write { db in
                    try db.execute(
                        sql:
                            "INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, 'RIDE', 'PENDING', 1, 0, 0)"
                    )
                }
            })
        #expect(result == nil)
        #expect(try SnapshotFanOut.run(pool, lanes: lanes) == [501, 501])
    }
}

/// Collects log messages, for asserting what the engine logs.
final class LogCollector: LogHandler, @unchecked Sendable {
    // `@unchecked`: `metadata` and `logLevel` are LogHandler's settable
    // requirements; the records live in a `Locked`.
    private let records = Locked<[(Logger.Level, String, Logger.Metadata)]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        records.withLock { $0.append((event.level, event.message.description, event.metadata ?? [:])) }
    }

    var messages: [(Logger.Level, String, Logger.Metadata)] { records.load() }
}

@Suite("Slow queries")
struct SlowQueryTests {
    @Test("a computation over the threshold is logged once at warning, with its SQL text and plans")
    func slowQueryLoggedOnce() async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 200)
        let collector = LogCollector()
        let engine = TallyEngine(
            database: database, cache: .disabled, logger: Logger(label: "test") { _ in collector },
            slowQueryThreshold: .zero)
        _ = try await engine.dashboard(strategy: .singlePass)
        _ = try await engine.dashboard(strategy: .singlePass)
        _ = try await engine.dashboard(strategy: .grouped)
        let warnings = collector.messages.filter { $0.0 == .warning && $0.1 == "slow query" }
        #expect(warnings.count == 2)  // once per kind and strategy
        let sql = warnings.first?.2["sql"]?.description ?? ""
        #expect(sql.contains("SELECT ") && sql.contains("FROM bookings"), "\(sql)")
        #expect(!sql.contains("SQL(elements"), "the statements' text, not a GRDB SQL literal")
        let quiet = TallyEngine(database: database, cache: .disabled, logger: Logger(label: "test") { _ in collector })
        _ = try await quiet.dashboard(strategy: .naive)
        #expect(collector.messages.filter { $0.1 == "slow query" }.count == 2, "no threshold: never logged")
    }
}
