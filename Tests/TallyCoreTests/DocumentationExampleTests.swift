import Foundation
import GRDB
import Logging
import ServiceLifecycle
import TallyCore
import TallyTestSupport
import Testing

/// Every ```swift example in the doc comments of `Sources/` and in the
/// README is compiled and run here: each test holds one example verbatim
/// (the `examplesAreCompiledHere` test checks that every example's lines
/// appear, in order and together, in some test file), then checks what the
/// example's comments promise.
@Suite("documentation examples", .serialized)
struct DocumentationExampleTests {
    @Test("every example in a doc comment or the README appears verbatim in a test")
    func examplesAreCompiledHere() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let tests = try Self.files(under: root.appendingPathComponent("Tests")).map { Self.normalized(try String(contentsOf: $0, encoding: .utf8)) }
        var examples: [(String, [String])] = []
        for file in try Self.files(under: root.appendingPathComponent("Sources")) {
            examples += Self.examples(in: try String(contentsOf: file, encoding: .utf8), docComments: true).map { (file.lastPathComponent, $0) }
        }
        for file in try Self.files(under: root.appendingPathComponent("Sources"), extension: "md") {
            examples += Self.examples(in: try String(contentsOf: file, encoding: .utf8), docComments: false).map { (file.lastPathComponent, $0) }
        }
        examples += Self.examples(in: try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8), docComments: false)
            .map { ("README.md", $0) }
        #expect(examples.count >= 15, "found only \(examples.count) examples")
        let testTokens = tests.map(Self.tokens)
        for (file, lines) in examples {
            let example = Self.tokens(lines)
            let found = testTokens.contains { $0.contains(example) }
            #expect(found, "an example in \(file) is not compiled by any test:\n\(lines.joined(separator: "\n"))")
        }
    }

    /// The code of normalized lines with every space and line break removed,
    /// and a trailing comma before `)` or `]` dropped: what
    /// `swift format` may change in a test's copy of an example (line
    /// breaks, indentation, trailing commas) does not count as a difference.
    static func tokens(_ lines: [String]) -> String {
        var text = lines.joined().filter { !$0.isWhitespace }
        for (from, to) in [(",)", ")"), (",]", "]")] { text = text.replacingOccurrences(of: from, with: to) }
        return text
    }

    static func files(under directory: URL, extension: String = "swift") throws -> [URL] {
        let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
        return (enumerator?.allObjects as? [URL] ?? []).filter { $0.pathExtension == `extension` }
    }

    /// Lines without indentation, trailing comments or blank lines.
    static func normalized(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).compactMap { line in
            var line = String(line)
            if let comment = line.range(of: "  //") { line = String(line[..<comment.lowerBound]) }
            line = line.trimmingCharacters(in: .whitespaces)
            // Imports sit at the top of a test file, away from the example.
            return line.isEmpty || line.hasPrefix("import ") ? nil : line
        }
    }

    /// The ```swift blocks of a README, or of the `///` comments of a source file.
    static func examples(in text: String, docComments: Bool) -> [[String]] {
        var blocks: [[String]] = []
        var current: [String]?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if docComments {
                guard line.hasPrefix("///") else { current = nil; continue }
                line = String(line.dropFirst(3))
            }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "```swift" { current = []; continue }
            if trimmed == "```", let block = current {
                blocks.append(normalized(block.joined(separator: "\n")))
                current = nil
                continue
            }
            current?.append(line)
        }
        return blocks
    }

    // MARK: - The examples

    /// A generated database at `tally.sqlite` in a fresh directory, the
    /// current directory while `body` runs (the examples name relative paths).
    static func inDirectory<T>(bookings: Int = 300, rollups: Bool = false, _ body: () async throws -> T) async throws -> T {
        let dir = try TemporaryDirectory()
        let writer = try generatedDatabase(in: dir, bookings: bookings, name: "tally.sqlite")
        if rollups { try Rollups.enable(on: writer) }
        try writer.close()
        for name in ["shop.sqlite"] { try FileManager.default.copyItem(atPath: dir.path("tally.sqlite"), toPath: dir.path(name)) }
        return try await CurrentDirectory.with(dir.path("")) { try await body() }
    }

    @Test("TallyDatabase, TallyEngine and StatsCache")
    func engineAndCache() async throws {
        try await Self.inDirectory {
            do {
                let database = try TallyDatabase.openReadOnly(path: "tally.sqlite")
                let engine = TallyEngine(database: database)
                let dashboard = try await engine.dashboard()
                #expect(dashboard.bookings.total == 300)
            }
            do {
                let engine = TallyEngine(database: try TallyDatabase.openReadOnly(path: "tally.sqlite"))
                let dashboard = try await engine.dashboard()
                let revenue = try await engine.revenue(RevenueQuery(period: "month", timeZone: "Europe/Paris"))
                #expect(dashboard.bookings.total == 300 && !revenue.buckets.isEmpty)
            }
            do {
                let database = try TallyDatabase.openReadOnly(path: "tally.sqlite")
                let engine = TallyEngine(database: database)  // uses database.cache
                let first = try await engine.dashboard()  // meta.cache == "miss"
                let second = try await engine.dashboard()  // meta.cache == "hit"
                #expect(first.meta.cache == "miss" && second.meta.cache == "hit")
            }
        }
    }

    @Test("TallyError")
    func error() async throws {
        try await Self.inDirectory {
            var printed = false
            func print(_ items: Any...) { printed = true }
            // Prints: file, "no database at missing.sqlite"
            do { _ = try TallyDatabase.openReadOnly(path: "missing.sqlite") } catch let error as TallyError { print(error.kind, error.message) }
            #expect(printed)
            let error = #expect(throws: TallyError.self) { try TallyDatabase.openReadOnly(path: "missing.sqlite") }
            #expect(error?.kind == .file && error?.message == "no database at missing.sqlite")
        }
    }

    @Test("Stat, Zone, PeriodGrid and TimestampParser")
    func statsAndTime() async throws {
        try await Self.inDirectory {
            let engine = TallyEngine(database: try TallyDatabase.openReadOnly(path: "tally.sqlite"))
            do {
                let zone = try Zone("Europe/Paris")
                let grid = try PeriodGrid(
                    period: .month, zone: zone,
                    from: try TimestampParser.parse("2025-01-01", zone: zone),
                    to: try TimestampParser.parse("2026-01-01", zone: zone))
                let stat = Stat(
                    name: "bookings.byServiceTypePerMonth", table: "bookings",
                    groupBy: ["serviceType"], bucket: Stat.TimeBucket(column: "createdAt", grid: grid),
                    aggregates: [.count, .sum("price")])
                let results = try await engine.run([stat])
                #expect(results.count == 1 && results[0].stat.name == stat.name)
            }
            do {
                let engine = TallyEngine(database: try TallyDatabase.openReadOnly(path: "shop.sqlite"))
                let zone = try Zone("Europe/Paris")
                let grid = try PeriodGrid(
                    period: .month, zone: zone,
                    from: try TimestampParser.parse("2025-01-01", zone: zone),
                    to: try TimestampParser.parse("2026-01-01", zone: zone))
                let perMonth = Stat(
                    name: "bookings.byServiceTypePerMonth", table: "bookings",
                    groupBy: ["serviceType"], bucket: .init(column: "createdAt", grid: grid),
                    aggregates: [.count, .sum("price")])
                let results = try await engine.run([perMonth])  // auto: rollups when intact, else one scan per table
                #expect(results[0].stat.name == perMonth.name)
            }
            do {
                let byStatus = Stat(name: "bookings.byStatus", table: "bookings", groupBy: ["status"])
                let byServiceType = Stat(name: "bookings.byServiceType", table: "bookings", groupBy: ["serviceType"])
                let revenuePerMonth = RevenueQuery.stat(grid: try PeriodGrid(period: .month, zone: .utc, from: 0, to: 2_000_000_000_000))
                let results = try await engine.run([byStatus, byServiceType, revenuePerMonth])
                #expect(results.map(\.stat.name) == ["bookings.byStatus", "bookings.byServiceType", "payments.revenue"])
            }
            do {
                let zone = try Zone("Europe/Paris")
                let grid = try PeriodGrid(
                    period: .month, zone: zone,
                    from: try TimestampParser.parse("2024-01-01", zone: zone),
                    to: try TimestampParser.parse("2025-01-01", zone: zone))
                let months = grid.count  // 12
                let april = grid.label(ofBucket: 3)  // "2024-04-01T00:00:00+02:00"
                #expect(months == 12 && april == "2024-04-01T00:00:00+02:00")
            }
            do {
                let paris = try Zone("Europe/Paris")
                let text = paris.format(1_711_839_600_000)  // "2024-03-31T00:00:00+01:00"
                #expect(text == "2024-03-31T00:00:00+01:00")
            }
        }
    }

    @Test("Rollups and RollupDefinition")
    func rollups() async throws {
        try await Self.inDirectory {
            do {
                let database = try TallyDatabase.openForWriting(path: "shop.sqlite")
                try Rollups.enable(on: database)  // tables, triggers, backfill: one transaction
                let status = try await Rollups.status(of: database)
                let differences = try await Rollups.verify(database)  // [] when exact
                #expect(status.allIntact && differences.isEmpty)
            }
            do {
                let database = try TallyDatabase.openForWriting(path: "shop.sqlite")  // enabling writes the file
                let engine = TallyEngine(database: database)
                let stat = Stat(
                    name: "bookings.priceByServiceType", table: "bookings",
                    groupBy: ["serviceType"], aggregates: [.count, .sum("price")])
                try Rollups.enable(on: database, definitions: Rollups.standard + [try RollupDefinition(stat)])
                let answer = try await engine.run([stat])  // read from the rollup
                let scanned = try await engine.run([stat], strategy: .singlePass)
                #expect(answer[0].groups == scanned[0].groups)
                #expect(try await engine.compute([stat], strategy: .auto, kind: "test").strategy == .rollup)
            }
        }
    }

    @Test("DataGenerator, Locked, CacheClock")
    func generatorAndSupport() async throws {
        try await Self.inDirectory {
            do {
                var printed: [Double] = []
                func print(_ value: Double) { printed.append(value) }
                let database = try TallyDatabase.openForWriting(path: "demo.sqlite")
                let report = try DataGenerator(bookings: 100_000, seed: 42).run(on: database)
                print(report.rowsPerSecond)
                #expect(printed.count == 1 && printed[0] > 0)
            }
            do {
                let hits = Locked(0)
                hits.withLock { $0 += 1 }
                #expect(hits.withLock { $0 } == 1)
            }
            do {
                final class ManualClock: CacheClock, @unchecked Sendable {
                    var seconds = 0.0
                    func now() -> Double { seconds }
                }
                let clock = ManualClock()
                clock.seconds = 3
                #expect(clock.now() == 3)
            }
        }
    }

    @Test("CacheSweeper in a ServiceGroup")
    func sweeper() async throws {
        try await Self.inDirectory {
            struct Stop: Error {}
            // A host service that stops at once, taking the group down.
            struct App: Service { func run() async throws { throw Stop() } }
            let app = App()
            let logger = Logger(label: "test")
            let cache = try #require(try TallyDatabase.openReadOnly(path: "tally.sqlite").cache)
            await #expect(throws: (any Error).self) {
                let group = ServiceGroup(services: [app, CacheSweeper(cache: cache)], logger: logger)
                try await group.run()
            }
        }
    }
}
