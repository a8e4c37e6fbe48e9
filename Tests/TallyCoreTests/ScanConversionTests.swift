import Foundation
import GRDB
import GRDBSQLite
import TallyTestSupport
import Testing

@testable import TallyCore

/// The conversions the single-pass scan applies in Swift (`ScanConversion`)
/// against SQL's own (`SchemaMap.Column.sql`), value by value and through
/// whole answers: SQL is the definition, Swift only a faster way to the
/// same value.
@Suite("scan conversions")
struct ScanConversionTests {
    /// The columns the scan converts in Swift, each with its map entry.
    static let columns: [(String, SchemaMap.Column)] =
        (0...6).map { ("money major, \($0) digits", SchemaMap.Column("x", money: .major, minorDigits: $0)) } + [
            ("epoch-ms", SchemaMap.Column("x", timestamp: .epochMilliseconds)),
            ("epoch-ms, naive text in a zone", SchemaMap.Column("x", timestamp: .epochMilliseconds, zone: try! Zone("Europe/Brussels"))),
            ("flag", SchemaMap.Column("x", boolean: true)),
        ]

    /// Values around every rounding and range edge the conversions have,
    /// and seeded random numbers at every scale.
    static var values: [DatabaseValue] {
        let literals: [any DatabaseValueConvertible] = [
            0, 0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994, 0.285, 1.005, 19.99,
            0.1, 12.5, -7.125, 1e-320, -1e-320, 1e300, -1e300, Double.infinity, -Double.infinity,
            Int64.max, Int64.min, Int64.max - 1, 1_710_054_000_000, -1,
            "19.99", " 12.50 ", "abc", "", "2024-03-10 07:00:00", "t", "1", DatabaseValue.null, Data([0, 1]),
        ]
        var values = literals.map(\.databaseValue)
        // The fast path's bound 2⁵²/10^d, as integers and reals on both sides.
        for digits in 0...6 {
            let bound = 4_503_599_627_370_496 / (0..<digits).reduce(Int64(1)) { value, _ in value * 10 }
            for n in [bound - 1, bound, bound + 1] {
                values += [n.databaseValue, (-n).databaseValue]
                let real = Double(n)
                values += [real, real.nextDown, real.nextUp, -real.nextDown, -real.nextUp].map(\.databaseValue)
                values.append((real - 0.5).databaseValue)
            }
        }
        var random = SplitMix64(seed: 0x5CA7)
        for _ in 0..<3000 {
            let scale = pow(10.0, Double(random.next() % 17) - 2)
            let r = (Double(random.next() >> 11) / Double(1 << 53) - 0.5) * scale
            values.append(r.databaseValue)
            values.append((r * 100).rounded().databaseValue)
            values.append(((r * 100).rounded() / 100).databaseValue)
            values.append(Int64(truncatingIfNeeded: random.next() >> (random.next() % 64)).databaseValue)
        }
        return values
    }

    @Test(
        "every value converted in Swift equals SQL's conversion of it, storage class included, in every column affinity",
        arguments: Self.columns.map(\.0))
    func agreesWithSQL(name: String) throws {
        let column = Self.columns.first { $0.0 == name }!.1
        let conversion = try #require(ScanConversion(column))
        let values = Self.values
        var computed = 0
        for declared in ["REAL", "NUMERIC", "INTEGER", "TEXT", ""] {
            try DatabaseQueue().write { db in
                if let zone = column.zone {
                    for statement in ZoneOffsetTable.of(zone).statements(schema: "main") { try db.execute(sql: statement) }
                }
                try db.execute(sql: "CREATE TABLE t(x \(declared))")
                for value in values { try db.execute(sql: "INSERT INTO t VALUES (?)", arguments: [value]) }
                let statement = try db.makeStatement(sql: "SELECT t.x, \(column.sql("t.x")) FROM t")
                let handle = statement.sqliteStatement
                while sqlite3_step(handle) == SQLITE_ROW {
                    let stored = sqlite3_column_value(handle, 0)
                    let expected = exactText(DatabaseValue(sqliteStatement: handle, index: 1))
                    switch conversion.convert(stored) {
                    case .asStored:
                        #expect(exactText(DatabaseValue(sqliteStatement: handle, index: 0)) == expected, "\(declared)")
                        computed += 1
                    case .integer(let v):
                        #expect(exactText(v.databaseValue) == expected, "\(declared): \(DatabaseValue(sqliteStatement: handle, index: 0))")
                        computed += 1
                    case .throughSQL:
                        break
                    }
                }
                sqlite3_reset(handle)
            }
        }
        // Most values are numbers in range: the comparison above is not vacuous.
        #expect(computed > values.count * 5 / 2)
    }

