import Foundation
import TallyTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Issue 12 end to end: values that pass the schema's CHECKs, files left
/// behind, read-only deployments, shutdowns and interruptions, through the
/// `tally` binary as a user runs it.
@Suite("never crash, never lie", .serialized)
struct NeverCrashTests {
    /// A generated database with the rows of `sql` added by another client.
    static func database(_ dir: CLITests.Directory, _ sql: String) throws -> String {
        let db = dir.file("h.sqlite")
        #expect(try CLITests.run(["generate", "--db", db, "--bookings", "300"]).status == 0)
        let r = try CLITests.python(
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit(); c.close()",
            [db, sql])
        #expect(r.status == 0, "\(r.stderr)")
        return db
    }

    @Test(
        "1e300, two 5e18 in different months, a timestamp of 2^63 - 1: every command answers or says why, in one line",
        arguments: [
            "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 1e300, 'COMPLETED', 1704067200000)",
            """
            INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 5000000000000000000, 'COMPLETED', 1704067200000);
            INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 5000000000000000000, 'COMPLETED', 1706745600000);
            """,
            "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 100, 'COMPLETED', 9223372036854775807)",
            "INSERT INTO payments (bookingId, amount, status, createdAt) VALUES (1, 'abc', 'COMPLETED', x'0102')",
            "UPDATE bookings SET driverId = 'x', price = 1.5 WHERE id <= 3",
        ])
    func hostileValues(sql: String) throws {
        let dir = try CLITests.Directory()
        let db = try Self.database(dir, sql)
        let before = try CLITests.fingerprint(db)
        var commands: [[String]] = Strategy.allNames.map { ["dashboard", "--strategy", $0] }
        commands += [
            ["revenue", "--period", "month"], ["revenue", "--period", "day", "--from", "2024-01-01", "--to", "2024-03-01"],
            ["modules"], ["explain"], ["report", "--out", dir.file("r.html")], ["report", "--out", dir.file("r.md")],
        ]
        for command in commands {
            let r = try CLITests.run(command + ["--db", db])
            #expect(r.status == 0 || r.status == 1, "\(command): status \(r.status) \(r.stderr)")
            if r.status == 1 { CLITests.expectOneLineError(r, status: 1) }
            #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"))
        }
        #expect(try CLITests.fingerprint(db) == before)
    }

