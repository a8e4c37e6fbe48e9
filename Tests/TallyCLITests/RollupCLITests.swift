import Foundation
import TallyTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Rollups seen from outside: other processes write, `tally` reads; a kill
/// during `enable`; ETags that mean the same in two servers on one file.
@Suite("rollups across processes", .serialized)
struct RollupCLITests {
    /// Every `tally_` object in the file: tables and triggers.
    static func tallyObjects(_ path: String) throws -> Int {
        Int(try CrashSafetyTests.sqlite(path, "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'tally\\_%' ESCAPE '\\'")) ?? -1
    }

    /// One generated file, copied for each kill.
    static let generated: Result<String, any Error> = Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tally-rollup-kill-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = (dir as NSString).appendingPathComponent("source.sqlite")
        if !FileManager.default.fileExists(atPath: path) {
            let r = try CLITests.run(["generate", "--db", path, "--bookings", "60000", "--quiet"])
            guard r.status == 0 else { throw CocoaError(.fileWriteUnknown) }
            try CLITests.rollbackMode(path)
        }
        return path
    }

    @Test("SIGKILL during rollups enable leaves no rollups or complete, exact ones", arguments: [0.05, 0.2, 0.4, 0.8])
    func killDuringEnable(delay: Double) throws {
        let dir = try CLITests.Directory()
        let path = dir.file("k.sqlite")
        try FileManager.default.copyItem(atPath: try Self.generated.get(), toPath: path)
        let process = ChildProcess()
        process.executableURL = CLITests.binary
        process.arguments = ["rollups", "enable", "--db", path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: delay)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let integrity = try CLITests.python(
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('PRAGMA integrity_check').fetchone()[0]); c.close()", [path])
        #expect(integrity.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "after \(delay) s: \(integrity.stdout) \(integrity.stderr)")
        let objects = try Self.tallyObjects(path)
        if objects > 0 {
            let status = try CLITests.run(["rollups", "status", "--db", path, "--format", "json"])
            #expect(status.status == 0, "after \(delay) s: \(objects) objects, status \(status.stdout)")
            #expect(try CLITests.run(["rollups", "verify", "--db", path]).status == 0)
        }
        // Either way the engine answers, and enabling (again) completes.
        #expect(try CLITests.run(["dashboard", "--db", path, "--format", "json"]).status == 0)
        #expect(try CLITests.run(["rollups", "enable", "--db", path]).status == 0)
        #expect(try CLITests.run(["rollups", "verify", "--db", path]).status == 0)
    }

    /// A Python writer commits transactions that each insert one booking
    /// and one payment, update a booking's status and (every fifth) delete
    /// one of each again, appending `commit bookings payments` to a log
    /// after each commit returns. While it runs, `tally serve` answers the
    /// dashboard by rollup: every answer must be the state after some
    /// commit (one snapshot: bookings and payments agree) no older than the
    /// last commit logged before the request was sent.
    static let writer = """
        import random, sqlite3, sys
        path, log, commits = sys.argv[1], sys.argv[2], int(sys.argv[3])
        rng = random.Random(7)
        c = sqlite3.connect(path, isolation_level=None, timeout=30)
        out = open(log, 'a')
        def counts():
            return c.execute('SELECT (SELECT COUNT(*) FROM bookings), (SELECT COUNT(*) FROM payments)').fetchone()
        b, p = counts()
        out.write('0 %d %d\\n' % (b, p)); out.flush()
        statuses = ['PENDING', 'CONFIRMED', 'IN_PROGRESS', 'COMPLETED', 'CANCELLED']
        for n in range(1, commits + 1):
            c.execute('BEGIN IMMEDIATE')
            cur = c.execute("INSERT INTO bookings (userId, serviceType, status, price, scheduledDate, createdAt) VALUES (1, 'RIDE', ?, 10, 0, ?)",
                            (rng.choice(statuses), rng.randrange(1_600_000_000, 1_800_000_000)))
            booking = cur.lastrowid
            c.execute("INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (?, ?, ?, ?)",
                      (booking, rng.randrange(1, 100000), rng.choice(['PENDING', 'COMPLETED', 'FAILED', 'REFUNDED']),
                       rng.randrange(1_600_000_000, 1_800_000_000)))
            c.execute('UPDATE bookings SET status = ? WHERE id = (SELECT id FROM bookings ORDER BY random() LIMIT 1)', (rng.choice(statuses),))
            if n % 5 == 0:
                c.execute('DELETE FROM payments WHERE id = (SELECT MAX(id) FROM payments)')
                c.execute('DELETE FROM bookings WHERE id = ?', (booking,))
            b, p = counts()
            c.execute('COMMIT')
            out.write('%d %d %d\\n' % (n, b, p)); out.flush()
        """

    static func logged(_ log: String) -> [(bookings: Int, payments: Int)] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ").compactMap { Int($0) }
            return parts.count == 3 ? (parts[1], parts[2]) : nil
        }
    }

    @Test("a writer process and readers: every answer is one committed state, never older than a finished commit")
    func writerAndReaders() async throws {
        let dir = try CLITests.Directory()
        let db = dir.file("w.sqlite"), log = dir.file("commits.log")
        #expect(try CLITests.run(["generate", "--db", db, "--bookings", "3000", "--quiet"]).status == 0)
        #expect(try CLITests.run(["rollups", "enable", "--db", db]).status == 0)
        let server = try ServeProcess(db: db)
        defer { server.stop() }

        let writer = ChildProcess()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        writer.arguments = ["python3", "-c", Self.writer, db, log, "300"]
        try writer.run()

        var answers = 0, strategies = Set<String>()
        var pending: [(floor: Int, bookings: Int, payments: Int)] = []
        repeat {
            let floor = Self.logged(log).count - 1  // commits that had finished (the first line is the start)
            let (data, _) = try await URLSession.shared.data(from: URL(string: server.url + "/api/dashboard")!)
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let bookings = try #require((json["bookings"] as? [String: Any])?["total"] as? Int)
            let payments = try #require((json["payments"] as? [String: Any])?["total"] as? Int)
            let byStatus = try #require((json["bookings"] as? [String: Any])?["byStatus"] as? [String: Int])
            strategies.insert(((json["meta"] as? [String: Any])?["strategy"] as? String) ?? "?")
            #expect(byStatus.values.reduce(0, +) == bookings)
            answers += 1
            // Every state from the last finished commit on; the writer's log is
            // complete once it ends, so check after it has.
            pending.append((floor, bookings, payments))
        } while writer.isRunning
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)

        let states = Self.logged(log)
        #expect(states.count == 301)
        for (floor, bookings, payments) in pending {
            let possible = states[max(floor, 0)...]
            #expect(
                possible.contains { $0.bookings == bookings && $0.payments == payments },
                "an answer (\(bookings), \(payments)) is no state at or after commit \(floor)")
        }
        #expect(answers > 0)
        #expect(strategies == ["rollup"])

        // At the end: the rollups equal a scan, and the served answer the last state.
        #expect(try CLITests.run(["rollups", "verify", "--db", db]).status == 0)
        let rollup = try CLITests.run(["dashboard", "--db", db, "--format", "json", "--strategy", "rollup"])
        let scan = try CLITests.run(["dashboard", "--db", db, "--format", "json", "--strategy", "single-pass"])
        #expect(try Self.withoutMeta(rollup.stdout) == Self.withoutMeta(scan.stdout))
        let (data, _) = try await URLSession.shared.data(from: URL(string: server.url + "/api/dashboard")!)
        let final = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((final["bookings"] as? [String: Any])?["total"] as? Int == states.last?.bookings)
    }
    static func withoutMeta(_ json: String) throws -> NSDictionary {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        object["meta"] = nil
        return object as NSDictionary
    }

    static func etag(_ url: String, ifNoneMatch: String? = nil) async throws -> (status: Int, etag: String?) {
        var request = URLRequest(url: URL(string: url)!)
        if let ifNoneMatch { request.setValue(ifNoneMatch, forHTTPHeaderField: "If-None-Match") }
        let (_, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return (http.statusCode, http.value(forHTTPHeaderField: "ETag"))
    }

    @Test("two servers on one file give the same ETags; a bookings write moves the dashboard's, not revenue's")
    func etagsAcrossProcesses() async throws {
        let dir = try CLITests.Directory()
        let db = dir.file("e.sqlite")
        #expect(try CLITests.run(["generate", "--db", db, "--bookings", "500", "--quiet"]).status == 0)
        #expect(try CLITests.run(["rollups", "enable", "--db", db]).status == 0)
        let a = try ServeProcess(db: db), b = try ServeProcess(db: db)
        defer { a.stop(); b.stop() }
        let paths = ["/api/dashboard", "/api/revenue?period=month&tz=Europe/Paris"]
        var before: [String: String] = [:]
        for path in paths {
            let (ta, tb) = (try await Self.etag(a.url + path), try await Self.etag(b.url + path))
            let tag = try #require(ta.etag, "\(path) has no ETag")
            #expect(tag == tb.etag, "\(path)")
            // One server's tag is current at the other.
            #expect(try await Self.etag(b.url + path, ifNoneMatch: tag).status == 304, "\(path)")
            before[path] = tag
        }
        let write = try CLITests.python(
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE bookings SET status='CANCELLED' WHERE id=1\"); c.commit(); c.close()",
            [db])
        #expect(write.status == 0, "\(write.stderr)")
        let dashboardA = try await Self.etag(a.url + "/api/dashboard"), dashboardB = try await Self.etag(b.url + "/api/dashboard")
        #expect(dashboardA.etag != before["/api/dashboard"])
        #expect(dashboardA.etag == dashboardB.etag)
        #expect(try await Self.etag(a.url + "/api/dashboard", ifNoneMatch: before["/api/dashboard"]).status == 200)
        for path in paths.dropFirst() {
            #expect(try await Self.etag(a.url + path).etag == before[path], "\(path) changed on a bookings write")
            #expect(try await Self.etag(b.url + path, ifNoneMatch: before[path]).status == 304, "\(path)")
        }
    }
}
