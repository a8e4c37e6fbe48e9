import Foundation
import GRDB
import TallyTestSupport
import Testing

@testable import TallyCore

/// Revenue with hand-checked expectations: each case inserts a few payments
/// at chosen instants and checks the buckets' labels, counts and amounts.
@Suite("Revenue")
struct RevenueTests {
    /// A database holding `payments` as (ISO 8601 instant, amount, status).
    static func database(_ payments: [(String, Int64, String)], in dir: TemporaryDirectory) throws -> TallyDatabase {
        let database = try TallyDatabase.openForWriting(path: dir.path("rev-\(UUID().uuidString).sqlite"))
        let utc = try Zone("UTC")
        try database.writer!.write { (db: Database) throws in
            try db.execute(sql: "INSERT INTO users (id, email, role, createdAt) VALUES (1, 'u', 'CUSTOMER', 0)")
            try db.execute(
                sql:
                    "INSERT INTO bookings (id, userId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, 1, 'RIDE', 'COMPLETED', 1, 0, 0)"
            )
            for (instant, amount, status) in payments {
                try db.execute(
                    sql: "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, ?, ?, ?)",
                    arguments: [amount, status, try TimestampParser.parse(instant, zone: utc)])
            }
        }
        return database
    }

    static func revenue(
        _ database: TallyDatabase, _ period: String, _ zone: String, _ from: String?, _ to: String?,
        strategy: Strategy = .singlePass
    ) async throws -> Revenue {
        try await TallyEngine(database: database).revenue(
            RevenueQuery(period: period, timeZone: zone, from: from, to: to),
            strategy: strategy)
    }

    /// Every case is checked with every strategy.
    static func check(
        _ pool: TallyDatabase, _ period: String, _ zone: String, _ from: String?, _ to: String?,
        _ expected: [(String, Int64, Int64)], sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        for strategy in Strategy.scans {
            let r = try await revenue(pool, period, zone, from, to, strategy: strategy)
            let got = r.buckets.map { ($0.start, $0.count, $0.amount.integer ?? -1) }
            #expect(got.map(\.0) == expected.map(\.0), "\(strategy) labels", sourceLocation: sourceLocation)
            #expect(got.map(\.1) == expected.map(\.1), "\(strategy) counts", sourceLocation: sourceLocation)
            #expect(got.map(\.2) == expected.map(\.2), "\(strategy) amounts", sourceLocation: sourceLocation)
            #expect(r.total.count == expected.reduce(0) { $0 + $1.1 }, sourceLocation: sourceLocation)
            #expect(r.total.amount == .integer(expected.reduce(0) { $0 + $1.2 }), sourceLocation: sourceLocation)
        }
    }

    @Test("Europe/Paris DST start: 2024-03-31 is a 23-hour day")
    func parisSpringForward() async throws {
        let dir = try TemporaryDirectory()
        let pool = try Self.database(
            [
                ("2024-03-30T22:59:59Z", 1, "COMPLETED"),  // 23:59:59 CET on the 30th
                ("2024-03-30T23:00:00Z", 10, "COMPLETED"),  // 00:00 CET on the 31st
                ("2024-03-31T21:59:59Z", 100, "COMPLETED"),  // 23:59:59 CEST on the 31st
                ("2024-03-31T22:00:00Z", 1000, "COMPLETED"),  // 00:00 CEST on April 1st
                ("2024-03-31T01:30:00Z", 5, "REFUNDED"),  // not revenue
            ], in: dir)
        try await Self.check(
            pool, "day", "Europe/Paris", "2024-03-30", "2024-04-02",
            [
                ("2024-03-30T00:00:00+01:00", 1, 1),
                ("2024-03-31T00:00:00+01:00", 2, 110),
                ("2024-04-01T00:00:00+02:00", 1, 1000),
            ])
    }

