import Foundation
import GRDB
import TallyCore

/// What rollups cost the application that writes: the same writes timed
/// with Tally's triggers and without them, on the same file, in the same
/// run, interleaved.
///
/// The writes inside one transaction are rolled back after timing (the
/// triggers are dropped inside that transaction for the plain variant, so
/// the rollback restores them): the file ends as it began. Autocommit
/// inserts are committed one by one and deleted afterwards; for their plain
/// variant the triggers are dropped and re-created around them (both
/// variants delete what they inserted the same way they inserted it, so the
/// rollups stay exact).
public enum WriterBenchmark {
    /// One kind of write under one `temp_store` setting, per row change.
    public struct Case: Sendable, Codable, Equatable {
        public var name: String
        /// `PRAGMA temp_store` of the writing connection: `default` (a file,
        /// in Debian's build) or `memory`. SQLite keeps a statement journal
        /// for every statement on a table with triggers, and it costs less
        /// in memory.
        public var tempStore: String
        /// Microseconds per row change, one sample per run: no triggers.
        public var plain: [Double] = []
        /// With one empty trigger per event on the table: what any trigger
        /// costs (SQLite's statement journal), whatever it does.
        public var anyTrigger: [Double] = []
        /// With Tally's triggers.
        public var withRollups: [Double] = []

        public var plainMedian: Double { Self.median(plain) }
        public var anyTriggerMedian: Double { Self.median(anyTrigger) }
        public var withRollupsMedian: Double { Self.median(withRollups) }
        /// Microseconds the triggers add to each row change (medians).
        public var added: Double { withRollupsMedian - plainMedian }

        public static func median(_ samples: [Double]) -> Double {
            let s = samples.sorted()
            guard !s.isEmpty else { return 0 }
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
    }

    enum Variant: CaseIterable { case plain, anyTrigger, withRollups }

    /// Times each kind of write `runs` times per variant on the file at
    /// `path` (a copy: it is written, and left as it was found).
    ///
    /// - parameters:
    ///   - rows: row changes per timed transaction.
    ///   - autocommitRows: single-row transactions per timed autocommit run.
    public static func measure(path: String, rows: Int = 5_000, autocommitRows: Int = 200, runs: Int) throws -> [Case] {
        let triggers = try DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'tally\\_%' ESCAPE '\\'")
        }
        guard !triggers.isEmpty else {
            throw NSError(domain: "tally", code: 1, userInfo: [NSLocalizedDescriptionKey: "the copy has no rollup triggers"])
        }
        var cases: [Case] = []
        for tempStore in ["default", "memory"] {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            configuration.prepareDatabase { db in
                // As an application would run: WAL, synchronous NORMAL (what
                // Rails and most ORMs' SQLite defaults set), and a 64 MiB
                // page cache, so that the rows written stay in memory and the
                // variants are compared on the triggers, not on page reads.
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                try db.execute(sql: "PRAGMA cache_size = -65536")
                if tempStore == "memory" { try db.execute(sql: "PRAGMA temp_store = MEMORY") }
            }
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            cases += try measure(
                queue, tempStore: tempStore, triggers: triggers, rows: rows,
                autocommitRows: tempStore == "default" ? autocommitRows : 0, runs: runs)
        }
        return cases
    }

