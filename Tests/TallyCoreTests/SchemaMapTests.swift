import Foundation
import GRDB
import TallyTestSupport
import Testing

@testable import TallyCore

/// Schema maps: parsing (a bad map names its entry), the conversions (each
/// checked on every storage class against values written out by hand), and
/// an app's database read and kept by rollups through a map.
@Suite("schema map")
struct SchemaMapTests {
    // MARK: - Parsing

    @Test(
        "a bad map is one error naming the entry",
        arguments: [
            (
                #"{"tables": {"bookings": {"table": "Booking", "columns": {"createdAt": {"column": "createdAt", "timestmap": "epoch-ms"}}}}}"#,
                "tables.bookings.columns.createdAt: unknown key \"timestmap\""
            ),
            (
                #"{"tables": {"bookings": {"table": "Booking", "columns": {"createdAt": {"column": "c", "timestamp": "epoch-us"}}}}}"#,
                "tables.bookings.columns.createdAt: \"timestamp\" must be one of epoch-ms"
            ),
            (
                #"{"tables": {"bookings": {"table": "Booking", "columns": {"status": {"column": "s", "money": "major"}}}}}"#,
                "tables.bookings.columns.status: \"money\" applies to bookings.price and payments.amount only"
            ),
            (
                #"{"tables": {"users": {"table": "User", "columns": {"isActive": {"column": "a", "boolean": 1}}}}}"#,
                "tables.users.columns.isActive: \"boolean\" must be true or false"
            ),
            (#"{"tables": {"rides": {"table": "Ride"}}}"#, "tables.rides: Tally has no table rides"),
            (
                #"{"tables": {"users": {"table": "User", "columns": {"mail": "email"}}}}"#,
                "tables.users.columns.mail: Tally's users has no column mail"
            ),
            (
                #"{"tables": {"payments": {"table": "P", "columns": {"amount": {"column": "a", "money": "major", "minorDigits": 9}}}}}"#,
                "\"minorDigits\" must be between 0 and 6"
            ),
            (
                #"{"tables": {"payments": {"table": "P", "columns": {"status": {"column": "s", "values": {"done": 3}}}}}}"#,
                "value \"done\" must map to a text"
            ),
            (
                #"{"tables": {"payments": {"table": "P", "columns": {"status": {"column": "s", "values": {"done": "COMPLETD"}}}}}}"#,
                "value \"done\" maps to \"COMPLETD\", not one of Tally's names"
            ),
            (
                #"{"tables": {"payments": {"table": "P", "columns": {"createdAt": {"column": "c", "zone": "Europe/Paris"}}}}}"#,
                "\"zone\" needs \"timestamp\""
            ),
            (
                #"{"tables": {"payments": {"table": "P", "columns": {"createdAt": {"column": "c", "timestamp": "iso8601", "zone": "Mars/Base"}}}}}"#,
                "unknown time zone"
            ),
            (#"{"tables": []}"#, "schema map tables: expected an object"),
            (#"{"tables": {}"#, "schema map: not valid JSON"),
            (#"{"tables": {}}"#, "schema map tables: maps none of Tally's tables"),
            (#"{"tables": {"users": null, "payments": null}}"#, "schema map tables: maps none of Tally's tables"),
        ])
    func badMaps(json: String, message: String) {
        #expect {
            try SchemaMap(json: Data(json.utf8))
        } throws: { error in
            guard let error = error as? TallyError else { return false }
            return error.kind == .invalidInput && error.message.contains(message) && !error.message.contains("\n")
        }
    }

    @Test("a map written as JSON reads back the same")
    func roundTrip() throws {
        let map = try SchemaMap(tables: [
            "bookings": SchemaMap.Table(
                "Booking",
                columns: [
                    "createdAt": SchemaMap.Column("createdAt", timestamp: .epochMilliseconds),
                    "price": SchemaMap.Column("price", money: .major, minorDigits: 0),
                    "status": SchemaMap.Column("status", values: ["completed": "COMPLETED", "3": "COMPLETED", "it's": "PENDING"]),
                    "vehicleId": SchemaMap.Column?.none,
                ]),
            "users": SchemaMap.Table("User", columns: ["isActive": SchemaMap.Column("active", boolean: true)]),
            "vehicles": SchemaMap.Table?.none,
        ])
        let json = map.json(notes: ["bookings": "a \"note\"", "vehicles": "none", "bookings.price": "yen", "bookings.vehicleId": "gone"])
        let read = try SchemaMap(json: Data(json.utf8))
        #expect(read == map, "\(json)")
        // Every note is written, those of what the app lacks too (beside the null).
        for note in ["a \\\"note\\\"", "vehicles: none", "yen", "vehicleId: gone"] { #expect(json.contains(note), "\(note) in \(json)") }
    }

    // MARK: - Conversions, on every storage class

    /// Evaluates a conversion in SQLite on one stored value.
    func convert(_ column: SchemaMap.Column, _ value: DatabaseValue) throws -> DatabaseValue {
        try DatabaseQueue().read { db in
            try DatabaseValue.fetchOne(db, sql: "SELECT \(column.sql("x")) FROM (SELECT ? AS x)", arguments: [value]) ?? .null
        }
    }

    static let timestampCases: [(SchemaMap.TimestampFormat, DatabaseValue, DatabaseValue)] = [
        (SchemaMap.TimestampFormat.epochMilliseconds, "2024-03-10 07:00:00".databaseValue, 1_710_054_000_000.databaseValue),
        (.epochMilliseconds, "2024-03-10T07:00:00Z".databaseValue, 1_710_054_000_000.databaseValue),
        (.epochMilliseconds, "2024-03-10T09:00:00+02:00".databaseValue, 1_710_054_000_000.databaseValue),
        (.epochMilliseconds, "2024-03-10 07:00:00.123456".databaseValue, 1_710_054_000_123.databaseValue),
        (.epochMilliseconds, "2024-01-31 23:59:59.9996".databaseValue, 1_706_745_600_000.databaseValue),
        (.epochMilliseconds, "2024-03-10".databaseValue, 1_710_028_800_000.databaseValue),
        (.epochMilliseconds, "1969-12-31 23:59:59.999".databaseValue, (-1).databaseValue),
        (.epochMilliseconds, 1_710_054_000_000.databaseValue, 1_710_054_000_000.databaseValue),
        (.epochMilliseconds, 1.5.databaseValue, 1.5.databaseValue),
        (.epochMilliseconds, "yesterday".databaseValue, .null),
        (.epochMilliseconds, "now".databaseValue, .null),  // julianday('now') would differ between a view and a trigger
        (.epochMilliseconds, "10:00".databaseValue, .null),  // a bare time: julianday() reads 2000-01-01
        (.epochMilliseconds, "2460379.5".databaseValue, .null),  // a number as text: julianday() reads a Julian day
        (.epochMilliseconds, " 2024-03-10".databaseValue, .null),  // as julianday() reads it: no leading space
        (.epochMilliseconds, "".databaseValue, .null),
        (.epochMilliseconds, DatabaseValue.null, .null),
        (.epochMilliseconds, Data([1, 2]).databaseValue, Data([1, 2]).databaseValue),
        (.epochMilliseconds, Int64.min.databaseValue, Int64.min.databaseValue),
        (.epochMilliseconds, (-0.5).databaseValue, (-0.5).databaseValue),
        (.epochSeconds, 1_710_054_000.databaseValue, 1_710_054_000_000.databaseValue),
        (.epochSeconds, 1_710_054_000.5.databaseValue, 1_710_054_000_500.0.databaseValue),
        (.epochSeconds, Int64.max.databaseValue, (Double(Int64.max) * 1000).databaseValue),
        (.epochSeconds, "2024-03-10 07:00:00".databaseValue, 1_710_054_000_000.databaseValue),
        (.iso8601, "2024-03-10 07:00:00".databaseValue, 1_710_054_000_000.databaseValue),
        (.julianDay, 2_460_379.791_666_666_5.databaseValue, 1_710_054_000_000.databaseValue),
        (.julianDay, 2_440_588.databaseValue, 43_200_000.databaseValue),
    ]

    @Test(
        "timestamps: text as ISO 8601 (rounded to the millisecond), numbers in the map's unit, anything else as stored",
        arguments: Self.timestampCases)
    func timestamps(format: SchemaMap.TimestampFormat, stored: DatabaseValue, expected: DatabaseValue) throws {
        #expect(try convert(SchemaMap.Column("x", timestamp: format), stored) == expected)
    }

    static let moneyCases: [(Int, DatabaseValue, DatabaseValue)] = [
        (2, 19.99.databaseValue, 1999.databaseValue),
        (2, "19.99".databaseValue, 1999.databaseValue),
        (2, " -5.5 ".databaseValue, (-550).databaseValue),
        (2, "+0.07".databaseValue, 7.databaseValue),
        (2, 1200.databaseValue, 120_000.databaseValue),
        (2, 0.1.databaseValue, 10.databaseValue),
        (2, 1.005.databaseValue, 100.databaseValue),  // the real 1.005 is 1.00499999999999989…
        (2, 12.5.databaseValue, 1250.databaseValue),
        (0, 1999.databaseValue, 1999.databaseValue),
        (3, "1.234".databaseValue, 1234.databaseValue),
        (2, 1e300.databaseValue, 1e302.databaseValue),
        (2, Int64.max.databaseValue, (Double(Int64.max) * 100).databaseValue),
        (2, "abc".databaseValue, "abc".databaseValue),
        (2, "1.2.3".databaseValue, "1.2.3".databaseValue),
        (2, "--1".databaseValue, "--1".databaseValue),
        (2, ".".databaseValue, ".".databaseValue),
        (2, DatabaseValue.null, .null),
        (2, Data([0]).databaseValue, Data([0]).databaseValue),
        // Around the common case's bound (2⁵²/10^d) and the exact one (2⁵³ minor units).
        (2, 45_035_996_273_703.databaseValue, 4_503_599_627_370_300.databaseValue),
        (2, 45_035_996_273_704.databaseValue, 4_503_599_627_370_400.databaseValue),
        (2, (-45_035_996_273_705).databaseValue, (-4_503_599_627_370_500).databaseValue),
        (2, 45_035_996_273_703.99.databaseValue, 4_503_599_627_370_399.databaseValue),
        (2, 90_071_992_547_409.92.databaseValue, 9_007_199_254_740_992.0.databaseValue),
        (0, 4_503_599_627_370_495.databaseValue, 4_503_599_627_370_495.databaseValue),
        (0, 9_007_199_254_740_993.databaseValue, 9_007_199_254_740_993.databaseValue),  // no real could hold it
        (2, (-0.0).databaseValue, 0.databaseValue),
    ]

    @Test(
        "money in major units: exact minor units, texts that are not numbers kept",
        arguments: Self.moneyCases)
    func money(digits: Int, stored: DatabaseValue, expected: DatabaseValue) throws {
        #expect(try convert(SchemaMap.Column("x", money: .major, minorDigits: digits), stored) == expected)
    }

    @Test(
        "booleans and enum values",
        arguments: [
            ("t", 1), ("TRUE", 1), (" true ", 1), ("1", 1), ("f", 0), ("False", 0), ("0", 0),
        ])
    func flags(stored: String, expected: Int) throws {
        #expect(try convert(SchemaMap.Column("x", boolean: true), stored.databaseValue) == expected.databaseValue)
    }

    @Test("booleans keep what they do not know; enums map texts and Rails' integers, keep the rest")
    func flagsAndEnums() throws {
        let flag = SchemaMap.Column("x", boolean: true)
        #expect(try convert(flag, 1.databaseValue) == 1.databaseValue)
        #expect(try convert(flag, 2.databaseValue) == 2.databaseValue)
        #expect(try convert(flag, "yes".databaseValue) == "yes".databaseValue)
        #expect(try convert(flag, DatabaseValue.null) == .null)
        let status = SchemaMap.Column("x", values: ["completed": "COMPLETED", "3": "COMPLETED", "it's": "PENDING"])
        #expect(try convert(status, "completed".databaseValue) == "COMPLETED".databaseValue)
        #expect(try convert(status, "it's".databaseValue) == "PENDING".databaseValue)
        #expect(try convert(status, 3.databaseValue) == "COMPLETED".databaseValue)
        #expect(try convert(status, 4.databaseValue) == 4.databaseValue)
        #expect(try convert(status, "Completed".databaseValue) == "Completed".databaseValue)
        #expect(try convert(status, 3.0.databaseValue) == 3.0.databaseValue)
    }

    @Test(
        "naive text in a named zone: the instant Zone.instant gives (gaps forward, overlaps the earlier), offsets kept",
        arguments: ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Apia", "UTC"])
    func zones(name: String) throws {
        let zone = try Zone(name)
        let column = SchemaMap.Column("x", timestamp: .iso8601, zone: zone)
        let queue = try DatabaseQueue()
        try queue.write { db in
            for statement in ZoneOffsetTable.of(zone).statements(schema: "temp") { try db.execute(sql: statement) }
        }
        var random = SplitMix64(seed: 11)
        // Every hour around each change of offset, and random times between.
        var locals: [(CivilDate, Int64)] = []
        for row in ZoneOffsetTable.of(zone).rows.dropFirst() where row.localStart > 0 && row.localStart < 1_900_000_000_000 {
            for hour in -3...3 {
                let local = row.localStart + Int64(hour) * 3_600_000 + Int64(random.next() % 4) * 900_000
                locals.append((CivilDate(daysSinceEpoch: Int(local.floorDiv(86_400_000))), local - local.floorDiv(86_400_000) * 86_400_000))
            }
        }
        for _ in 0..<300 {
            let local = Int64(random.next() % 1_900_000_000_000)
            locals.append((CivilDate(daysSinceEpoch: Int(local / 86_400_000)), local % 86_400_000))
        }
        try queue.read { db in
            for (date, millis) in locals {
                let seconds = millis / 1000
                let text = String(
                    format: "%04d-%02d-%02d %02d:%02d:%02d.%03d", date.year, date.month, date.day, Int(seconds / 3600), Int(seconds / 60 % 60),
                    Int(seconds % 60), Int(millis % 1000))
                let converted = try Int64.fetchOne(db, sql: "SELECT \(column.sql("x")) FROM (SELECT ? AS x)", arguments: [text])
                #expect(converted == zone.instant(date, millisOfDay: millis), "\(text) in \(name)")
            }
            // Text with an offset or Z ignores the zone.
            let utc = try Int64.fetchOne(db, sql: "SELECT \(column.sql("x")) FROM (SELECT ? AS x)", arguments: ["2024-07-01T00:00:00Z"])
            #expect(utc == 1_719_792_000_000)
            let offset = try Int64.fetchOne(db, sql: "SELECT \(column.sql("x")) FROM (SELECT ? AS x)", arguments: ["2024-07-01 02:00:00+02:00"])
            #expect(offset == 1_719_792_000_000)
        }
    }

    @Test("zones whose names differ only in punctuation get distinct offset tables")
    func zoneTableNames() throws {
        let plus = ZoneOffsetTable.of(try Zone("Etc/GMT+5")), minus = ZoneOffsetTable.of(try Zone("Etc/GMT-5"))
        #expect(plus.name != minus.name)
        #expect(plus.rows.last?.offset == -18_000_000 && minus.rows.last?.offset == 18_000_000)
    }

    @Test("rollups on an app's table with a partial UNIQUE index (soft deletes) and a NOCASE one stay exact")
    func uniqueIndexesOfTheApp() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("rails.db")
        let app = try DatabaseQueue(path: path)
        try await app.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE "payments" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "amount" decimal(10,2), "status" integer,
                      "code" varchar, "ref" varchar, "deleted_at" datetime(6), "created_at" datetime(6) NOT NULL);
                    CREATE UNIQUE INDEX "index_payments_on_code" ON "payments" ("code") WHERE deleted_at IS NULL;
                    CREATE UNIQUE INDEX "index_payments_on_ref" ON "payments" ("ref" COLLATE NOCASE);
                    INSERT INTO payments (amount, status, code, ref, deleted_at, created_at)
                      VALUES (10, 1, 'A', 'x1', '2024-01-01 00:00:00', '2024-01-01 00:00:00'), (20, 1, 'B', 'Y2', NULL, '2024-01-02 00:00:00');
                    """)
        }
        let map = try SchemaMap(
            json: Data(
                #"""
                {"tables": {"payments": {"table": "payments", "columns": {"bookingId": null, "amount": {"column": "amount", "money": "major"},
                  "status": {"column": "status", "values": {"0": "PENDING", "1": "COMPLETED"}},
                  "createdAt": {"column": "created_at", "timestamp": "iso8601"}}}}}
                """#.utf8))
        let writer = try TallyDatabase.openForWriting(path: path, schemaMap: map)
        try Rollups.enable(on: writer)
        try writer.close()
        try await app.write { db in
            // A live row with the soft-deleted row's code: nothing is replaced.
            try db.execute(sql: "INSERT INTO payments (amount, status, code, created_at) VALUES (5, 1, 'A', '2024-02-01 00:00:00')")
            // 'y2' collides with 'Y2' under the index's NOCASE: that row is replaced.
            try db.execute(sql: "INSERT OR REPLACE INTO payments (amount, status, ref, created_at) VALUES (7, 1, 'y2', '2024-02-02 00:00:00')")
        }
        try app.close()
        let database = try TallyDatabase.openReadOnly(path: path, schemaMap: map)
        #expect(try await Rollups.verify(database) == [])
        let dashboard = try await TallyEngine(database: database, cache: .disabled).dashboard(strategy: .rollup)
        #expect(dashboard.payments.byStatus["COMPLETED"] == Dashboard.CountAmount(count: 3, amount: 2200))
        try database.close()
    }

    /// The app's own connection to `path`, with the collation `appcoll`
    /// (case-insensitive) that only the app defines, after running `sql`.
    static func appWithItsCollation(_ path: String, _ sql: String) async throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            db.add(
                collation: DatabaseCollation("appcoll") { a, b in
                    a.lowercased() < b.lowercased() ? .orderedAscending : a.lowercased() == b.lowercased() ? .orderedSame : .orderedDescending
                })
        }
        let app = try DatabaseQueue(path: path, configuration: configuration)
        try await app.write { db in try db.execute(sql: sql) }
        return app
    }

    @Test("an app's columns with a collation only the app defines: Tally reads them, and a writer without it still writes")
    func collationOnlyTheAppHas() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("app.db")
        let app = try await Self.appWithItsCollation(
            path,
            """
            CREATE TABLE "Payment" ("id" INTEGER PRIMARY KEY, "amount" REAL COLLATE appcoll, "status" TEXT COLLATE appcoll,
              "createdAt" INTEGER COLLATE appcoll);
            INSERT INTO "Payment" (amount, status, createdAt) VALUES (12.5, 'done', 1704067200000), (3, 'open', 1704067200000);
            """)
        try app.close()
        let map = try SchemaMap(
            json: Data(
                #"""
                {"tables": {"payments": {"table": "Payment", "columns": {"bookingId": null, "amount": {"column": "amount", "money": "major"},
                  "status": {"column": "status", "values": {"done": "COMPLETED", "open": "PENDING"}},
                  "createdAt": {"column": "createdAt", "timestamp": "epoch-ms"}}}}}
                """#.utf8))
        // Tally's connections have no `appcoll`: enabling reads through the views.
        let writer = try TallyDatabase.openForWriting(path: path, schemaMap: map)
        try Rollups.enable(on: writer)
        try writer.close()
        // Another writer without `appcoll` (the sqlite3 shell): the triggers compile and run.
        let other = try DatabaseQueue(path: path)
        try await other.write { db in
            try db.execute(
                sql: """
                    INSERT INTO "Payment" (amount, status, createdAt) VALUES (7.25, 'done', 1704067200000), (-9223372036854775808, 'open', 5);
                    UPDATE "Payment" SET amount = 8 WHERE id = 2;
                    DELETE FROM "Payment" WHERE id = 1;
                    """)
        }
        try other.close()
        let database = try TallyDatabase.openReadOnly(path: path, schemaMap: map)
        #expect(try await Rollups.verify(database) == [])
        let engine = TallyEngine(database: database, cache: .disabled)
        for strategy in [Strategy.rollup, .singlePass] {
            let dashboard = try await engine.dashboard(strategy: strategy)
            #expect(dashboard.payments.byStatus["COMPLETED"] == Dashboard.CountAmount(count: 1, amount: 725), "\(strategy)")
            #expect(dashboard.payments.revenue == 725, "\(strategy)")
        }
        try database.close()
    }

    @Test("an app's columns read as stored under a collation only the app defines, or NOCASE: every strategy groups and filters byte for byte")
    func storedColumnsUnderTheAppsCollations() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("app.db")
        let app = try await Self.appWithItsCollation(
            path,
            """
            CREATE TABLE "Payment" ("id" INTEGER PRIMARY KEY, "amount" INTEGER COLLATE appcoll, "status" TEXT COLLATE appcoll,
              "createdAt" INTEGER COLLATE NOCASE);
            CREATE INDEX "Payment_status" ON "Payment"("status");
            CREATE TABLE "User" ("id" INTEGER PRIMARY KEY, "role" TEXT COLLATE NOCASE, "isActive" INTEGER COLLATE appcoll);
            CREATE INDEX "User_role" ON "User"("role");
            INSERT INTO "Payment" (amount, status, createdAt) VALUES (1250, 'COMPLETED', 1704067200000),
              (300, 'completed', 1704067200000), (75, 'Completed', 1706745600000), (500, 'REFUNDED', 1706745600000);
            INSERT INTO "User" (role, isActive) VALUES ('ADMIN', 1), ('admin', '1'), ('Admin', 0), ('CUSTOMER', 1);
            """)
        // The reference: plain SQL on the app's own connection, byte for byte.
        let (expectedStatuses, expectedRoles) = try await app.read { db in
            (
                try Row.fetchAll(db, sql: #"SELECT status COLLATE BINARY, COUNT(*), SUM(amount) FROM "Payment" GROUP BY 1"#)
                    .map { "\($0[0] as String) \($0[1] as Int) \($0[2] as Int)" },
                try Row.fetchAll(db, sql: #"SELECT role COLLATE BINARY, COUNT(*), SUM(isActive = 1) FROM "User" GROUP BY 1"#)
                    .map { "\($0[0] as String) \($0[1] as Int) \($0[2] as Int)" }
            )
        }
        try app.close()
        let map = try SchemaMap(
            json: Data(#"{"tables": {"payments": {"table": "Payment", "columns": {"bookingId": null}}, "users": {"table": "User"}}}"#.utf8))
        let writer = try TallyDatabase.openForWriting(path: path, schemaMap: map)
        try Rollups.enable(on: writer)
        try writer.close()
        let database = try TallyDatabase.openReadOnly(path: path, schemaMap: map)
        let engine = TallyEngine(database: database, cache: .disabled)
        for strategy in [Strategy.singlePass, .grouped, .naive, .rollup] {
            let dashboard = try await engine.dashboard(strategy: strategy)
            // Without the contract's names the data lacks (listed at zero).
            let statuses = dashboard.payments.byStatus.filter { $0.value.count > 0 }.map { "\($0.key) \($0.value.count) \($0.value.amount)" }.sorted()
            #expect(statuses == expectedStatuses.sorted(), "\(strategy)")
            let roles = dashboard.users.byRole.filter { $0.value.total > 0 }.map { "\($0.key) \($0.value.total) \($0.value.active)" }.sorted()
            #expect(roles == expectedRoles.sorted(), "\(strategy)")
        }
        // A filter constant is compared as SQL compares it with the app's
        // INTEGER column: the text '1' is the integer 1.
        let active = Stat(name: "active", table: "users", filters: [.equals("isActive", .text("1"))], groupBy: ["role"])
        var results: [StatResult] = []
        for strategy in [Strategy.singlePass, .grouped, .naive] { results.append(try await engine.run([active], strategy: strategy)[0]) }
        #expect(results.allSatisfy { $0 == results[0] })
        #expect(results[0].groups.count == 3)
        try database.close()
    }

    // MARK: - An app's database

    /// A Prisma-shaped file: quoted PascalCase tables, TEXT ids, epoch-ms
    /// integers mixed with `CURRENT_TIMESTAMP` text, REAL money in major
    /// units; no vehicles table.
    static func prismaDatabase(_ path: String) throws -> DatabaseQueue {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE "User" ("id" TEXT NOT NULL PRIMARY KEY, "email" TEXT NOT NULL, "name" TEXT, "role" TEXT NOT NULL,
                      "isActive" BOOLEAN NOT NULL DEFAULT true, "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP);
                    CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
                    CREATE TABLE "Payment" ("id" TEXT NOT NULL PRIMARY KEY, "bookingId" TEXT NOT NULL, "amount" REAL NOT NULL,
                      "status" TEXT NOT NULL DEFAULT 'PENDING', "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP);
                    INSERT INTO "User" VALUES ('ck1', 'a@x', 'A', 'CUSTOMER', 1, 1710054000000), ('ck2', 'b@x', NULL, 'ADMIN', 0, 1710054000001);
                    INSERT INTO "User" ("id", "email", "role") VALUES ('ck3', 'c@x', 'DRIVER');
                    INSERT INTO "Payment" VALUES ('p1', 'b1', 19.99, 'COMPLETED', 1706745599999), ('p2', 'b1', 0.1, 'COMPLETED', 1706745600000),
                      ('p3', 'b2', 5.0, 'REFUNDED', 1706745600000), ('p4', 'b2', 7.25, 'COMPLETED', '2024-02-29T23:59:59.999Z');
                    INSERT INTO "Payment" ("id", "bookingId", "amount", "status") VALUES ('p5', 'b3', 3.5, 'COMPLETED');
                    """)
        }
        return queue
    }

    static let prismaMap = #"""
        {"tables": {
          "users": {"table": "User", "columns": {"createdAt": {"column": "createdAt", "timestamp": "epoch-ms"},
                    "isActive": {"column": "isActive", "boolean": true}}},
          "payments": {"table": "Payment", "columns": {"amount": {"column": "amount", "money": "major"},
                       "createdAt": {"column": "createdAt", "timestamp": "epoch-ms"}}},
          "vehicles": null}}
        """#

    @Test("an app's database through a map: every strategy, the absent tables stated, the file untouched")
    func prismaThroughMap() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("dev.db")
        try Self.prismaDatabase(path).close()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let map = try SchemaMap(json: Data(Self.prismaMap.utf8))
        let database = try TallyDatabase.openReadOnly(path: path, schemaMap: map)
        let engine = TallyEngine(database: database, cache: .disabled)
        var answers: [Dashboard] = []
        var json: [String: Any] = [:]
        for strategy in [Strategy.singlePass, .grouped, .naive] {
            var dashboard = try await engine.dashboard(strategy: strategy)
            #expect(dashboard.meta.absent == ["drivers", "vehicles", "bookings", "organizations", "modules"])
            // The absent sections are left out of the JSON.
            json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(dashboard)) as! [String: Any]
            dashboard.meta = ResponseMeta()
            answers.append(dashboard)
        }
        #expect(answers.allSatisfy { $0 == answers[0] })
        let dashboard = answers[0]
        #expect(dashboard.users.total == 3 && dashboard.users.active == 2)
        #expect(dashboard.users.byRole["ADMIN"] == Dashboard.TotalActive(total: 1, active: 0))
        #expect(dashboard.payments.byStatus["COMPLETED"] == Dashboard.CountAmount(count: 4, amount: 3084))
        #expect(dashboard.payments.refunded == 500)
        #expect(json["vehicles"] == nil && json["users"] != nil && json["modules"] == nil)

        // Revenue per month in UTC: the raw-SQL CURRENT_TIMESTAMP row is now (this month).
        let revenue = try await engine.revenue(try RevenueQuery(period: "month", from: "2024-01-01", to: "2024-04-01"))
        #expect(revenue.buckets.map(\.count) == [1, 2, 0])
        #expect(revenue.buckets.map(\.amount) == [1999, 735, 0])
        #expect(revenue.meta.absent == nil)
        try database.close()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test("the documented example: a map file, an app's database, a dashboard")
    func documentedExample() async throws {
        let directory = try TemporaryDirectory()
        let appDatabase = directory.path("dev.db")
        try Self.prismaDatabase(appDatabase).close()
        let mapFile = URL(fileURLWithPath: directory.path("prisma.map.json"))
        try Data(Self.prismaMap.utf8).write(to: mapFile)
        let map = try SchemaMap(json: Data(contentsOf: mapFile))
        let database = try TallyDatabase.openReadOnly(path: appDatabase, schemaMap: map)
        let dashboard = try await TallyEngine(database: database).dashboard()
        #expect(dashboard.users.total == 3)
        try database.close()
    }

    @Test("a map that does not match the file names the entry")
    func mapAgainstFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("dev.db")
        try Self.prismaDatabase(path).close()
        for (json, message) in [
            (#"{"tables": {"bookings": {"table": "Booking"}}}"#, "schema map tables.bookings: \(path) has no table \"Booking\""),
            (
                #"{"tables": {"users": {"table": "User", "columns": {"createdAt": "created_at"}}}}"#,
                "schema map tables.users.columns.createdAt: table \"User\" has no column \"created_at\""
            ),
        ] {
            #expect {
                try TallyDatabase.openReadOnly(path: path, schemaMap: try SchemaMap(json: Data(json.utf8)))
            } throws: { error in
                (error as? TallyError)?.message == message
            }
        }
    }

    @Test("rollups on an app's tables stay exact under the app's own writes, which never fail")
    func rollupsThroughMap() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("dev.db")
        let app = try Self.prismaDatabase(path)
        let map = try SchemaMap(json: Data(Self.prismaMap.utf8))
        let writer = try TallyDatabase.openForWriting(path: path, schemaMap: map)
        try Rollups.enable(on: writer)
        #expect(try await Rollups.status(of: writer).allIntact)
        try writer.close()

        // The app writes through its own connection: no Tally function, no view.
        var random = SplitMix64(seed: 7)
        for step in 0..<200 {
            let id = "p\(random.next() % 12)"
            let amount: DatabaseValue =
                switch random.next() % 4 {
                case 0: (Double(random.next() % 100_000) / 100).databaseValue
                case 1: "12.30".databaseValue
                case 2: Int64(random.next() % 50).databaseValue
                default: "n/a".databaseValue
                }
            let created: DatabaseValue =
                random.next() % 3 == 0
                ? "2024-0\(1 + random.next() % 9)-1\(random.next() % 9) 0\(random.next() % 9):00:00".databaseValue
                : Int64(1_700_000_000_000 + Int64(random.next() % 40_000_000_000)).databaseValue
            let status = ["COMPLETED", "REFUNDED", "PENDING", "completed"][Int(random.next() % 4)]
            try await app.write { db in
                switch step % 5 {
                case 0, 1:
                    try db.execute(
                        sql: #"INSERT OR REPLACE INTO "Payment" VALUES (?, 'b', ?, ?, ?)"#, arguments: [id, amount, status, created])
                case 2:
                    try db.execute(sql: #"UPDATE "Payment" SET "amount" = ?, "createdAt" = ? WHERE "id" = ?"#, arguments: [amount, created, id])
                case 3:
                    try db.execute(
                        sql: #"INSERT OR IGNORE INTO "Payment" ("id", "bookingId", "amount") VALUES (?, 'b', ?)"#, arguments: [id, amount])
                default:
                    try db.execute(sql: #"DELETE FROM "Payment" WHERE "id" = ?"#, arguments: [id])
                }
            }
        }
        try app.close()

        let database = try TallyDatabase.openReadOnly(path: path, schemaMap: map)
        let engine = TallyEngine(database: database, cache: .disabled)
        let query = try RevenueQuery(period: "month", from: "2023-01-01", to: "2025-06-01")
        /// Rollups and the scan agree; `exact` once no text amount is left
        /// (SUM's reading of a text only a scan reproduces).
        func agree(rollupOnly: Bool) async throws {
            #expect(try await Rollups.verify(database) == [])
            var rollup = try await engine.dashboard(strategy: .rollup)
            var scan = try await engine.dashboard(strategy: .singlePass)
            #expect(rollupOnly ? rollup.meta.strategy == "rollup" : rollup.meta.strategy?.hasPrefix("rollup") == true)
            rollup.meta = ResponseMeta()
            scan.meta = ResponseMeta()
            #expect(rollup == scan)
            let rollupRevenue = try await engine.revenue(query, strategy: .rollup)
            let scanRevenue = try await engine.revenue(query, strategy: .singlePass)
            #expect(rollupRevenue.buckets == scanRevenue.buckets && rollupRevenue.total == scanRevenue.total)
            #expect(scanRevenue.total.count > 0)
        }
        try await agree(rollupOnly: false)
        let cleanup = try DatabaseQueue(path: path)
        try await cleanup.write { db in try db.execute(sql: #"DELETE FROM "Payment" WHERE typeof("amount") = 'text' AND "amount" <> '12.30'"#) }
        try cleanup.close()
        try await agree(rollupOnly: true)

        // Without the map the triggers are not Tally's: the file is not read as Tally's own.
        #expect(throws: TallyError.self) { try TallyDatabase.openReadOnly(path: path) }
        try database.close()
    }

    @Test("guess: Prisma's names, epoch milliseconds mixed with text, REAL money, the missing tables")
    func guessPrisma() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("dev.db")
        try Self.prismaDatabase(path).close()
        let guess = try SchemaMapGuesser.guess(path: path)
        let users = try #require(guess.map.tables["users"] ?? nil)
        #expect(users.table == "User")
        #expect(users.columns["createdAt"]??.timestamp == .epochMilliseconds)
        #expect(users.columns["isActive"]??.boolean == true)
        let payments = try #require(guess.map.tables["payments"] ?? nil)
        #expect(payments.columns["amount"]??.money == .major)
        #expect(guess.map.tables["vehicles"] == .some(nil))
        #expect(guess.notes["vehicles"]?.contains("left out") == true)
        // The guess, read back from its JSON, gives the hand-written map's answers.
        let guessed = try SchemaMap(json: Data(guess.json.utf8))
        let byHand = try SchemaMap(json: Data(Self.prismaMap.utf8))
        var answers: [Dashboard] = []
        for map in [guessed, byHand] {
            let database = try TallyDatabase.openReadOnly(path: path, schemaMap: map)
            var dashboard = try await TallyEngine(database: database, cache: .disabled).dashboard()
            dashboard.meta = ResponseMeta()
            answers.append(dashboard)
            try database.close()
        }
        #expect(answers[0] == answers[1])
    }
}