    @Test("Europe/Paris DST end: 2024-10-27 is a 25-hour day")
    func parisFallBack() async throws {
        let dir = try TemporaryDirectory()
        let pool = try Self.database(
            [
                ("2024-10-26T22:00:00Z", 1, "COMPLETED"),  // 00:00 CEST on the 27th
                ("2024-10-27T00:30:00Z", 10, "COMPLETED"),  // 02:30 CEST (first pass)
                ("2024-10-27T01:30:00Z", 100, "COMPLETED"),  // 02:30 CET (second pass)
                ("2024-10-27T22:59:59Z", 1000, "COMPLETED"),  // 23:59:59 CET
                ("2024-10-27T23:00:00Z", 10000, "COMPLETED"),  // the 28th
            ], in: dir)
        try await Self.check(
            pool, "day", "Europe/Paris", "2024-10-27", "2024-10-29",
            [
                ("2024-10-27T00:00:00+02:00", 4, 1111),
                ("2024-10-28T00:00:00+01:00", 1, 10000),
            ])
    }

    @Test("America/New_York DST start and end, by week and by day")
    func newYork() async throws {
        let dir = try TemporaryDirectory()
        let pool = try Self.database(
            [
                ("2024-03-10T04:59:59Z", 1, "COMPLETED"),  // 23:59:59 EST on Sat the 9th
                ("2024-03-10T05:00:00Z", 10, "COMPLETED"),  // 00:00 EST on Sunday the 10th
                ("2024-03-11T03:59:59Z", 100, "COMPLETED"),  // 23:59:59 EDT on the 10th
                ("2024-03-11T04:00:00Z", 1000, "COMPLETED"),  // 00:00 EDT Monday the 11th
                ("2024-11-03T05:30:00Z", 7, "COMPLETED"),  // 01:30 EDT on Nov 3rd
                ("2024-11-03T06:30:00Z", 70, "COMPLETED"),  // 01:30 EST on Nov 3rd
            ], in: dir)
        try await Self.check(
            pool, "day", "America/New_York", "2024-03-09", "2024-03-12",
            [
                ("2024-03-09T00:00:00-05:00", 1, 1),
                ("2024-03-10T00:00:00-05:00", 2, 110),
                ("2024-03-11T00:00:00-04:00", 1, 1000),
            ])
        // ISO weeks start on Monday: Mar 4 (EST) holds the 9th and 10th.
        try await Self.check(
            pool, "week", "America/New_York", "2024-03-04", "2024-03-18",
            [
                ("2024-03-04T00:00:00-05:00", 3, 111),
                ("2024-03-11T00:00:00-04:00", 1, 1000),
            ])
        try await Self.check(
            pool, "day", "America/New_York", "2024-11-03", "2024-11-04",
            [
                ("2024-11-03T00:00:00-04:00", 2, 77)
            ])
    }

    @Test("ISO week 1 crossing a year boundary, a leap day, quarters and years")
    func weeksAndLeapDay() async throws {
        let dir = try TemporaryDirectory()
        let pool = try Self.database(
            [
                ("2024-12-29T12:00:00Z", 1, "COMPLETED"),  // Sunday: ISO week 52 of 2024
                ("2024-12-30T00:00:00Z", 10, "COMPLETED"),  // Monday: ISO week 1 of 2025 starts
                ("2025-01-05T23:59:59Z", 100, "COMPLETED"),  // Sunday: still week 1
                ("2024-02-29T12:00:00Z", 1000, "COMPLETED"),  // leap day
            ], in: dir)
        try await Self.check(
            pool, "week", "UTC", "2024-12-25", "2025-01-06",
            [
                ("2024-12-23T00:00:00+00:00", 1, 1),
                ("2024-12-30T00:00:00+00:00", 2, 110),
            ])
        try await Self.check(
            pool, "day", "UTC", "2024-02-28", "2024-03-02",
            [
                ("2024-02-28T00:00:00+00:00", 0, 0),
                ("2024-02-29T00:00:00+00:00", 1, 1000),
                ("2024-03-01T00:00:00+00:00", 0, 0),
            ])
        try await Self.check(
            pool, "quarter", "UTC", "2024-01-01", "2025-04-01",
            [
                ("2024-01-01T00:00:00+00:00", 1, 1000), ("2024-04-01T00:00:00+00:00", 0, 0),
                ("2024-07-01T00:00:00+00:00", 0, 0), ("2024-10-01T00:00:00+00:00", 2, 11),
                ("2025-01-01T00:00:00+00:00", 1, 100),
            ])
        try await Self.check(
            pool, "year", "UTC", nil, nil,
            [
                ("2024-01-01T00:00:00+00:00", 3, 1011), ("2025-01-01T00:00:00+00:00", 1, 100),
            ])
    }

