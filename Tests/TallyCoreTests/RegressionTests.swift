import Foundation
import GRDB
import TallyTestSupport
import Testing

@testable import TallyCore

/// One test per crash or wrong answer found in Tally 0.1.0 (issue 12), each
/// failing on that version.
@Suite("Regressions")
struct RegressionTests {
    /// A contract database (or, `foreign`, one without its constraints)
    /// holding `sql`'s rows.
    static func database(_ sql: String, foreign: Bool = false, in dir: TemporaryDirectory) throws -> TallyDatabase {
        let path = dir.path("r-\(UUID().uuidString).sqlite")
        var configuration = Configuration()
        configuration.foreignKeysEnabled = false
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.write { db in
            try db.execute(sql: foreign ? foreignSchemaSQL : TallySchema.sql)
            try db.execute(sql: sql)
        }
        try queue.close()
        return try TallyDatabase.openReadOnly(path: path)
    }

    @Test("amount = 1e300 passes the CHECK: the dashboard and revenue give SQL's real sum, no trap")
    func hugeRealAmount() async throws {
        let dir = try TemporaryDirectory()
        let database = try Self.database(
            "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 1e300, 'COMPLETED', 1704067200000)", in: dir)
        for strategy in Strategy.scans {
            let dashboard = try await TallyEngine(database: database, cache: .disabled).dashboard(strategy: strategy)
            #expect(dashboard.payments.revenue == .real(1e300), "\(strategy)")
            let revenue = try await TallyEngine(database: database, cache: .disabled).revenue(
                RevenueQuery(period: .month, zone: .utc), strategy: strategy)
            #expect(revenue.total.amount == .real(1e300))
        }
        let json = String(decoding: try JSONEncoder().encode(try await TallyEngine(database: database).dashboard()), as: UTF8.self)
        #expect(json.contains("\"revenue\":1e+300"))
    }