    @Test("only single conversions of numbers are applied in Swift")
    func whichColumns() {
        #expect(ScanConversion(SchemaMap.Column("x", timestamp: .epochMilliseconds)) == .numbersAsStored)
        #expect(ScanConversion(SchemaMap.Column("x", boolean: true)) == .numbersAsStored)
        #expect(ScanConversion(SchemaMap.Column("x", money: .major, minorDigits: 3)) == .majorToMinor(factor: 1000, bound: 4_503_599_627_370))
        #expect(ScanConversion(SchemaMap.Column("x")) == nil)
        #expect(ScanConversion(SchemaMap.Column("x", money: .minor)) == nil)
        for format in [SchemaMap.TimestampFormat.iso8601, .epochSeconds, .julianDay] {
            #expect(ScanConversion(SchemaMap.Column("x", timestamp: format)) == nil)
        }
        #expect(ScanConversion(SchemaMap.Column("x", values: ["t": "ADMIN"])) == nil)
        #expect(ScanConversion(SchemaMap.Column("x", boolean: true, values: ["2": "ADMIN"])) == nil)
        #expect(ScanConversion(SchemaMap.Column("x", timestamp: .epochMilliseconds, money: .major)) == nil)
    }

    // MARK: - Whole answers

    /// A Django-shaped payments table (NUMERIC money: REAL and INTEGER mixed)
    /// whose amounts and timestamps take every path: numbers converted in
    /// Swift, and text, blobs, NULL and numbers past the exact range read
    /// through the view, row by row.
    static func paymentsDatabase(_ path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE pay (amount DECIMAL, status TEXT, created DATETIME);
                    INSERT INTO pay VALUES
                      (19.99, 'COMPLETED', 1706745599999), (1200, 'COMPLETED', 1706745600000), (0.285, 'REFUNDED', 1706745600000),
                      ('12,50', 'COMPLETED', '2024-02-29T23:59:59.999Z'), (x'00', 'PENDING', '2024-02-01 00:00:00'),
                      (NULL, 'COMPLETED', 1709251200000.5), (1e300, 'FAILED', 1706745600001), (-1e300, 'FAILED', 1706745600002),
                      (9223372036854775807, 'PENDING', 'soon'), (45035996273704, 'PENDING', NULL), (-45035996273703.99, 'PENDING', 1706745600003),
                      (0.49999999999999994, 'COMPLETED', x'01'), (-0.0, 'REFUNDED', 1709251199999);
                    """)
        }
        try queue.close()
    }

    static let paymentsMap = #"""
        {"tables": {"payments": {"table": "pay", "columns": {
          "amount": {"column": "amount", "money": "major"},
          "createdAt": {"column": "created", "timestamp": "epoch-ms"},
          "id": null, "bookingId": null}}}}
        """#

    @Test("single-pass through a map equals SQL's answer on every path a value can take, and counts its row reads")
    func answersThroughMap() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("app.db")
        try Self.paymentsDatabase(path)
        let database = try TallyDatabase.openReadOnly(path: path, schemaMap: try SchemaMap(json: Data(Self.paymentsMap.utf8)))
        let engine = TallyEngine(database: database, cache: .disabled)
        let grid = try PeriodGrid(period: .month, zone: .utc, from: 1_704_067_200_000, to: 1_711_929_600_000)
        let stats = [
            Stat(
                name: "sums", table: "payments", groupBy: ["status"], aggregates: [.count, .countNonNull("amount"), .sum("amount"), .avg("amount")]),
            Stat(name: "extremes", table: "payments", aggregates: [.min("amount"), .max("amount"), .min("createdAt"), .max("createdAt")]),
            Stat(
                name: "revenue", table: "payments", filters: [.equals("status", .text("COMPLETED"))], groupBy: [],
                bucket: Stat.TimeBucket(column: "createdAt", grid: grid), aggregates: [.count, .sum("amount")]),
        ]
        // Each stat alone, then all in one scan (where `amount` also reaches
        // extremes, so it is read through the view).
        for batch in stats.map({ [$0] }) + [stats] {
            let scanned = try await engine.compute(batch, strategy: .singlePass, kind: "test")
            let reference = try await engine.compute(batch, strategy: .grouped, kind: "test")
            #expect(scanned.results == reference.results, "\(batch.map(\.name))")
        }
        // The sums alone convert amounts in Swift; the rows it cannot
        // convert (text, blob, the reals past the bound, Int64.max, the
        // bound itself) are read one statement each.
        let sums = try await engine.compute([stats[0]], strategy: .singlePass, kind: "test")
        #expect(sums.statements == 1 + 6)
        let plans = try await engine.read { db in try QueryPlanExplainer.explain([stats[0]], strategy: .singlePass, in: db, of: database) }
        #expect(plans.map(\.sql) == ["SELECT status, stored_amount, rowid FROM payments", "SELECT amount FROM payments WHERE rowid = ?"])
        var dashboards: [Dashboard] = []
        for strategy in [Strategy.singlePass, .grouped] {
            var dashboard = try await engine.dashboard(strategy: strategy)
            dashboard.meta = ResponseMeta()
            dashboards.append(dashboard)
        }
        #expect(dashboards[0] == dashboards[1])
        try database.close()
    }

    @Test("a column mostly of values Swift does not convert: the scan starts again with SQL's conversion, same answer")
    func mostlyText() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("app.db")
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "CREATE TABLE pay (amount DECIMAL, status TEXT, created DATETIME)")
            for i in 0..<10_000 {
                // Text timestamps (raw SQL's CURRENT_TIMESTAMP), one number in ten.
                let created: DatabaseValue =
                    i % 10 == 0 ? (1_706_745_600_000 + Int64(i)).databaseValue : "2024-02-\(10 + i % 18) 07:00:00".databaseValue
                try db.execute(sql: "INSERT INTO pay VALUES (?, 'COMPLETED', ?)", arguments: [Double(i) / 100, created])
            }
        }
        try queue.close()
        let database = try TallyDatabase.openReadOnly(path: path, schemaMap: try SchemaMap(json: Data(Self.paymentsMap.utf8)))
        let engine = TallyEngine(database: database, cache: .disabled)
        let grid = try PeriodGrid(period: .day, zone: .utc, from: 1_706_745_600_000, to: 1_709_251_200_000)
        let stat = Stat(
            name: "revenue", table: "payments", bucket: Stat.TimeBucket(column: "createdAt", grid: grid), aggregates: [.count, .sum("amount")])
        let scanned = try await engine.compute([stat], strategy: .singlePass, kind: "test")
        let reference = try await engine.compute([stat], strategy: .grouped, kind: "test")
        #expect(scanned.results == reference.results)
        #expect(scanned.results[0].groups.count == 19)
        // The first scan stopped at its 4,096th row, having read 3,685 of the
        // 4,095 before it by rowid; the second ran whole.
        #expect(scanned.statements == 1 + 3685 + 1)
        try database.close()
    }

    @Test("an app's column named rowid: the views and the triggers address the real rowid")
    func columnNamedRowid() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("app.db")
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE pay (amount DECIMAL, status TEXT, created DATETIME, rowid INTEGER);
                    INSERT INTO pay VALUES (10.0, 'COMPLETED', 1706745600000, 7), ('abc', 'FAILED', 1706745600000, 7),
                      (2.5, 'FAILED', 'x', NULL), (x'00', 'COMPLETED', NULL, 1);
                    """)
        }
        let map = try SchemaMap(json: Data(Self.paymentsMap.utf8))
        let writer = try TallyDatabase.openForWriting(path: path, schemaMap: map)
        try Rollups.enable(on: writer)
        try writer.close()
        // The app's own writes, through the triggers.
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO pay VALUES ('n/a', 'COMPLETED', 1706745600001, 7), (4.25, 'COMPLETED', 1706745600002, 2);
                    UPDATE pay SET amount = 1.5, rowid = 9 WHERE amount = 'abc';
                    DELETE FROM pay WHERE rowid = 1;
                    """)
        }
        try queue.close()
        let database = try TallyDatabase.openReadOnly(path: path, schemaMap: map)
        #expect(try await Rollups.verify(database) == [])
        let engine = TallyEngine(database: database, cache: .disabled)
        var dashboards: [Dashboard] = []
        for strategy in [Strategy.singlePass, .grouped, .rollup] {
            var dashboard = try await engine.dashboard(strategy: strategy)
            dashboard.meta = ResponseMeta()
            dashboards.append(dashboard)
        }
        #expect(dashboards.allSatisfy { $0 == dashboards[0] })
        #expect(dashboards[0].payments.byStatus["COMPLETED"]?.count == 3)
        #expect(dashboards[0].payments.byStatus["FAILED"]?.amount == 400)
        try database.close()
    }
}
