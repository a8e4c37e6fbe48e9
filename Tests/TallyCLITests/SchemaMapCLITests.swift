import Foundation
import TallyTestSupport
import Testing

/// Apps' own databases, as Prisma, Django and Rails write them
/// (`scripts/orm-fixtures.py build`), read through a schema map: every
/// answer equals the reference the script computes from the raw rows in
/// plain Python (its own ISO 8601 parser and decimal arithmetic, no SQLite
/// date function, no Tally code).
@Suite("schema map, on ORM fixtures", .serialized)
struct SchemaMapCLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let script = root.appendingPathComponent("scripts/orm-fixtures.py").path

    static func fixtures(_ arguments: [String]) throws -> CLITests.Result {
        try CLITests.run(["python3", script] + arguments, executable: URL(fileURLWithPath: "/usr/bin/env"))
    }

    /// `orm-fixtures.py build`: a fixture of `kind` in `directory`, with its
    /// map beside it (`<path>.map.json`); returns its path.
    static func build(
        _ kind: String, seed: Int = 1, in directory: CLITests.Directory, sourceLocation: SourceLocation = #_sourceLocation
    ) throws
        -> String
    {
        let db = directory.file("\(kind).sqlite")
        let built = try fixtures(["build", "--kind", kind, "--out", db, "--seed", String(seed)])
        try #require(built.status == 0, "\(built.stderr)", sourceLocation: sourceLocation)
        return db
    }

    static func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    /// Where two JSON values differ (numbers compared as reals, within 1e-9
    /// relative: a mean computed in another order), or nil.
    static func difference(_ a: Any, _ b: Any, at path: String = "") -> String? {
        if let a = a as? [String: Any], let b = b as? [String: Any] {
            if Set(a.keys) != Set(b.keys) { return "\(path): keys \(a.keys.sorted()) vs \(b.keys.sorted())" }
            for key in a.keys.sorted() {
                if let found = difference(a[key]!, b[key]!, at: path + "." + key) { return found }
            }
            return nil
        }
        if let a = a as? [Any], let b = b as? [Any] {
            if a.count != b.count { return "\(path): \(a.count) vs \(b.count) elements" }
            for (index, (x, y)) in zip(a, b).enumerated() {
                if let found = difference(x, y, at: "\(path)[\(index)]") { return found }
            }
            return nil
        }
        if a is NSNull || b is NSNull { return (a is NSNull && b is NSNull) ? nil : "\(path): \(a) vs \(b)" }
        if let x = a as? String, let y = b as? String { return x == y ? nil : "\(path): \(x) vs \(y)" }
        if let x = (a as? NSNumber)?.doubleValue, let y = (b as? NSNumber)?.doubleValue {
            return abs(x - y) <= 1e-9 * max(abs(x), abs(y)) ? nil : "\(path): \(x) vs \(y)"
        }
        return "\(path): \(a) vs \(b)"
    }

    /// Tally's revenue in the reference's terms: bucket starts as epoch ms.
    static func revenueBuckets(_ tally: [String: Any]) -> [[String: Any]] {
        let isoParser = ISO8601DateFormatter()
        isoParser.formatOptions = [.withInternetDateTime]
        return (tally["buckets"] as? [[String: Any]] ?? []).map { bucket in
            var converted = bucket
            if let start = bucket["start"] as? String, let date = isoParser.date(from: start) {
                converted["start"] = Int64((date.timeIntervalSince1970 * 1000).rounded())
            }
            return converted
        }
    }

    /// Compares `tally dashboard` (every strategy given) and `tally revenue`
    /// through `map` with the script's reference from the same map.
    static func expectReferenceAnswers(
        db: String, map: String, strategies: [String], revenue: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let r = try fixtures(["reference", "--db", db, "--map", map] + revenue)
        try #require(r.status == 0, "reference: \(r.stderr)", sourceLocation: sourceLocation)
        let reference = try json(r.stdout) as! [String: Any]
        var expected = reference["dashboard"] as! [String: Any]
        let absent = expected.removeValue(forKey: "absent") as? [String] ?? []
        for strategy in strategies {
            let d = try CLITests.run(["dashboard", "--db", db, "--schema-map", map, "--strategy", strategy, "--no-cache", "--format", "json"])
            try #require(d.status == 0, "dashboard \(strategy): \(d.stderr)", sourceLocation: sourceLocation)
            var dashboard = try json(d.stdout) as! [String: Any]
            let meta = dashboard.removeValue(forKey: "meta") as! [String: Any]
            #expect((meta["absent"] as? [String] ?? []).sorted() == absent.sorted(), "absent", sourceLocation: sourceLocation)
            if strategy != "auto" { #expect(meta["strategy"] as? String == strategy, sourceLocation: sourceLocation) }
            let found = difference(dashboard, expected)
            #expect(found == nil, "dashboard \(strategy) vs reference: \(found ?? "")", sourceLocation: sourceLocation)
        }
        // Module counts per organization, every strategy.
        if let expectedModules = reference["modules"] as? [String: Any] {
            for strategy in strategies.contains("rollup") ? ["rollup", "batched"] : ["batched", "per-org"] {
                let m = try CLITests.run(["modules", "--db", db, "--schema-map", map, "--strategy", strategy, "--no-cache", "--format", "json"])
                try #require(m.status == 0, "modules \(strategy): \(m.stderr)", sourceLocation: sourceLocation)
                let organizations = (try json(m.stdout) as! [String: Any])["organizations"] as! [[String: Any]]
                var byID: [String: Any] = [:]
                for organization in organizations {
                    byID[organization["id"] as! String] = ["name": organization["name"]!, "activeModules": organization["activeModules"]!]
                }
                let found = difference(byID, expectedModules)
                #expect(found == nil, "modules \(strategy) vs reference: \(found ?? "")", sourceLocation: sourceLocation)
            }
        }
        let expectedRevenue = reference["revenue"] as! [String: Any]
        for strategy in strategies {
            let t = try CLITests.run(
                ["revenue", "--db", db, "--schema-map", map, "--strategy", strategy, "--no-cache", "--format", "json"] + revenue)
            try #require(t.status == 0, "revenue \(strategy): \(t.stderr)", sourceLocation: sourceLocation)
            let tally = try json(t.stdout) as! [String: Any]
            let buckets = difference(revenueBuckets(tally), expectedRevenue["buckets"] as! [Any])
            #expect(buckets == nil, "revenue \(strategy) \(revenue) buckets: \(buckets ?? "")", sourceLocation: sourceLocation)
            let total = difference(tally["total"]!, expectedRevenue["total"]!)
            #expect(total == nil, "revenue \(strategy) total: \(total ?? "")", sourceLocation: sourceLocation)
        }
    }

    static let revenueQueries: [[String]] = [
        ["--period", "month"],
        ["--period", "week", "--tz", "Europe/Paris", "--from", "2023-03-01", "--to", "2024-11-15"],
        ["--period", "day", "--tz", "Asia/Kolkata", "--from", "2024-02-25", "--to", "2024-06-03"],
    ]

    @Test("every strategy, through the hand-written map, equals the Python reference", arguments: ["prisma", "django", "rails", "rails-legacy"])
    func referenceAnswers(kind: String) throws {
        let directory = try CLITests.Directory()
        let db = try Self.build(kind, seed: 3, in: directory)
        let before = try CLITests.fingerprint(db)
        for query in Self.revenueQueries {
            try Self.expectReferenceAnswers(db: db, map: db + ".map.json", strategies: ["single-pass", "grouped", "naive"], revenue: query)
        }
        // The report says what the app lacks (Rails: no vehicles), and leaves it out.
        let report = directory.file("report.md")
        let wrote = try CLITests.run(["report", "--db", db, "--schema-map", db + ".map.json", "--out", report, "--quiet"])
        #expect(wrote.status == 0, "\(wrote.stderr)")
        let markdown = try String(contentsOfFile: report, encoding: .utf8)
        #expect(markdown.contains("Absent from this database") == kind.hasPrefix("rails"))
        #expect(markdown.contains("vehicles available") == !kind.hasPrefix("rails"))
        // Reading through a map never writes to the app's file.
        #expect(try CLITests.fingerprint(db).0 == before.0)
    }

    @Test("naive timestamps in a named zone (Django with USE_TZ = False): Tally and the reference (zoneinfo, fold=0) agree")
    func namedZone() throws {
        let directory = try CLITests.Directory()
        let db = try Self.build("django", seed: 6, in: directory)
        // The same rows, their naive text read as Paris wall-clock time.
        var map = try Self.json(String(contentsOfFile: db + ".map.json", encoding: .utf8)) as! [String: Any]
        var tables = map["tables"] as! [String: Any]
        for (name, value) in tables {
            guard var table = value as? [String: Any], var columns = table["columns"] as? [String: Any] else { continue }
            for (column, spec) in columns {
                if var spec = spec as? [String: Any], spec["timestamp"] != nil {
                    spec["zone"] = "Europe/Paris"
                    columns[column] = spec
                }
            }
            table["columns"] = columns
            tables[name] = table
        }
        map["tables"] = tables
        let path = directory.file("paris.map.json")
        try JSONSerialization.data(withJSONObject: map).write(to: URL(fileURLWithPath: path))
        try Self.expectReferenceAnswers(
            db: db, map: path, strategies: ["single-pass", "grouped"],
            revenue: ["--period", "day", "--tz", "Europe/Paris", "--from", "2023-03-20", "--to", "2023-11-05"])
        let enabled = try CLITests.run(["rollups", "enable", "--db", db, "--schema-map", path, "--format", "json"])
        try #require(enabled.status == 0, "\(enabled.stderr)")
        let writes = try Self.fixtures(["write", "--db", db, "--kind", "django", "--seed", "2", "--count", "60"])
        try #require(writes.status == 0, "\(writes.stderr)")
        try Self.expectReferenceAnswers(db: db, map: path, strategies: ["rollup"], revenue: ["--period", "month", "--tz", "Europe/Paris"])
    }

    @Test("guess: the starter map gives the reference answers unedited", arguments: ["prisma", "django", "rails", "rails-legacy"])
    func guessedMap(kind: String) throws {
        let directory = try CLITests.Directory()
        let db = try Self.build(kind, seed: 4, in: directory)
        let guess = try CLITests.run(["schema-map", "guess", "--db", db])
        try #require(guess.status == 0, "\(guess.stderr)")
        #expect(guess.stderr.isEmpty)
        let map = directory.file("guessed.map.json")
        try guess.stdout.write(toFile: map, atomically: true, encoding: .utf8)
        // The reference reads the same raw rows through the guessed map: equal
        // answers mean the guess read every column the way the app stores it.
        let hand = try Self.fixtures(["reference", "--db", db, "--map", db + ".map.json"])
        let guessed = try Self.fixtures(["reference", "--db", db, "--map", map])
        try #require(hand.status == 0 && guessed.status == 0, "\(hand.stderr) \(guessed.stderr)")
        let found = Self.difference(try Self.json(guessed.stdout), try Self.json(hand.stdout))
        #expect(found == nil, "guessed map vs hand-written map: \(found ?? "")")
        try Self.expectReferenceAnswers(db: db, map: map, strategies: ["auto"], revenue: ["--period", "month"])
    }

    @Test("rollups on the app's tables: the app's writes keep them exact", arguments: ["prisma", "django", "rails-legacy"])
    func rollups(kind: String) throws {
        let directory = try CLITests.Directory()
        let db = try Self.build(kind, seed: 5, in: directory)
        let map = db + ".map.json"
        let mode = "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode').fetchone()[0])"
        let before = try CLITests.python(mode, [db]).stdout
        let enabled = try CLITests.run(["rollups", "enable", "--db", db, "--schema-map", map, "--format", "json"])
        try #require(enabled.status == 0, "\(enabled.stderr)")
        // The app's file keeps the journal mode the app chose.
        #expect(try CLITests.python(mode, [db]).stdout == before)
        #expect(!FileManager.default.fileExists(atPath: db + "-wal") || before.hasPrefix("wal"))
        // The app writes with Python's sqlite3: Tally's functions and views do not exist there.
        let writes = try Self.fixtures(["write", "--db", db, "--kind", kind, "--seed", "9", "--count", "150"])
        try #require(writes.status == 0, "\(writes.stderr)")
        let verify = try CLITests.run(["rollups", "verify", "--db", db, "--schema-map", map, "--format", "json"])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        try Self.expectReferenceAnswers(db: db, map: map, strategies: ["rollup", "single-pass"], revenue: ["--period", "month"])
        // Without the map the file is the app's, not Tally's: one clear error.
        CLITests.expectOneLineError(try CLITests.run(["dashboard", "--db", db]), status: 1, mentioning: ["table", "--schema-map"])

        // status names the app's tables; a table the app lacks is absent, not an error.
        let status = try CLITests.run(["rollups", "status", "--db", db, "--schema-map", map, "--format", "json"])
        #expect(status.status == 0, "\(status.stderr)")
        let rollups = (try Self.json(status.stdout) as! [String: Any])["rollups"] as! [[String: Any]]
        let mapJSON = try Self.json(String(contentsOfFile: map, encoding: .utf8)) as! [String: Any]
        let mapped = mapJSON["tables"] as! [String: Any]
        for rollup in rollups {
            let table = rollup["table"] as! String
            let appTable = (mapped[table] as? [String: Any])?["table"] as? String
            #expect(rollup["state"] as? String == (appTable == nil ? "absent" : "intact"), "\(rollup)")
            #expect(rollup["appTable"] as? String == appTable, "\(rollup)")
        }
        // explain lists the lacking table's statements as not run.
        let explain = try CLITests.run(["explain", "--db", db, "--schema-map", map, "--format", "json"])
        try #require(explain.status == 0, "\(explain.stderr)")
        var notRun = 0
        for statement in try Self.json(explain.stdout) as! [[String: Any]] {
            let purpose = statement["purpose"] as! String
            let table = String(purpose.prefix { $0 != "." })
            let tallyTables = ["users", "drivers", "vehicles", "bookings", "payments", "organizations", "modules"]
            guard tallyTables.contains(table), mapped[table] == nil || mapped[table] is NSNull else { continue }
            #expect((statement["plan"] as! [String]).first?.contains("not run") == true, "\(statement)")
            #expect((statement["fullScans"] as! [String]).isEmpty)
            notRun += 1
        }
        // Rails' fixture has no vehicles table: one statement per strategy.
        #expect(kind != "rails-legacy" || notRun == 4, "\(notRun)")
        // Through another map (amount read as minor units), the triggers are
        // not this map's: the state says so and how to fix it.
        var payments = mapped["payments"] as! [String: Any]
        var columns = payments["columns"] as! [String: Any]
        columns["amount"] = ["column": ((columns["amount"] as? [String: Any])?["column"] as? String) ?? "amount", "money": "minor"]
        payments["columns"] = columns
        var other = mapJSON
        var otherTables = mapped
        otherTables["payments"] = payments
        other["tables"] = otherTables
        let otherMap = directory.file("other.map.json")
        try JSONSerialization.data(withJSONObject: other).write(to: URL(fileURLWithPath: otherMap))
        CLITests.expectOneLineError(
            try CLITests.run(["rollups", "status", "--db", db, "--schema-map", otherMap, "--format", "json"]), status: 1,
            mentioning: ["payments", "through this schema map", "--schema-map"])
        // Without modules, no statement counts them: every strategy's, batched and per-org included.
        var noModules = mapJSON
        var withoutModules = mapped
        withoutModules["modules"] = NSNull()
        noModules["tables"] = withoutModules
        let noModulesMap = directory.file("no-modules.map.json")
        try JSONSerialization.data(withJSONObject: noModules).write(to: URL(fileURLWithPath: noModulesMap))
        let plans = try CLITests.run(["explain", "--db", db, "--schema-map", noModulesMap, "--format", "json"])
        try #require(plans.status == 0, "\(plans.stderr)")
        let modulePlans = (try Self.json(plans.stdout) as! [[String: Any]]).filter { ($0["purpose"] as! String).hasPrefix("modules.") }
        #expect(modulePlans.count >= 7, "\(modulePlans.count)")
        for statement in modulePlans {
            #expect((statement["plan"] as! [String]).first?.contains("not run") == true, "\(statement)")
        }
    }

    @Test("a bad map or a map the file does not match: one line, exit 2 or 1")
    func badMaps() throws {
        let directory = try CLITests.Directory()
        let db = try Self.build("prisma", in: directory)
        let typo = directory.file("typo.json")
        try #"{"tables": {"payments": {"table": "Payment", "columns": {"amount": {"column": "amount", "mony": "major"}}}}}"#
            .write(toFile: typo, atomically: true, encoding: .utf8)
        CLITests.expectOneLineError(
            try CLITests.run(["dashboard", "--db", db, "--schema-map", typo]), status: 2,
            mentioning: ["tables.payments.columns.amount", "mony"])
        let wrongTable = directory.file("wrong.json")
        try #"{"tables": {"payments": {"table": "Payments"}}}"#.write(toFile: wrongTable, atomically: true, encoding: .utf8)
        CLITests.expectOneLineError(
            try CLITests.run(["revenue", "--db", db, "--schema-map", wrongTable, "--period", "month"]), status: 1,
            mentioning: ["tables.payments", "\"Payments\""])
        CLITests.expectOneLineError(
            try CLITests.run(["dashboard", "--db", db, "--schema-map", directory.file("missing.json")]), status: 1,
            mentioning: ["missing.json"])
        let noPayments = directory.file("no-payments.json")
        try #"{"tables": {"users": {"table": "User"}}}"#.write(toFile: noPayments, atomically: true, encoding: .utf8)
        CLITests.expectOneLineError(
            try CLITests.run(["revenue", "--db", db, "--schema-map", noPayments, "--period", "month"]), status: 1,
            mentioning: ["no payments table"])
        // guess on a database with none of Tally's tables under any ORM's names.
        let unrelated = directory.file("notes.sqlite")
        let made = try CLITests.python(
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE notes (id, body)'); c.commit()", [unrelated])
        #expect(made.status == 0, "\(made.stderr)")
        let guess = try CLITests.run(["schema-map", "guess", "--db", unrelated])
        CLITests.expectOneLineError(guess, status: 1, mentioning: ["notes.sqlite", "nothing to guess from"])
        #expect(guess.stdout.isEmpty)
    }
}
