import Foundation
import GRDB
import Testing
@testable import TallyCore

/// One writer process inserting and updating in WAL mode while 8 concurrent
/// readers compute dashboards: no SQLITE_BUSY reaches a caller, every answer
/// is internally consistent, the last answer equals a fresh computation, the
/// WAL stays bounded. `TALLY_STRESS_SECONDS` (default 20) sets the duration.
@Suite("Stress", .serialized)
struct StressTests {
    static let seconds = ProcessInfo.processInfo.environment["TALLY_STRESS_SECONDS"].flatMap(Double.init) ?? 20

    @Test("a writer process and 8 readers")
    func writerAndReaders() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("stress.sqlite")
        let setup = try generatedDatabase(in: dir, bookings: 5_000, name: "stress.sqlite")
        let initialBookings = try await setup.read { try Int64.fetchOne($0, sql: "SELECT COUNT(*) FROM bookings")! }
        let initialPayments = try await setup.read { try Int64.fetchOne($0, sql: "SELECT COUNT(*) FROM payments")! }
        try setup.close()

        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        writer.arguments = ["python3", "-c", """
            import sqlite3, sys, time, random
            c = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
            c.execute('PRAGMA journal_mode=WAL')
            end, n = time.time() + float(sys.argv[2]), 0
            while time.time() < end:
                c.execute('BEGIN IMMEDIATE')
                cur = c.execute("INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, 'RIDE', 'PENDING', 100, 0, ?)", (1700000000000 + n,))
                c.execute("INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (?, 100, 'COMPLETED', ?)", (cur.lastrowid, 1700000000000 + n))
                c.execute("UPDATE bookings SET status = CASE status WHEN 'PENDING' THEN 'CONFIRMED' ELSE 'PENDING' END WHERE id = ?", (random.randint(1, 5000),))
                c.execute('COMMIT')
                n += 1
                time.sleep(0.001)
            print(n)
            """, path, "\(Self.seconds)"]
        let out = Pipe()
        writer.standardOutput = out
        try writer.run()

        let reader = try TallyDatabase.openReadOnly(path: path, settings: .init(maximumReaderCount: 8))
        let cached = TallyEngine(reader: reader)
        let uncached = TallyEngine(reader: reader, cache: .disabled)
        let answers = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var count = 0
                    while writer.isRunning {
                        let engine = task % 2 == 0 ? cached : uncached
                        let d = try await engine.dashboard(strategy: Strategy.allCases[(task + count) % 3])
                        #expect(d.bookings.total == d.bookings.byStatus.reduce(0) { $0 + $1.value })
                        #expect(d.payments.total == d.payments.byStatus.reduce(0) { $0 + $1.value.count })
                        // Every commit adds one booking and one payment.
                        #expect(d.bookings.total - initialBookings == d.payments.total - initialPayments)
                        count += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        writer.waitUntilExit()
        let commits = Int(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(writer.terminationStatus == 0)
        #expect(commits > 0 && answers > 0)

        let last = try await cached.dashboard()
        let fresh = try await reader.read { try referenceDashboard($0) }
        #expect(sameNumbers(last, fresh))
        #expect(last.bookings.total == initialBookings + Int64(commits))
        let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        // Bounded: the 64 MB limit plus what the writer appends while the
        // gap waits for running reads (without the gap it grows by ~50 MB
        // a second at this write rate, without end).
        #expect(wal < 256 * 1024 * 1024, "WAL grew to \(wal) bytes")
        print("stress: \(commits) commits, \(answers) dashboards in \(Self.seconds) s, WAL \(wal) bytes")
    }
}

@Suite("Pool limits")
struct PoolLimitTests {
    @Test("with every reader busy, a caller waits at most the pool timeout, then gets a clear error")
    func busyPool() async throws {
        let dir = try TemporaryDirectory()
        _ = try generatedDatabase(in: dir, bookings: 300, name: "p.sqlite")
        let reader = try TallyDatabase.openReadOnly(path: dir.path("p.sqlite"), settings: .init(maximumReaderCount: 1))
        let engine = TallyEngine(reader: reader, cache: .disabled, readerTimeout: 0.3)
        // A deliberately slow query holds the only reader until the test
        // releases it, on its own thread (a loaded test run may delay this
        // task's wake-ups by seconds, so nothing here depends on timing).
        let holding = FlagBox(), release = FlagBox(), done = FlagBox()
        let slow = Thread {
            _ = try? engine.read { db in
                holding.set()
                for _ in 0..<3_000 where !release.isSet { Thread.sleep(forTimeInterval: 0.01) }
                return try Int.fetchOne(db, sql: "SELECT 1")
            }
            done.set()
        }
        slow.start()
        while !holding.isSet { try await Task.sleep(for: .milliseconds(5)) }
        let started = ContinuousClock.now
        // Called directly (not through a dispatch queue that a loaded test run may delay).
        let error = #expect(throws: TallyError.self) { _ = try engine.compute(Dashboard.stats, strategy: .singlePass) }
        let waited = ContinuousClock.now - started
        #expect(waited < .milliseconds(1_200), "waited \(waited)")
        #expect(waited >= .milliseconds(250))
        #expect(error?.message.contains("readers are busy") == true)
        release.set()
        while !done.isSet { try await Task.sleep(for: .milliseconds(20)) }
        // Once the reader is free again, answers come back.
        #expect(try await engine.dashboard().bookings.total == 300)
    }
}
