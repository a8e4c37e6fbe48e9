import Foundation
import GRDB
import TallyTestSupport
import Testing

@testable import TallyCore

/// One writer process inserting and updating in WAL mode while 8 concurrent
/// readers compute dashboards: no SQLITE_BUSY reaches a caller, every answer
/// is internally consistent, the last answer equals a fresh computation, the
/// WAL stays bounded. `TALLY_STRESS_COMMITS` (default 6000) sets the work.
@Suite("Stress", .serialized)
struct StressTests {
    static let commits = ProcessInfo.processInfo.environment["TALLY_STRESS_COMMITS"].flatMap(Int.init) ?? 6_000

    @Test("a writer process and 8 readers")
    func writerAndReaders() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("stress.sqlite")
        let setup = try generatedDatabase(in: dir, bookings: 5_000, name: "stress.sqlite")
        let initialBookings = try await setup.reader.read { try Int64.fetchOne($0, sql: "SELECT COUNT(*) FROM bookings")! }
        let initialPayments = try await setup.reader.read { try Int64.fetchOne($0, sql: "SELECT COUNT(*) FROM payments")! }
        try setup.close()

        let writer = ChildProcess()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        writer.arguments = [
            "python3", "-c",
            """
            import sqlite3, sys, time, random
            c = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
            c.execute('PRAGMA journal_mode=WAL')
            n = 0
            while n < int(sys.argv[2]):
                c.execute('BEGIN IMMEDIATE')
                cur = c.execute("INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, 'RIDE', 'PENDING', 100, 0, ?)", (1700000000000 + n,))
                c.execute("INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (?, 100, 'COMPLETED', ?)", (cur.lastrowid, 1700000000000 + n))
                c.execute("UPDATE bookings SET status = CASE status WHEN 'PENDING' THEN 'CONFIRMED' ELSE 'PENDING' END WHERE id = ?", (random.randint(1, 5000),))
                c.execute('COMMIT')
                n += 1
            print(n)
            """, path, "\(Self.commits)",
        ]
        let out = Pipe()
        writer.standardOutput = out
        try writer.run()

        let reader = try TallyDatabase.openReadOnly(path: path, settings: .init(maximumReaderCount: 8))
        let cached = TallyEngine(database: reader)
        let uncached = TallyEngine(database: reader, cache: .disabled)
        let answers = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var count = 0
                    repeat {
                        let engine = task % 2 == 0 ? cached : uncached
                        let d = try await engine.dashboard(strategy: Strategy.scans[(task + count) % 3])
                        #expect(d.bookings.total == d.bookings.byStatus.reduce(0) { $0 + $1.value })
                        #expect(d.payments.total == d.payments.byStatus.reduce(0) { $0 + $1.value.count })
                        // Every commit adds one booking and one payment.
                        #expect(d.bookings.total - initialBookings == d.payments.total - initialPayments)
                        count += 1
                    } while writer.isRunning
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        writer.waitUntilExit()
        let commits =
            Int(
                String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(writer.terminationStatus == 0)
        #expect(commits > 0 && answers > 0)

        let last = try await cached.dashboard()
        let fresh = try await reader.reader.read { try referenceDashboard($0) }
        #expect(sameNumbers(last, fresh))
        #expect(last.bookings.total == initialBookings + Int64(commits))
        let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        // Bounded: the 64 MB limit plus what the writer appends while the
        // gap waits for running reads (without the gap it grows by ~50 MB
        // a second at this write rate, without end).
        #expect(wal < 256 * 1024 * 1024, "WAL grew to \(wal) bytes")
        #expect(commits == Self.commits)
        print("stress: \(commits) commits, \(answers) dashboards, WAL \(wal) bytes, \(reader.gate.gapsTaken) checkpoint gaps")
    }
}

@Suite("Pool limits")
struct PoolLimitTests {
    @Test("with every reader busy, a caller waits at most the pool timeout, then gets a busy error (HTTP 503)")
    func busyPool() async throws {
        let dir = try TemporaryDirectory()
        try generatedDatabase(in: dir, bookings: 300, name: "p.sqlite").close()
        let reader = try TallyDatabase.openReadOnly(
            path: dir.path("p.sqlite"),
            settings: .init(maximumReaderCount: 1, readerTimeout: .milliseconds(50)))
        let engine = TallyEngine(database: reader, cache: .disabled)
        // A read holds the only reader until the test lets it go.
        let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let slow = Task {
            try await engine.read { db in
                holding.signal()
                release.wait()
                return try Int.fetchOne(db, sql: "SELECT 1")
            }
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                holding.wait(); continuation.resume()
            }
        }
        let error = await #expect(throws: TallyError.self) { _ = try await engine.dashboard() }
        #expect(error?.kind == .busy)
        #expect(error?.message.contains("readers stayed busy") == true)
        release.signal()
        _ = try await slow.value
        // Once the reader is free again, answers come back.
        #expect(try await engine.dashboard().bookings.total == 300)
    }

    @Test("a read waiting for a reader stops waiting at once when its task is cancelled")
    func cancelledWhileWaiting() async throws {
        let gate = ReadGate(capacity: 1, timeout: .seconds(3600), walPath: nil)
        try await gate.acquire()
        let waiting = Task { try await gate.acquire() }
        await waiting.cancelAfterYielding()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        gate.release()
        // The permit was not lost to the cancelled waiter.
        try await gate.acquire()
        gate.release()
    }

    @Test("past the WAL limit the gate closes to new reads until the running ones finish, then reopens")
    func checkpointGap() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("g.sqlite")
        let gate = ReadGate(
            capacity: 2, timeout: .seconds(3600), walPath: path + "-wal", walLimit: 1_000,
            gap: .zero, checkInterval: .zero)
        try await gate.acquire()  // a running read
        // A writer's WAL grows past the limit: the next read finds the gate closed.
        FileManager.default.createFile(atPath: path + "-wal", contents: Data(count: 2_000))
        let next = Task { try await gate.acquire() }
        await eventually { gate.isClosed }
        #expect(gate.gapsTaken == 0, "no gap while a read runs")
        try FileManager.default.removeItem(atPath: path + "-wal")
        gate.release()  // the last read ends: the gap is taken, the next read admitted
        try await next.value
        #expect(gate.gapsTaken == 1)
        gate.release()
    }
}

extension Task where Failure == any Error {
    /// Lets the task start, then cancels it.
    func cancelAfterYielding() async {
        await Task<Never, Never>.yield()
        cancel()
    }
}
