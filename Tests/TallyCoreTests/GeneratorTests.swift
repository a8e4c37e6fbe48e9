import GRDB
import TallyTestSupport
import Testing

@testable import TallyCore

@Suite("Generator")
struct GeneratorTests {
    @Test("the same seed gives identical table contents; another seed differs")
    func deterministic() throws {
        let dir = try TemporaryDirectory()
        let a = try generatedDatabase(in: dir, bookings: 3_000, seed: 11, name: "a.sqlite")
        let b = try generatedDatabase(in: dir, bookings: 3_000, seed: 11, indexes: false, name: "b.sqlite")
        let c = try generatedDatabase(in: dir, bookings: 3_000, seed: 12, name: "c.sqlite")
        let dumpA = try a.reader.read(dump), dumpB = try b.reader.read(dump), dumpC = try c.reader.read(dump)
        #expect(dumpA == dumpB)
        #expect(dumpA["bookings"]!.count == 3_000)
        #expect(dumpA != dumpC)
        #expect(dumpA["bookings"] != dumpC["bookings"])
    }

    @Test("proportions look like the seeds' data")
    func proportions() throws {
        let dir = try TemporaryDirectory()
        let pool = try generatedDatabase(in: dir, bookings: 20_000, seed: 3).writer!
        try pool.read { (db: Database) throws in
            func count(_ sql: String) throws -> Double { Double(try Int.fetchOne(db, sql: sql)!) }
            let users = try count("SELECT COUNT(*) FROM users")
            #expect(users == 4_000)
            #expect(try count("SELECT COUNT(*) FROM drivers") == 400)
            #expect(try count("SELECT COUNT(*) FROM vehicles") == 480)
            let customers = try count("SELECT COUNT(*) FROM users WHERE role = 'CUSTOMER'") / users
            let driverRole = try count("SELECT COUNT(*) FROM users WHERE role = 'DRIVER'") / users
            let admins = try count("SELECT COUNT(*) FROM users WHERE role = 'ADMIN'") / users
            #expect(customers > 0.84 && customers < 0.92)
            #expect(driverRole > 0.07 && driverRole < 0.13)
            #expect(admins > 0.005 && admins < 0.04)
            let inactive = try count("SELECT COUNT(*) FROM users WHERE isActive = 0") / users
            #expect(inactive > 0.07 && inactive < 0.13)
            let unrated = try count("SELECT COUNT(*) FROM drivers WHERE rating IS NULL") / 400
            #expect(unrated > 0.08 && unrated < 0.25)
            #expect(try count("SELECT COUNT(*) FROM drivers WHERE rating < 0 OR rating > 5") == 0)
            #expect(try count("SELECT COUNT(DISTINCT type) FROM vehicles") == 4)
            let completed = try count("SELECT COUNT(*) FROM bookings WHERE status = 'COMPLETED'") / 20_000
            #expect(completed > 0.5 && completed < 0.66)
            #expect(try count("SELECT COUNT(DISTINCT status) FROM bookings") == 5)
            #expect(try count("SELECT COUNT(DISTINCT serviceType) FROM bookings") == 3)
            let rides = try count("SELECT COUNT(*) FROM bookings WHERE serviceType = 'RIDE'") / 20_000
            #expect(rides > 0.55 && rides < 0.7)
            // Bookings spread over three years, more of them recently.
            let first = try count("SELECT COUNT(*) FROM bookings WHERE createdAt < 1704067200000")  // 2024
            let last = try count("SELECT COUNT(*) FROM bookings WHERE createdAt >= 1735689600000")  // 2025
            #expect(first > 1_000 && last > first)
            #expect(try count("SELECT COUNT(*) FROM bookings WHERE createdAt < 1672531200000 OR createdAt >= 1767225600000") == 0)
            // 0–2 payments per booking, non-negative amounts, all four statuses.
            #expect(try count("SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM payments GROUP BY bookingId)") == 2)
            #expect(try count("SELECT COUNT(*) FROM bookings WHERE id NOT IN (SELECT bookingId FROM payments)") > 0)
            #expect(try count("SELECT COUNT(DISTINCT status) FROM payments") == 4)
            #expect(try count("SELECT COUNT(*) FROM payments WHERE amount < 0") == 0)
            // Organizations with 0–40 modules; some with none.
            #expect(try count("SELECT COUNT(*) FROM organizations") == 40)
            #expect(try count("SELECT COUNT(*) FROM organizations WHERE id NOT IN (SELECT organizationId FROM modules)") > 0)
            #expect(try count("SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM modules GROUP BY organizationId)") <= 40)
            #expect(try String.fetchOne(db, sql: "PRAGMA foreign_key_check") == nil)
        }
    }

    @Test("indexes are rebuilt after the inserts; a non-empty database is refused without replace")
    func indexesAndReplace() throws {
        let dir = try TemporaryDirectory()
        let pool = try generatedDatabase(in: dir, bookings: 500).writer!
        try pool.read { (db: Database) throws in #expect(try IndexManager.status(db).allPresent) }
        #expect(throws: TallyError.self) { _ = try DataGenerator(bookings: 500).run(in: pool) }
        var again = DataGenerator(bookings: 200, seed: 1)
        again.replace = true
        _ = try again.run(in: pool)
        try pool.read { (db: Database) throws in #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bookings") == 200) }
        #expect(throws: TallyError.self) { _ = try DataGenerator(bookings: -5).run(in: pool) }
    }

    @Test("SplitMix64 matches its published reference values")
    func splitMixReference() {
        // Reference: the first outputs for seed 1234567 (Vigna's splitmix64.c).
        var rng = SplitMix64(seed: 1_234_567)
        #expect(rng.next() == 6_457_827_717_110_365_317)
        #expect(rng.next() == 3_203_168_211_198_807_973)
    }
}