    @Test("a zone with a :45 offset (Asia/Kathmandu, +05:45)")
    func kathmandu() async throws {
        let dir = try TemporaryDirectory()
        let pool = try Self.database(
            [
                ("2024-05-31T18:14:59Z", 1, "COMPLETED"),  // 23:59:59 on May 31st local
                ("2024-05-31T18:15:00Z", 10, "COMPLETED"),  // 00:00 on June 1st local
            ], in: dir)
        try await Self.check(
            pool, "month", "Asia/Kathmandu", "2024-05-01", "2024-07-01",
            [
                ("2024-05-01T00:00:00+05:45", 1, 1),
                ("2024-06-01T00:00:00+05:45", 1, 10),
            ])
    }

    @Test("local mean time with seconds (Europe/Brussels, +00:17:30 in 1800): labels name the bucket's instant, and read back")
    func offsetWithSeconds() async throws {
        let dir = try TemporaryDirectory()
        let pool = try Self.database(
            [
                ("1800-01-31T23:42:29Z", 1, "COMPLETED"),  // 23:59:59 on January 31st local
                ("1800-01-31T23:42:30Z", 10, "COMPLETED"),  // 00:00 on February 1st local
            ], in: dir)
        try await Self.check(
            pool, "month", "Europe/Brussels", "1800-01-01", "1800-03-01",
            [
                ("1800-01-01T00:00:00+00:17:30", 1, 1),
                ("1800-02-01T00:00:00+00:17:30", 1, 10),
            ])
        let brussels = try Zone("Europe/Brussels")
        let start = try TimestampParser.parse("1800-02-01", zone: brussels)
        #expect(brussels.format(start) == "1800-02-01T00:00:00+00:17:30")
        #expect(try TimestampParser.parse(brussels.format(start), zone: .utc) == start)
    }

    @Test("partial first and last buckets count only [from, to)")
    func partialBuckets() async throws {
        let dir = try TemporaryDirectory()
        let pool = try Self.database(
            [
                ("2024-01-10T00:00:00Z", 1, "COMPLETED"),  // before from
                ("2024-01-20T00:00:00Z", 10, "COMPLETED"),  // inside the first (partial) month
                ("2024-02-14T00:00:00Z", 100, "COMPLETED"),  // inside the last (partial) month
                ("2024-02-15T00:00:00Z", 1000, "COMPLETED"),  // exactly `to`: excluded
            ], in: dir)
        try await Self.check(
            pool, "month", "UTC", "2024-01-15T00:00:00Z", "2024-02-15T00:00:00+00:00",
            [
                ("2024-01-01T00:00:00+00:00", 1, 10),
                ("2024-02-01T00:00:00+00:00", 1, 100),
            ])
        let r = try await Self.revenue(pool, "month", "UTC", "2024-01-15T00:00:00Z", "2024-02-15")
        #expect(r.from == "2024-01-15T00:00:00+00:00")
        #expect(r.to == "2024-02-15T00:00:00+00:00")
    }

    @Test("an empty range and an empty database give no buckets and zero totals")
    func emptyRanges() async throws {
        let dir = try TemporaryDirectory()
        let pool = try Self.database([("2024-01-10T00:00:00Z", 1, "COMPLETED")], in: dir)
        try await Self.check(pool, "day", "UTC", "2024-01-10", "2024-01-10", [])
        let empty = try Self.database([], in: dir)
        try await Self.check(empty, "month", "Europe/Paris", nil, nil, [])
        let r = try await Self.revenue(empty, "month", "UTC", nil, nil)
        #expect(r.from == nil && r.to == nil)
        // A range with no payments at all: every bucket present with zeros.
        try await Self.check(
            empty, "month", "UTC", "2024-01-01", "2024-04-01",
            [
                ("2024-01-01T00:00:00+00:00", 0, 0), ("2024-02-01T00:00:00+00:00", 0, 0), ("2024-03-01T00:00:00+00:00", 0, 0),
            ])
    }

