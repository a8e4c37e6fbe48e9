import Foundation
import TallyTestSupport
import Testing

/// `tally generate` killed with SIGKILL at random points: the database
/// opens afterwards, passes `PRAGMA integrity_check`, and holds either
/// nothing from that run or all of it (one transaction).
@Suite("crash safety", .serialized)
struct CrashSafetyTests {
    static func sqlite(_ path: String, _ sql: String) throws -> String {
        try CLITests.python(
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print('|'.join(str(x) for x in c.execute(sys.argv[2]).fetchone())); c.close()",
            [path, sql]
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("SIGKILL during generate leaves nothing or everything", arguments: [0.05, 0.15, 0.3, 0.6, 1.2])
    func killDuringGenerate(delay: Double) throws {
        let dir = try CLITests.Directory()
        let path = dir.file("k.sqlite")
        #expect(try CLITests.run(["init", "--db", path]).status == 0)
        let process = ChildProcess()
        process.executableURL = CLITests.binary
        process.arguments = ["generate", "--db", path, "--bookings", "60000", "--quiet"]
        try process.run()
        Thread.sleep(forTimeInterval: delay)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(try Self.sqlite(path, "PRAGMA integrity_check") == "ok")
        let counts = try Self.sqlite(path, "SELECT (SELECT COUNT(*) FROM bookings), (SELECT COUNT(*) FROM payments), (SELECT COUNT(*) FROM users)")
        let killedEarly = process.terminationReason == .uncaughtSignal
        #expect(counts == "0|0|0" || counts.hasPrefix("60000|"), "after \(delay) s (killed: \(killedEarly)): \(counts)")
        // The engine reads it, and generating again works.
        #expect(try CLITests.run(["dashboard", "--db", path]).status == 0)
        #expect(try CLITests.run(["generate", "--db", path, "--bookings", "100", "--replace"]).status == 0)
    }
}
