import Foundation
import TallyTestSupport
import Testing

/// Runs the built `tally` executable as a user would: exit statuses, one-line
/// errors on stderr, files left untouched.
@Suite("tally command line", .serialized)
struct CLITests {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The `tally` binary built beside this test bundle.
    static let binary = TallyExecutable.url

    /// Runs `tally` (or another `executable`) to its end.
    static func run(_ arguments: [String], executable: URL = binary) throws -> Result {
        let process = ChildProcess()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A fresh directory, removed at the end of the test.
    final class Directory {
        let path: String
        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("tally-cli-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Runs a Python script: its `sqlite3` module is a SQLite client independent of Tally.
    static func python(_ script: String, _ arguments: [String]) throws -> Result {
        try run(["python3", "-c", script] + arguments, executable: URL(fileURLWithPath: "/usr/bin/env"))
    }

    /// Switches a database file to rollback-journal mode (one file, no `-wal`/`-shm`).
    static func rollbackMode(_ path: String) throws {
        let r = try python("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=DELETE'); c.close()", [path])
        #expect(r.status == 0, "\(r.stderr)")
    }

    /// Bytes and modification time of a file.
    static func fingerprint(_ path: String) throws -> (Data, Date) {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (try Data(contentsOf: URL(fileURLWithPath: path)), attributes[.modificationDate] as! Date)
    }

    static func expectOneLineError(
        _ r: Result, status: Int32, mentioning words: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(r.status == status, "exit status; stderr: \(r.stderr)", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one stderr line, got: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("error: "), sourceLocation: sourceLocation)
        for word in words {
            #expect(r.stderr.contains(word), "stderr mentions \(word): \(r.stderr)", sourceLocation: sourceLocation)
        }
        #expect(!r.stderr.contains("Fatal error"), sourceLocation: sourceLocation)
    }

    @Test("the binary is built")
    func binaryExists() {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary.path), "\(Self.binary.path)")
    }

    @Test("init refuses an existing non-Tally file and leaves it untouched")
    func initRefusesForeignFile() throws {
        let dir = try Directory()
        let path = dir.file("notes.txt")
        try Data("my notes\n".utf8).write(to: URL(fileURLWithPath: path))
        let before = try Self.fingerprint(path)
        Self.expectOneLineError(try Self.run(["init", "--db", path]), status: 1, mentioning: ["notes.txt"])
        #expect(try Self.fingerprint(path) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test("init, generate, indexes and the read commands work end to end")
    func endToEnd() throws {
        let dir = try Directory()
        let db = dir.file("t.sqlite")
        #expect(try Self.run(["init", "--db", db, "--no-indexes"]).status == 0)
        let status = try Self.run(["indexes", "status", "--db", db, "--format", "json"])
        #expect(status.status == 0)
        #expect(status.stdout.contains("\"missing\""))
        #expect(!status.stdout.contains("\"present\""))
        let generate = try Self.run(["generate", "--db", db, "--bookings", "2000", "--seed", "5", "--format", "json"])
        #expect(generate.status == 0, "\(generate.stderr)")
        #expect(generate.stdout.contains("\"rowsPerSecond\""))
        #expect(try Self.run(["indexes", "apply", "--db", db]).status == 0)
        #expect(try Self.run(["indexes", "status", "--db", db, "--format", "json"]).stdout.contains("\"missing\"") == false)
        #expect(try Self.run(["indexes", "drop", "--db", db]).status == 0)
        #expect(try Self.run(["indexes", "status", "--db", db, "--format", "json"]).stdout.contains("\"present\"") == false)
        for arguments in [
            ["dashboard"], ["revenue", "--period", "week", "--tz", "Asia/Kathmandu"], ["modules"], ["explain"],
            ["modules", "--strategy", "per-org", "--format", "csv"], ["dashboard", "--format", "table"],
        ] {
            let r = try Self.run(arguments + ["--db", db])
            #expect(r.status == 0, "\(arguments): \(r.stderr)")
            #expect(!r.stdout.isEmpty)
        }
        // Generating again without --replace refuses; the data stays.
        // (A state of the file, not bad usage: exit 1.)
        Self.expectOneLineError(try Self.run(["generate", "--db", db, "--bookings", "10"]), status: 1, mentioning: ["--replace"])
    }

    @Test(
        "bad input: one clear line, the right exit status, nothing changed",
        arguments: [
            (["revenue", "--period", "fortnight"], Int32(2), "fortnight"),
            (["revenue", "--tz", "Mars/Olympus"], Int32(2), "Mars/Olympus"),
            (["revenue", "--from", "2024-13-45"], Int32(2), "2024-13-45"),
            (["revenue", "--from", "2024-02-01", "--to", "2024-01-01"], Int32(2), "after"),
            (["revenue", "--from", "'; DROP TABLE payments; --"], Int32(2), "--from"),
            (["dashboard", "--strategy", "magic"], Int32(2), "magic"),
            // argument-parser lists these values on lines of their own: they stay in the one line.
            (["dashboard", "--log-level", "loud"], Int32(2), "trace, debug, info, notice, warning, error, critical"),
            (["modules", "--org", "no-such-org"], Int32(1), "no-such-org"),
            (["generate", "--bookings", "-5"], Int32(2), "-5"),
            (["bench", "--runs", "-1"], Int32(2), "-1"),
            (["revenue", "--slow-query-ms", "-3"], Int32(2), "--slow-query-ms"),
            (["bench", "--runs", "0"], Int32(2), "--runs"),
        ])
    func badInput(arguments: [String], status: Int32, word: String) throws {
        let dir = try Directory()
        let db = dir.file("t.sqlite")
        #expect(try Self.run(["generate", "--db", db, "--bookings", "300"]).status == 0)
        let before = try Self.fingerprint(db)
        Self.expectOneLineError(try Self.run(arguments + ["--db", db]), status: status, mentioning: [word])
        #expect(try Self.fingerprint(db) == before)
    }

    @Test("generate with negative bookings or in a missing directory creates nothing")
    func generateBadInput() throws {
        let dir = try Directory()
        let db = dir.file("new.sqlite")
        Self.expectOneLineError(try Self.run(["generate", "--db", db, "--bookings", "-5"]), status: 2, mentioning: ["--bookings"])
        #expect(!FileManager.default.fileExists(atPath: db))
        let nested = dir.file("missing/dir/new.sqlite")
        Self.expectOneLineError(try Self.run(["generate", "--db", nested, "--bookings", "5"]), status: 1, mentioning: ["does not exist"])
        Self.expectOneLineError(try Self.run(["init", "--db", nested]), status: 1, mentioning: ["does not exist"])
        #expect(!FileManager.default.fileExists(atPath: dir.file("missing")))
    }

    @Test("read commands refuse what is not a Tally database, naming the file, and change nothing")
    func badFiles() throws {
        let dir = try Directory()
        let text = dir.file("notes.txt")
        try Data("just text".utf8).write(to: URL(fileURLWithPath: text))
        let before = try Self.fingerprint(text)
        for command in ["dashboard", "revenue", "modules", "explain"] {
            Self.expectOneLineError(try Self.run([command, "--db", text]), status: 1, mentioning: ["notes.txt"])
            Self.expectOneLineError(try Self.run([command, "--db", dir.file("absent.sqlite")]), status: 1, mentioning: ["absent.sqlite"])
        }
        #expect(try Self.fingerprint(text) == before)
        #expect(!FileManager.default.fileExists(atPath: dir.file("absent.sqlite")))
        Self.expectOneLineError(try Self.run(["dashboard", "--db", dir.path]), status: 1, mentioning: ["directory"])

        // An app's own database: the error says how Tally reads one.
        let app = dir.file("app.sqlite")
        let made = try Self.python(
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE \"Booking\" (id TEXT PRIMARY KEY)'); c.commit()", [app])
        #expect(made.status == 0, "\(made.stderr)")
        let appBefore = try Self.fingerprint(app)
        for command in [["dashboard"], ["rollups", "status"], ["rollups", "enable"]] {
            Self.expectOneLineError(
                try Self.run(command + ["--db", app]), status: 1, mentioning: ["app.sqlite", "--schema-map", "tally schema-map guess --db"])
        }
        #expect(try Self.fingerprint(app) == appBefore)
    }

    @Test("a database missing payments.amount is an error naming the column")
    func missingColumn() throws {
        let dir = try Directory()
        let db = dir.file("partial.sqlite")
        #expect(try Self.run(["init", "--db", db]).status == 0)
        // Rebuild payments without `amount` (DROP COLUMN refuses a CHECKed column).
        let rebuilt = try Self.python(
            """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            c.executescript("DROP TABLE payments; CREATE TABLE payments (id INTEGER PRIMARY KEY, bookingId INTEGER, status TEXT, createdAt INTEGER);")
            c.commit(); c.close()
            """, [db])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        let before = try Self.fingerprint(db)
        for command in [["dashboard"], ["revenue"]] {
            Self.expectOneLineError(try Self.run(command + ["--db", db]), status: 1, mentioning: ["payments", "amount"])
        }
        #expect(try Self.fingerprint(db) == before)
    }

    @Test("read commands leave a rollback-mode database byte-identical, with no -wal or -shm")
    func readOnlyByConstruction() throws {
        let dir = try Directory()
        let db = dir.file("r.sqlite")
        #expect(try Self.run(["generate", "--db", db, "--bookings", "500"]).status == 0)
        try Self.rollbackMode(db)
        let before = try Self.fingerprint(db)
        for command in [
            ["dashboard"], ["revenue"], ["modules"], ["explain"], ["indexes", "status"], ["bench", "--runs", "1"],
            ["report", "--out", dir.file("report.html")],
        ] {
            let r = try Self.run(command + ["--db", db])
            #expect(r.status == 0, "\(command): \(r.stderr)")
            // Nothing on stderr but errors and warnings (bench's progress is for its table format).
            #expect(r.stderr.isEmpty, "\(command): \(r.stderr)")
            #expect(try Self.fingerprint(db) == before, "\(command) changed the file")
            #expect(!FileManager.default.fileExists(atPath: db + "-wal"), "\(command) left a -wal")
            #expect(!FileManager.default.fileExists(atPath: db + "-shm"), "\(command) left a -shm")
        }
    }

    @Test("report takes --slow-query-ms, as every reading command that computes does")
    func reportSlowQueries() throws {
        let dir = try Directory()
        let db = dir.file("s.sqlite")
        #expect(try Self.run(["generate", "--db", db, "--bookings", "300"]).status == 0)
        let quiet = try Self.run(["report", "--db", db, "--out", dir.file("a.html")])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
        let slow = try Self.run(["report", "--db", db, "--out", dir.file("b.html"), "--slow-query-ms", "0.000001"])
        #expect(slow.status == 0, "\(slow.stderr)")
        #expect(slow.stderr.contains("slow query") && slow.stderr.contains("kind=report"), "\(slow.stderr)")
        Self.expectOneLineError(
            try Self.run(["report", "--db", db, "--out", dir.file("c.html"), "--slow-query-ms", "0"]), status: 2, mentioning: ["--slow-query-ms"])
    }

    @Test("the dashboard's JSON has the contract's shape")
    func dashboardShape() throws {
        let dir = try Directory()
        let db = dir.file("s.sqlite")
        #expect(try Self.run(["generate", "--db", db, "--bookings", "400"]).status == 0)
        let r = try Self.run(["dashboard", "--db", db, "--format", "json"])
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(Set(json.keys) == ["users", "drivers", "vehicles", "bookings", "payments", "modules", "meta"])
        let drivers = json["drivers"] as! [String: Any]
        #expect(drivers.keys.contains("averageRating"))
        let meta = json["meta"] as! [String: Any]
        #expect(meta["strategy"] as? String == "single-pass")
        #expect(meta["cache"] as? String == "miss")
        #expect(meta["statements"] as? Int == 7, "one SELECT per table")
        let csv = try Self.run(["revenue", "--db", db, "--format", "csv", "--period", "year"])
        #expect(csv.stdout.hasPrefix("start,count,amount_minor\n"))
    }
}

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("tally serve", .serialized)
struct ServeTests {
    @Test("serves on loopback, answers, stops on SIGTERM with exit 0, leaves the database untouched")
    func serveLifecycle() async throws {
        let dir = try CLITests.Directory()
        let db = dir.file("s.sqlite")
        #expect(try CLITests.run(["generate", "--db", db, "--bookings", "500"]).status == 0)
        try CLITests.rollbackMode(db)
        let before = try CLITests.fingerprint(db)

        // The startup line carries the URL (port 0 picks a free port).
        let server = try ServeProcess(["--db", db])
        defer { server.stop() }
        let url = server.url
        for (path, status) in [("/health", 200), ("/api/dashboard", 200), ("/api/revenue?period=fortnight", 400), ("/metrics", 200)] {
            let (data, response) = try await URLSession.shared.data(from: URL(string: url + path)!)
            #expect((response as? HTTPURLResponse)?.statusCode == status, "\(path)")
            if path == "/metrics" {
                let body = String(decoding: data, as: UTF8.self)
                #expect(body.contains("tally_http_requests_total"))
                #expect(!body.contains("hb_request"))
                #expect(body.contains("# HELP tally_engine_requests_total"))
                #expect(body.contains("tally_engine_requests_total"))
                #expect(body.contains("tally_cache_misses_total"))
            }
        }
        server.process.terminate()  // SIGTERM
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)
        #expect(try CLITests.fingerprint(db) == before)
        #expect(!FileManager.default.fileExists(atPath: db + "-wal"))
        #expect(!FileManager.default.fileExists(atPath: db + "-shm"))
    }
}

@Suite("tally report", .serialized)
struct ReportCommandTests {
    @Test("writes HTML, Markdown and CSV; fails with one line and exit 1 or 2; --quiet is quiet")
    func report() throws {
        let dir = try CLITests.Directory()
        let db = dir.file("r.sqlite")
        #expect(try CLITests.run(["generate", "--db", db, "--bookings", "400"]).status == 0)
        let html = try CLITests.run(["report", "--db", db, "--out", dir.file("r.html"), "--tz", "Europe/Paris"])
        #expect(html.status == 0 && html.stdout.contains("wrote"))
        #expect(try String(contentsOfFile: dir.file("r.html"), encoding: .utf8).hasPrefix("<!DOCTYPE html>"))
        let quiet = try CLITests.run(["report", "--db", db, "--out", dir.file("r.md"), "--quiet"])
        #expect(quiet.status == 0 && quiet.stdout.isEmpty)
        #expect(try String(contentsOfFile: dir.file("r.md"), encoding: .utf8).hasPrefix("# Tally report"))
        #expect(try CLITests.run(["report", "--db", db, "--out", dir.file("csv"), "--period", "year"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.file("csv/revenue.csv")))
        CLITests.expectOneLineError(try CLITests.run(["report", "--db", db, "--out", dir.file("x.html"), "--period", "fortnight"]), status: 2)
        CLITests.expectOneLineError(
            try CLITests.run(["report", "--db", db, "--out", dir.file("no/such/x.html")]), status: 1, mentioning: ["does not exist"])
        CLITests.expectOneLineError(try CLITests.run(["report", "--db", dir.file("absent.sqlite"), "--out", dir.file("y.html")]), status: 1)
        #expect(!FileManager.default.fileExists(atPath: dir.file("x.html")))
        #expect(!FileManager.default.fileExists(atPath: dir.file("y.html")))
    }
}