    @Test("init and generate leave a self-contained main file: a copy of it alone is the whole database")
    func selfContainedMainFile() throws {
        let dir = try CLITests.Directory()
        let db = dir.file("i.sqlite")
        #expect(try CLITests.run(["init", "--db", db]).status == 0)
        let copy = dir.file("copy.sqlite")
        try FileManager.default.copyItem(atPath: db, toPath: copy)
        #expect(try CLITests.run(["dashboard", "--db", copy]).status == 0)
        #expect(try CLITests.run(["generate", "--db", db, "--bookings", "200"]).status == 0)
        let copy2 = dir.file("copy2.sqlite")
        try FileManager.default.copyItem(atPath: db, toPath: copy2)
        let r = try CLITests.run(["dashboard", "--db", copy2, "--format", "json"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("\"total\" : 200"), "the bookings are in the main file")
    }

    @Test("a WAL database in a directory the reader cannot write: one line saying why and what to do")
    func walInReadOnlyDirectory() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") else { return }
        let dir = try CLITests.Directory()
        let db = dir.file("w.sqlite")
        #expect(try CLITests.run(["generate", "--db", db, "--bookings", "100"]).status == 0)
        for side in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + side) }
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: db)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path) }
        let r = try CLITests.run(
            ["-u", "nobody", "--", CLITests.binary.path, "dashboard", "--db", db],
            executable: URL(fileURLWithPath: "/usr/sbin/runuser"))
        CLITests.expectOneLineError(r, status: 1, mentioning: ["WAL", "journal_mode=DELETE", "w.sqlite-shm"])
        // Switched to rollback mode once by its owner, the same file is readable there.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: db)
        try CLITests.rollbackMode(db)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.path)
        let again = try CLITests.run(
            ["-u", "nobody", "--", CLITests.binary.path, "dashboard", "--db", db],
            executable: URL(fileURLWithPath: "/usr/sbin/runuser"))
        #expect(again.status == 0, "\(again.stderr)")
    }

    @Test("SIGTERM while a large answer is being sent: the client gets all of it, then the server exits 0")
    func gracefulShutdownFinishesResponses() throws {
        let dir = try CLITests.Directory()
        let db = dir.file("g.sqlite")
        #expect(try CLITests.run(["generate", "--db", db, "--bookings", "3000"]).status == 0)
        let server = try ServeProcess(db: db)
        defer { server.stop() }
        // Day buckets over 200 years: a body of several megabytes, read at 1 MB/s.
        let curl = ChildProcess()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        curl.arguments = [
            "curl", "-s", "--limit-rate", "1M", "-D", dir.file("headers"), "-o", dir.file("body"), "-w", "%{http_code} %{size_download}",
            server.url + "/api/revenue?period=day&from=1900-01-01&to=2100-01-01",
        ]
        let curlOut = Pipe()
        curl.standardOutput = curlOut
        try curl.run()
        // Once the first bytes have arrived, ask the server to stop.
        while (try? FileManager.default.attributesOfItem(atPath: dir.file("body"))[.size] as? Int) ?? 0 == 0 {
            Thread.sleep(forTimeInterval: 0.01)
        }
        server.process.terminate()
        curl.waitUntilExit()
        server.process.waitUntilExit()
        let summary = String(decoding: curlOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let headers = try String(contentsOfFile: dir.file("headers"), encoding: .utf8)
        let length = headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
        let body = try Data(contentsOf: URL(fileURLWithPath: dir.file("body")))
        #expect(summary.hasPrefix("200 "), "\(summary)")
        #expect(length != nil && body.count == length, "got \(body.count) of \(length ?? -1) bytes")
        #expect(body.count > 3_000_000)
        #expect((try? JSONSerialization.jsonObject(with: body)) != nil, "a whole JSON document")
        #expect(server.process.terminationStatus == 0)
    }

    @Test("an interrupted bench removes its temporary copies")
    func benchCleansUpOnSignal() throws {
        let dir = try CLITests.Directory()
        let db = dir.file("b.sqlite")
        #expect(try CLITests.run(["generate", "--db", db, "--bookings", "20000"]).status == 0)
        let bench = ChildProcess()
        bench.executableURL = CLITests.binary
        bench.arguments = ["bench", "--db", db, "--runs", "50", "--format", "table"]
        let err = Pipe()
        bench.standardError = err
        bench.standardOutput = FileHandle.nullDevice
        try bench.run()
        // The first stderr line names the directory of the copies.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        let copies = try #require(text.components(separatedBy: " in ").last?.components(separatedBy: " …").first)
        #expect(FileManager.default.fileExists(atPath: copies), "\(text)")
        bench.interrupt()  // SIGINT, as Ctrl-C
        bench.waitUntilExit()
        #expect(bench.terminationStatus == 130)
        #expect(!FileManager.default.fileExists(atPath: copies), "copies left in \(copies)")
    }
}

enum Strategy {
    static let allNames = ["auto", "single-pass", "grouped", "naive"]
}

@Suite("serve and its file", .serialized)
struct ServeFileTests {
    @Test("a database file replaced under serve (mv) stops it with one clear error and exit 1, after answering from the old file")
    func fileReplaced() async throws {
        let dir = try CLITests.Directory()
        let db = dir.file("srv.sqlite"), other = dir.file("new.sqlite")
        #expect(try CLITests.run(["generate", "--db", db, "--bookings", "300"]).status == 0)
        #expect(try CLITests.run(["generate", "--db", other, "--bookings", "500"]).status == 0)
        let err = Pipe()
        let server = try ServeProcess(["--db", db], standardError: err)
        defer { server.stop() }
        let process = server.process, url = server.url
        let (data, _) = try await URLSession.shared.data(from: URL(string: url + "/api/dashboard")!)
        let body = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(((body["bookings"] as! [String: Any])["total"] as! NSNumber).intValue == 300)

        #expect(rename(other, db) == 0)
        process.waitUntilExit()  // the watch looks once a second
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 1)
        #expect(stderr.contains("was replaced by another file while serving it"), "\(stderr)")
        #expect(stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count == 1, "\(stderr)")
    }
}