    @Test("a day whose midnight does not exist (America/Santiago, 2024-09-08) starts at 01:00")
    func skippedMidnight() async throws {
        let zone = try Zone("America/Santiago")
        let start = zone.startOfDay(.init(year: 2024, month: 9, day: 8))
        #expect(zone.format(start) == "2024-09-08T01:00:00-03:00")
        let dir = try TemporaryDirectory()
        let pool = try Self.database([("2024-09-08T04:30:00Z", 5, "COMPLETED")], in: dir)
        try await Self.check(
            pool, "day", "America/Santiago", "2024-09-07", "2024-09-09",
            [
                ("2024-09-07T00:00:00-04:00", 0, 0),
                ("2024-09-08T01:00:00-03:00", 1, 5),
            ])
    }

    @Test(
        "a skipped calendar day has no bucket, and bucket starts are unique",
        arguments: [
            ("Pacific/Apia", "2011-12-29", "2012-01-01", ["2011-12-29T00:00:00-10:00", "2011-12-31T00:00:00+14:00"]),
            ("Pacific/Kiritimati", "1994-12-30", "1995-01-02", ["1994-12-30T00:00:00-10:00", "1995-01-01T00:00:00+14:00"]),
            ("Pacific/Fakaofo", "2011-12-29", "2012-01-01", ["2011-12-29T00:00:00-11:00", "2011-12-31T00:00:00+13:00"]),
        ])
    func skippedDay(zone: String, from: String, to: String, starts: [String]) async throws {
        let dir = try TemporaryDirectory()
        let database = try Self.database([], in: dir)
        for strategy in Strategy.scans {
            let r = try await Self.revenue(database, "day", zone, from, to, strategy: strategy)
            #expect(r.buckets.map(\.start) == starts, "\(zone) \(strategy)")
            #expect(Set(r.buckets.map(\.start)).count == r.buckets.count)
        }
    }

    @Test("a range outside the data gives no buckets, on either side")
    func rangeOutsideTheData() async throws {
        let dir = try TemporaryDirectory()
        let database = try Self.database([("2024-06-10T00:00:00Z", 7, "COMPLETED")], in: dir)
        let before = try await Self.revenue(database, "month", "UTC", nil, "2024-01-01")
        #expect(before.buckets.isEmpty && before.total.count == 0)
        #expect(before.from == "2024-01-01T00:00:00+00:00" && before.to == "2024-01-01T00:00:00+00:00")
        let after = try await Self.revenue(database, "month", "UTC", "2025-01-01", nil)
        #expect(after.buckets.isEmpty && after.total.count == 0)
        #expect(after.from == "2025-01-01T00:00:00+00:00" && after.to == "2025-01-01T00:00:00+00:00")
        let inside = try await Self.revenue(database, "month", "UTC", "2024-06-01", nil)
        #expect(inside.buckets.map(\.count) == [1])
    }

    /// Random payments bucketed independently with Foundation's Calendar, for
    /// every period, in zones with DST and odd offsets.
    @Test(
        "buckets agree with Foundation's Calendar on random instants",
        arguments: ["UTC", "Europe/Paris", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "America/Santiago"])
    func agreesWithCalendar(zoneName: String) async throws {
        var rng = SplitMix64(seed: 5)
        let from: Int64 = 1_672_531_200_000, span: Int64 = 3 * 365 * 86_400_000
        let instants = (0..<400).map { _ in from + Int64(rng.below(Int(span))) }
        let dir = try TemporaryDirectory()
        let utc = try Zone("UTC")
        let database = try Self.database(instants.map { (utc.format($0), 1, "COMPLETED") }, in: dir)
        let zone = try Zone(zoneName)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zoneName)!
        var iso = Calendar(identifier: .iso8601)
        iso.timeZone = calendar.timeZone
        for period in Period.allCases {
            var expected: [Int64: Int64] = [:]
            for t in instants {
                let date = Date(timeIntervalSince1970: Double(t) / 1000)
                let start: Date
                switch period {
                case .day: start = calendar.dateInterval(of: .day, for: date)!.start
                case .week: start = iso.dateInterval(of: .weekOfYear, for: date)!.start
                case .month: start = calendar.dateInterval(of: .month, for: date)!.start
                case .year: start = calendar.dateInterval(of: .year, for: date)!.start
                case .quarter:
                    let c = calendar.dateComponents([.year, .month], from: date)
                    start = calendar.date(from: DateComponents(year: c.year, month: (c.month! - 1) / 3 * 3 + 1, day: 1))!
                }
                expected[Int64((start.timeIntervalSince1970 * 1000).rounded()), default: 0] += 1
            }
            let r = try await TallyEngine(database: database).revenue(RevenueQuery(period: period, zone: zone))
            var got: [Int64: Int64] = [:]
            let grid = try await database.reader.read { try RevenueQuery(period: period, zone: zone).grid(in: $0) }
            for (i, bucket) in r.buckets.enumerated() where bucket.count > 0 {
                got[grid.starts[i]] = bucket.count
            }
            #expect(got == expected, "\(period) in \(zoneName)")
            #expect(r.total.count == 400)
        }
    }
}

