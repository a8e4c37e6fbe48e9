import Foundation
import TallyTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `tally serve --cache-url`: several server processes on one file and one
/// `redis-server`, as behind a load balancer.
@Suite(
    "tally serve with a shared cache", .serialized,
    .enabled(if: RedisServerProcess.shouldRun, "redis-server is not installed (apt-get install redis-server); with CI set these tests fail instead")
)
struct ServeSharedCacheTests {
    static func tally(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let process = ChildProcess()
        process.executableURL = TallyExecutable.url
        process.arguments = arguments
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stderr)
    }

    @Test("two servers share answers and ETags (a 304 from B for A's ETag); a write is never served stale; Redis killed: no request fails")
    func twoServers() async throws {
        let redis = try await RedisServerProcess.start()
        let dir = try TemporaryDirectory()
        let db = dir.path("s.sqlite")
        #expect(try Self.tally(["generate", "--db", db, "--bookings", "800"]).status == 0)

        // Without change counters an exact shared cache is refused, saying why.
        let refused = try Self.tally(["serve", "--db", db, "--port", "0", "--cache-url", redis.url])
        #expect(refused.status == 1 && refused.stderr.contains("tally rollups enable"), "\(refused.stderr)")
        let badURL = try Self.tally(["serve", "--db", db, "--port", "0", "--cache-url", "http://x"])
        #expect(badURL.status == 2 && badURL.stderr.contains("redis://"), "\(badURL.stderr)")

        #expect(try Self.tally(["rollups", "enable", "--db", db]).status == 0)
        // Long Redis timeouts: every test runs at once on 2 cores here, and
        // this test checks what is shared, not how fast.
        let options = ["--cache-url", redis.url, "--cache-timeout", "60"]
        let a = try ServeProcess(db: db, arguments: options), b = try ServeProcess(db: db, arguments: options)
        defer { a.stop(); b.stop() }

        let first = try await a.get("/api/dashboard")
        #expect((first.body?["meta"] as? [String: Any])?["sharedCache"] as? String == "stored")
        let second = try await b.get("/api/dashboard")
        #expect((second.body?["meta"] as? [String: Any])?["sharedCache"] as? String == "hit")
        #expect(first.etag != nil && first.etag == second.etag)
        #expect(try await b.get("/api/dashboard", etag: first.etag).status == 304)

        // A write by another process (as the sqlite3 shell): both serve it.
        let writer = ChildProcess()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        writer.arguments = [
            "python3", "-c",
            """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            c.execute("INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 777, 'COMPLETED', 1735689600000)")
            c.commit()
            """, db,
        ]
        try writer.run()
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)
        let total = (first.body?["payments"] as? [String: Any])?["total"] as? Int ?? -1
        for server in [b, a] {
            let after = try await server.get("/api/dashboard")
            #expect((after.body?["payments"] as? [String: Any])?["total"] as? Int == total + 1)
            #expect(try await server.get("/api/dashboard", etag: first.etag).status == 200)
        }

        // Redis gone: every request still answers, computed here.
        redis.kill()
        for server in [a, b] {
            for path in ["/api/revenue?period=year", "/api/dashboard", "/api/organizations?limit=3"] {
                #expect(try await server.get(path).status == 200, "\(path)")
            }
        }
        let revenue = try await a.get("/api/revenue?period=quarter")
        #expect(revenue.status == 200)
        #expect((revenue.body?["meta"] as? [String: Any])?["sharedCache"] as? String == "unavailable")
    }
}

extension ServeProcess {
    /// A GET, with `If-None-Match` when `etag` is given.
    func get(_ path: String, etag: String? = nil) async throws -> (status: Int, body: [String: Any]?, etag: String?) {
        var request = URLRequest(url: URL(string: url + path)!)
        if let etag { request.setValue(etag, forHTTPHeaderField: "If-None-Match") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return (
            http.statusCode, try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            http.value(forHTTPHeaderField: "ETag")
        )
    }
}