    private static func measure(
        _ queue: DatabaseQueue, tempStore: String, triggers: [String], rows: Int,
        autocommitRows: Int, runs: Int
    ) throws -> [Case] {
        let (maxBooking, maxPayment) = try queue.read { db in
            (try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM bookings") ?? 0, try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM payments") ?? 0)
        }
        let kinds: [(name: String, table: String, event: String, sql: String, arguments: @Sendable (inout SplitMix64) -> StatementArguments)] = [
            (
                "insert booking", "bookings", "INSERT",
                "INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, ?, ?, ?, ?, ?)",
                { rng in
                    [
                        ["RIDE", "DELIVERY", "RENTAL"][rng.below(3)], ["PENDING", "CONFIRMED", "COMPLETED", "CANCELLED"][rng.below(4)],
                        rng.below(10_000), 1_700_000_000_000 + Int64(rng.below(100_000_000)) * 1000,
                        1_700_000_000_000 + Int64(rng.below(100_000_000)) * 1000,
                    ]
                }
            ),
            (
                "insert payment", "payments", "INSERT", "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, ?, ?, ?)",
                { rng in
                    [
                        rng.below(100_000), ["PENDING", "COMPLETED", "FAILED", "REFUNDED"][rng.below(4)],
                        1_700_000_000_000 + Int64(rng.below(100_000_000)) * 1000,
                    ]
                }
            ),
            (
                "update booking status", "bookings", "UPDATE", "UPDATE bookings SET status = ? WHERE id = ?",
                { rng in
                    [
                        ["PENDING", "CONFIRMED", "IN_PROGRESS", "COMPLETED", "CANCELLED"][rng.below(5)],
                        1 + Int64(rng.below(Int(max(maxBooking, 1)))),
                    ]
                }
            ),
            (
                "delete payment", "payments", "DELETE", "DELETE FROM payments WHERE id = ?",
                { rng in [1 + Int64(rng.below(Int(max(maxPayment, 1))))] }
            ),
        ]
        var cases = kinds.map { Case(name: "\($0.name), \(rows) in one transaction", tempStore: tempStore) }
        var autocommit = Case(name: "insert payment, autocommit (\(autocommitRows) commits)", tempStore: tempStore)

        // Run -1 warms the page cache and is not recorded.
        for run in -1..<runs {
            // Rotate which variant goes first.
            let variants = Variant.allCases
            for v in variants.indices.map({ variants[($0 + run + variants.count) % variants.count] }) {
                for (k, kind) in kinds.enumerated() {
                    var rng = SplitMix64(seed: UInt64(bitPattern: Int64(run * 31 + k)))
                    let micros = try queue.inTransactionTimed { db in
                        if v != .withRollups { try dropTriggers(db) }
                        if v == .anyTrigger {
                            try db.execute(sql: "CREATE TRIGGER tally_bench_empty AFTER \(kind.event) ON \(kind.table) BEGIN SELECT 1; END")
                        }
                        let statement = try db.makeStatement(sql: kind.sql)
                        var changes = 0
                        let micros = try timed {
                            for _ in 0..<rows {
                                try statement.execute(arguments: kind.arguments(&rng))
                                changes += db.changesCount  // a random id may be gone already
                            }
                        }
                        return micros / Double(max(changes, 1))
                    }
                    guard run >= 0 else { continue }
                    switch v {
                    case .plain: cases[k].plain.append(micros)
                    case .anyTrigger: cases[k].anyTrigger.append(micros)
                    case .withRollups: cases[k].withRollups.append(micros)
                    }
                }
                // Autocommit: each insert its own transaction (plain and rollups only).
                guard autocommitRows > 0, v != .anyTrigger else { continue }
                if v == .plain { try queue.inDatabase { try dropTriggers($0) } }
                var rng = SplitMix64(seed: UInt64(bitPattern: Int64(run)))
                let micros = try queue.writeWithoutTransaction { db in
                    let statement = try db.makeStatement(sql: kinds[1].sql)
                    return try timed { for _ in 0..<autocommitRows { try statement.execute(arguments: kinds[1].arguments(&rng)) } }
                }
                // Delete them the way they were inserted (with or without
                // triggers): the rollups stay exact.
                try queue.inDatabase { db in
                    try db.inTransaction {
                        try db.execute(sql: "DELETE FROM payments WHERE id > ?", arguments: [maxPayment])
                        if v == .plain { for sql in triggers { try db.execute(sql: sql) } }
                        return .commit
                    }
                }
                guard run >= 0 else { continue }
                if v == .withRollups {
                    autocommit.withRollups.append(micros / Double(autocommitRows))
                } else {
                    autocommit.plain.append(micros / Double(autocommitRows))
                }
            }
        }
        return cases + (autocommitRows > 0 ? [autocommit] : [])
    }

    static func dropTriggers(_ db: Database) throws {
        for name in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'tally\\_%' ESCAPE '\\'") {
            try db.execute(sql: "DROP TRIGGER \(name)")
        }
    }

    static func timed(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        return (ContinuousClock.now - start) / .microseconds(1)
    }
}

extension DatabaseQueue {
    /// Runs `body` in a transaction that is always rolled back, and returns its result.
    fileprivate func inTransactionTimed(_ body: (Database) throws -> Double) throws -> Double {
        try inDatabase { db in
            var result = 0.0
            try db.inTransaction {
                result = try body(db)
                return .rollback
            }
            return result
        }
    }
}