@Suite("Parsing")
struct ParsingTests {
    @Test("dates and timestamps")
    func valid() throws {
        let paris = try Zone("Europe/Paris")
        #expect(try TimestampParser.parse("2024-01-01", zone: paris) == 1_704_063_600_000)
        #expect(try TimestampParser.parse("2024-01-01T00:00:00Z", zone: paris) == 1_704_067_200_000)
        #expect(try TimestampParser.parse("2024-01-01T01:00:00+01:00", zone: paris) == 1_704_067_200_000)
        #expect(try TimestampParser.parse("2024-01-01T00:00:00.250-0130", zone: paris) == 1_704_072_600_250)
        #expect(try TimestampParser.parse("2024-02-29", zone: try Zone("UTC")) == 1_709_164_800_000)
    }

    @Test(
        "bad input is refused with one clear message",
        arguments: [
            "2024-13-45", "2023-02-29", "2024-1-01", "2024-01-01T25:00:00Z", "2024-01-01T10:00:00", "yesterday", "",
            "2024-01-01T10:00:00+01:00trailing", "'; DROP TABLE payments; --", "2024-01-01\u{0}", "2024-01-01T10:00:00+01:00:60",
            "2024-01-01T10:00:00+01:00:",
        ])
    func invalid(text: String) throws {
        let error = #expect(throws: TallyError.self) { try TimestampParser.parse(text, zone: try Zone("UTC")) }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("\n") == false)
    }

    @Test("every zone and link name of the system's tz database is accepted")
    func everyTzdataName() throws {
        // The tz project's own list, read here independently of `ZoneNames`.
        let text = try String(contentsOfFile: "/usr/share/zoneinfo/tzdata.zi", encoding: .utf8)
        var names: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.first == "Z" { names.append(String(fields[1])) }
            if fields.first == "L" { names.append(String(fields[2])) }
        }
        #expect(names.count > 500)
        var refused: [String] = []
        for name in names where (try? Zone(name)) == nil { refused.append(name) }
        #expect(refused.isEmpty, "refused: \(refused)")
        for name in ["Asia/Kolkata", "Etc/UTC", "Etc/GMT+5", "US/Eastern", "CET", "EST5EDT", "Asia/Istanbul", "America/Buenos_Aires"] {
            #expect((try? Zone(name)) != nil, "\(name)")
        }
    }

    @Test(
        "strings that are not tz database names are refused",
        arguments: [
            "GMT+2", "EST5", "Mars/Olympus", "../../etc/passwd", "/usr/share/zoneinfo/UTC", "posixrules", "right/UTC",
            "Europe/../Europe/Paris", "", "utc", "Europe/paris",
        ])
    func notTzNames(name: String) throws {
        let error = #expect(throws: TallyError.self) { try Zone(name) }
        #expect(error?.kind == .invalidInput)
    }

    @Test("periods and zones")
    func periodsAndZones() throws {
        #expect(throws: TallyError.self) { try Period(parsing: "fortnight") }
        #expect(throws: TallyError.self) { try Zone("Mars/Olympus") }
        #expect(throws: TallyError.self) { try Zone("") }
        #expect(throws: TallyError.self) { try RevenueQuery(period: "day", timeZone: "UTC", from: "2024-02-01", to: "2024-01-01") }
        #expect(try Zone("Asia/Kathmandu").format(0) == "1970-01-01T05:30:00+05:30")
    }
}