    @Test("two amounts of 5e18 in different months: each month answers, the total is SQL's overflow error, named")
    func overflowingTotal() async throws {
        let dir = try TemporaryDirectory()
        let database = try Self.database(
            """
            INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 5000000000000000000, 'COMPLETED', 1704067200000);
            INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 5000000000000000000, 'COMPLETED', 1706745600000);
            """, in: dir)
        for strategy in Strategy.scans {
            let engine = TallyEngine(database: database, cache: .disabled)
            let error = await #expect(throws: TallyError.self) {
                _ = try await engine.revenue(RevenueQuery(period: .month, zone: .utc), strategy: strategy)
            }
            #expect(error?.message.contains("payments.amount") == true, "\(strategy): \(error?.message ?? "")")
            let dashboard = await #expect(throws: TallyError.self) { _ = try await engine.dashboard(strategy: strategy) }
            #expect(dashboard?.message.contains("integer overflow") == true && dashboard?.message.contains("payments.amount") == true)
        }
        // SQL agrees: its SUM refuses too.
        await #expect(throws: DatabaseError.self) {
            _ = try await database.reader.read { try Int64.fetchOne($0, sql: "SELECT SUM(amount) FROM payments") }
        }
    }

    @Test("createdAt = 9223372036854775807: revenue over the data's range is a clear error, over a given range an answer")
    func extremeTimestamp() async throws {
        let dir = try TemporaryDirectory()
        let database = try Self.database(
            """
            INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 100, 'COMPLETED', 9223372036854775807);
            INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 7, 'COMPLETED', 1704067200000);
            """, in: dir)
        let engine = TallyEngine(database: database, cache: .disabled)
        let error = await #expect(throws: TallyError.self) { _ = try await engine.revenue(RevenueQuery(period: .month, zone: .utc)) }
        #expect(error?.kind == .state)
        let revenue = try await engine.revenue(RevenueQuery(period: "year", timeZone: "UTC", from: "2024-01-01", to: "2025-01-01"))
        #expect(revenue.total == .init(count: 1, amount: 7))
        #expect(try await engine.dashboard().payments.revenue == 107)
        let explained = try await database.reader.read { try QueryPlanExplainer.explainAll(in: $0) }
        #expect(!explained.isEmpty)
    }

    @Test("a stat asked twice, beside another table's, is answered at every position on every path")
    func repeatedStats() async throws {
        let dir = try TemporaryDirectory()
        let database = try generatedDatabase(in: dir, bookings: 400)
        let a = Stat(name: "a", table: "bookings", groupBy: ["status"])
        let b = Stat(name: "b", table: "payments", groupBy: ["status"], aggregates: [.count, .sum("amount")])
        for parallelism in [1, 2] {
            for strategy in Strategy.scans {
                let results = try await TallyEngine(database: database, cache: .disabled, maximumParallelism: parallelism)
                    .run([a, a, b], strategy: strategy)
                #expect(results.map(\.stat.name) == ["a", "a", "b"], "\(strategy)×\(parallelism)")
                #expect(results[0] == results[1])
                #expect(results[0].count() == 400)
            }
        }
    }

    @Test("min and max keep SQLite's value and storage class: a text stays text, 2^53 + 1 stays exact")
    func typedExtremes() async throws {
        let dir = try TemporaryDirectory()
        let database = try Self.database(
            """
            INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, 'RIDE', 'PENDING', 9007199254740993, 0, 0);
            INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, 'RENTAL', 'CANCELLED', 9007199254740992, 0, 0);
            INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, 'DELIVERY', 'PENDING', 'n/a', 0, 0);
            """, in: dir)
        let stat = Stat(
            name: "x", table: "bookings", aggregates: [.min("status"), .max("status"), .max("price"), .min("price"), .max("serviceType")])
        for strategy in Strategy.scans {
            let result = try await TallyEngine(database: database, cache: .disabled).run([stat], strategy: strategy)[0]
            #expect(
                result.groups[StatResult.Key([])] == [
                    .text("CANCELLED"), .text("PENDING"), .text("n/a"), .integer(9_007_199_254_740_992),
                    .text("RIDE"),
                ], "\(strategy)")
        }
        let maxNumber = Stat(name: "y", table: "bookings", filters: [.equals("status", .text("PENDING"))], aggregates: [.max("price")])
        let numbers = Stat(
            name: "z", table: "bookings", filters: [.oneOf("serviceType", [.text("RIDE"), .text("RENTAL")])],
            aggregates: [.max("price"), .sum("price")])
        for strategy in Strategy.scans {
            let results = try await TallyEngine(database: database, cache: .disabled).run([maxNumber, numbers], strategy: strategy)
            #expect(results[0].groups[StatResult.Key([])] == [.text("n/a")], "a text is above every number")
            #expect(results[1].groups[StatResult.Key([])] == [.integer(9_007_199_254_740_993), .integer(18_014_398_509_481_985)], "\(strategy)")
        }
    }

    @Test("grids are bounded from their first allocation: a year of days by two groups is no 770 MB")
    func boundedGrid() async throws {
        let dir = try TemporaryDirectory()
        let database = try Self.database(
            "INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, 'RIDE', 'PENDING', 1, 0, 86400000)",
            in: dir)
        let grid = try PeriodGrid(period: .day, zone: .utc, from: 0, to: 99_000 * 86_400_000)
        let stat = Stat(name: "wide", table: "bookings", groupBy: ["status", "serviceType"], bucket: .init(column: "createdAt", grid: grid))
        let result = try await TallyEngine(database: database, cache: .disabled).run([stat], strategy: .singlePass)[0]
        #expect(result.groups == [StatResult.Key([.text("PENDING"), .text("RIDE")], bucket: 1): [.integer(1)]])
        // Rows spread over every day would need more cells than the bound: a clear error.
        let spread = try Self.database(
            (0..<300).map { i in
                "INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, 'S\(i % 40)', 'T\(i % 30)', 1, 0, \(Int64(i) * 300 * 86_400_000));"
            }.joined(separator: "\n"), foreign: true, in: dir)
        let error = await #expect(throws: TallyError.self) {
            _ = try await TallyEngine(database: spread, cache: .disabled).run([stat], strategy: .singlePass)
        }
        #expect(error?.message.contains("grouped") == true)
        #expect(try await TallyEngine(database: spread, cache: .disabled).run([stat], strategy: .grouped)[0].count() == 300)
    }

    @Test("a booking whose driverId is the text 'x' pages as stored, no crash")
    func textDriverId() async throws {
        let dir = try TemporaryDirectory()
        let database = try Self.database(
            """
            INSERT INTO bookings (userId, driverId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, 'x', 'RIDE', 'PENDING', 1, 0, 5);
            INSERT INTO bookings (userId, driverId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, NULL, 'RIDE', 'PENDING', 2.5, 0, 'soon');
            """, in: dir)
        let page = try await TallyEngine(database: database).bookingsPage(limit: 10)
        let json = String(decoding: try JSONEncoder().encode(page), as: UTF8.self)
        #expect(json.contains("\"driverId\":\"x\""))
        #expect(json.contains("\"createdAt\":\"soon\""))
        #expect(json.contains("\"createdAt\":\"1970-01-01T00:00:00.005+00:00\""))
        #expect(json.contains("\"driverId\":null"))
        #expect(page.bookings.count == 2)
    }

    @Test("a status outside the enum, which the dashboard counts under its own key, pages like any other")
    func pagesByUnknownStatus() async throws {
        let dir = try TemporaryDirectory()
        let database = try Self.database(
            (0..<9).map { i in
                "INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, 'RIDE', '\(i % 3 == 0 ? "LOST" : "PENDING")', 1, 0, \(i));"
            }.joined(separator: "\n"), foreign: true, in: dir)
        let engine = TallyEngine(database: database, cache: .disabled)
        #expect(try await engine.dashboard().bookings.byStatus["LOST"] == 3)
        var ids: [Int64] = []
        var cursor: String?
        repeat {
            let page = try await engine.bookingsPage(limit: 2, cursor: cursor, status: "LOST")
            for booking in page.bookings { if case .value(.integer(let id)) = booking.id { ids.append(id) } }
            cursor = page.nextCursor
        } while cursor != nil
        #expect(ids == [7, 4, 1])
    }

    @Test("organization ids stored as a blob, NULL (twice) or the text 'null' page with SQL's module counts, each once")
    func organizationsWithOddIds() async throws {
        let dir = try TemporaryDirectory()
        let database = try Self.database(
            """
            INSERT INTO organizations (id, name, createdAt) VALUES (x'6f7267', 'blob', 0), (NULL, 'no id', 0), ('null', 'text null', 0), ('a', 'A', 0), (NULL, 'no id either', 0);
            INSERT INTO modules (organizationId, key, isActive, createdAt) VALUES
              (x'6f7267', 'k', 1, 0), ('org', 'k', 1, 0), (NULL, 'k', 1, 0), ('null', 'k', 1, 0), ('null', 'l', 1, 0), ('a', 'k', 0, 0);
            """, foreign: true, in: dir)
        let expected = try await database.reader.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT name, (SELECT count(*) FROM modules m WHERE m.organizationId = o.id AND m.isActive = 1)
                    FROM organizations o ORDER BY name
                    """
            ).map { ($0[0] as String, $0[1] as Int64) }
        }
        #expect(expected.map(\.1) == [0, 1, 0, 0, 2], "A 0, blob 1, no id 0, no id either 0, text null 2")
        var seen: [(String, Int64)] = []
        var cursor: String?
        repeat {
            let page = try await TallyEngine(database: database, cache: .disabled).organizationsPage(limit: 1, cursor: cursor)
            seen += page.organizations.map { ($0.name ?? "", $0.activeModules) }
            cursor = page.nextCursor
        } while cursor != nil
        seen.sort { $0.0 < $1.0 }
        #expect(seen.map(\.0) == expected.map(\.0))
        #expect(seen.map(\.1) == expected.map(\.1))
        for strategy in ModuleStrategy.allCases where strategy != .rollup {
            let all = try await TallyEngine(database: database, cache: .disabled).moduleCounts(strategy: strategy).organizations
            let counts: [Int64] = all.sorted { ($0.name ?? "") < ($1.name ?? "") }.map(\.activeModules)
            #expect(counts == expected.map(\.1), "\(strategy)")
        }
    }

    @Test(
        "ratings of +∞ and −∞ (SQL's AVG is NaN, given as NULL) or summing past the largest real: null or one clear error, every strategy",
        arguments: [
            ("(1, 1, 9e999, 0), (2, 1, -9e999, 0), (3, 0, 4, 0)", nil),  // one group NaN
            // +∞ and −∞ in two groups: SQL gives NULL, but the groups' averages cannot tell
            // infinite ratings from finite ones that overflow (next case): an error, not a guess.
            ("(1, 1, 9e999, 0), (2, 0, -9e999, 0), (3, 0, 4, 0)", "too large to represent"),
            ("(1, 1, 1e308, 0), (2, 1, 1e308, 0), (3, 0, 4, 0)", "too large to represent"),
            ("(1, 1, 9e999, 0), (3, 0, 4, 0)", "too large to represent"),
            // SQL's AVG is 0.0 in row order, ±∞ in another: no certain answer.
            ("(1, 1, 1e308, 0), (2, 0, -1e308, 0), (3, 1, 1e308, 0), (4, 0, -1e308, 0)", "too large to represent"),
        ] as [(String, String?)])
    func nonFiniteRatings(rows: String, error expected: String?) async throws {
        let dir = try TemporaryDirectory()
        let database = try Self.database("INSERT INTO drivers (userId, isAvailable, rating, createdAt) VALUES \(rows);", foreign: true, in: dir)
        let sql = try await database.reader.read { try DatabaseValue.fetchOne($0, sql: "SELECT avg(rating) FROM drivers") } ?? .null
        for strategy in Strategy.scans {
            let engine = TallyEngine(database: database, cache: .disabled)
            if let expected {
                let error = await #expect(throws: TallyError.self, "\(strategy)") { _ = try await engine.dashboard(strategy: strategy) }
                #expect(error?.message.contains(expected) == true, "\(strategy): \(error?.message ?? "")")
            } else {
                let dashboard = try await engine.dashboard(strategy: strategy)
                #expect(dashboard.drivers.averageRating == nil, "\(strategy)")
                #expect(dashboard.drivers.rated == 3)
                #expect(sql.isNull, "SQL gives NULL")
                _ = try JSONEncoder().encode(dashboard)
            }
        }
    }

    @Test("a text spelling another group's key ('x''00'' (blob)' beside the blob x'00') keeps its own group: nothing is dropped")
    func keysThatSpellOtherKeys() async throws {
        let dir = try TemporaryDirectory()
        let database = try Self.database(
            """
            INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt) VALUES
              (1, 'RIDE', 'x''00''', 1, 1, 1), (1, 'RIDE', 'x''00'' (blob)', 1, 1, 1), (1, 'RIDE', 'x''00'' (blob)', 1, 1, 1),
              (1, 'RIDE', x'00', 1, 1, 1), (1, 'RIDE', 1, 1, 1, 1), (1, 'RIDE', '1', 1, 1, 1), (1, 'RIDE', '1 (text)', 1, 1, 1);
            """, foreign: true, in: dir)
        for strategy in Strategy.scans {
            let dashboard = try await TallyEngine(database: database, cache: .disabled).dashboard(strategy: strategy)
            let counts = dashboard.bookings.byStatus.map(\.value)
            #expect(dashboard.bookings.total == 7 && counts.reduce(0, +) == 7, "\(strategy): \(dashboard.bookings.byStatus.keys)")
            // Five enum names (at 0) and five stored values (TEXT affinity makes 1 the text '1'), each its own key.
            #expect(dashboard.bookings.byStatus.count == 10, "\(strategy): \(dashboard.bookings.byStatus.keys)")
        }
    }

    @Test("keyset pages reach rows whose sort value is NULL or text, each once")
    func pagesOverOddKeys() async throws {
        let dir = try TemporaryDirectory()
        var rows: [String] = []
        for i in 0..<23 {
            let created = i % 5 == 0 ? "NULL" : i % 7 == 0 ? "'t\(i)'" : "\(1_000 - i % 4)"
            rows.append(
                "INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, 'RIDE', 'PENDING', 1, 0, \(created));"
            )
        }
        let database = try Self.database(rows.joined(separator: "\n"), foreign: true, in: dir)
        let path = database.path
        let queue = try DatabaseQueue(path: path)
        let engine = TallyEngine(database: try TallyDatabase.openReadOnly(path: path))
        var seen: [Int64] = []
        var cursor: String?
        repeat {
            let page = try await engine.bookingsPage(limit: 4, cursor: cursor)
            for booking in page.bookings { if case .value(.integer(let id)) = booking.id { seen.append(id) } }
            cursor = page.nextCursor
        } while cursor != nil
        let expected = try await queue.read { try Int64.fetchAll($0, sql: "SELECT id FROM bookings ORDER BY createdAt DESC, id DESC") }
        #expect(seen == expected)
    }
}
