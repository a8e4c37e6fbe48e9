import Foundation
import TallyCore
import Testing

/// Hostile values for every option of the reading commands: always a clear
/// error (exit 1 or 2, one line) or a valid answer, never a crash, and the
/// database unchanged.
@Suite("hostile parameters", .serialized)
struct FuzzTests {
    static let hostile: [String] = [
        "", " ", "-1", "0", "99999999999999999999999999", "-99999999999999999999", "1e308", "NaN", "nan", "inf",
        "'; DROP TABLE payments; --", "\" OR 1=1 --", "%00", "\u{0}", "a\u{0}b", "日本語", "🙂", "\u{202E}evil",
        String(repeating: "A", count: 10_000), "../../etc/passwd", "2024-02-30", "2024-01-01T25:61:61Z",
        "2024-01-01T00:00:00+99:99", "9999-12-31", "0000-01-01", "-2024-01-01", "Europe/../../etc", "UTC\n", "month;",
    ]

    static let options: [(command: [String], option: String)] = [
        (["revenue"], "--period"), (["revenue"], "--from"), (["revenue"], "--to"), (["revenue"], "--tz"),
        (["revenue"], "--strategy"), (["dashboard"], "--strategy"), (["dashboard"], "--format"),
        (["modules"], "--org"), (["modules"], "--strategy"), (["bench"], "--runs"), (["indexes"], "--format"),
        (["report"], "--period"),
    ]

    @Test("every option, many hostile values")
    func options() throws {
        let dir = try CLITests.Directory()
        let db = dir.file("f.sqlite")
        #expect(try CLITests.run(["generate", "--db", db, "--bookings", "200"]).status == 0)
        let before = try CLITests.fingerprint(db)
        // Seeded: a failure names values that a rerun reproduces.
        var rng = SplitMix64(seed: 20_261_122)
        for (command, option) in Self.options {
            // Every option gets a sample of the hostile values (all of them for the revenue options).
            let values = command == ["revenue"] ? Self.hostile : Array(Self.hostile.shuffled(using: &rng).prefix(6))
            for value in values where !value.contains("\u{0}") || option != "--org" {
                var arguments = command
                if command == ["indexes"] { arguments.append("status") }
                if command == ["report"] { arguments += ["--out", dir.file("r.html")] }
                if command == ["bench"] { arguments += ["--budget", "0.01"] }
                arguments += ["--db", db, option, value]
                if value.contains("\u{0}") { continue }  // argv cannot carry NUL bytes
                let r = try CLITests.run(arguments)
                #expect([0, 1, 2].contains(r.status), "\(arguments.prefix(6)) → \(r.status)")
                if r.status != 0 {
                    #expect(r.stderr.split(separator: "\n").count == 1, "\(option) \(value.prefix(40)): \(r.stderr.prefix(300))")
                    #expect(r.stderr.hasPrefix("error: "), "\(option) \(value.prefix(40))")
                    #expect(r.stderr.utf8.count < 600, "\(option): the message is too long")
                }
                #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"))
            }
        }
        #expect(try CLITests.fingerprint(db) == before)
    }

    @Test(
        "serve refuses invalid ports and hosts before listening",
        arguments: [
            ["--port", "-1"], ["--port", "65536"], ["--port", "99999999999999999999"], ["--port", "http"],
            ["--host", ""], ["--host", "a b"], ["--slow-query-ms", "-5"],
        ])
    func serveOptions(arguments: [String]) throws {
        let dir = try CLITests.Directory()
        let db = dir.file("s.sqlite")
        #expect(try CLITests.run(["init", "--db", db]).status == 0)
        CLITests.expectOneLineError(try CLITests.run(["serve", "--db", db] + arguments), status: 2)
    }
}
