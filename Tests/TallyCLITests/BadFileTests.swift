import Foundation
import TallyTestSupport
import Testing

/// Files a user may point Tally at by mistake: one clear stderr line,
/// exit 1, no crash, the file byte-identical afterwards.
@Suite("bad files", .serialized)
struct BadFileTests {
    typealias Dir = CLITests.Directory

    /// A generated database in rollback-journal mode (a single file).
    static func database(_ dir: Dir, _ name: String = "d.sqlite", bookings: Int = 300) throws -> String {
        let path = dir.file(name)
        #expect(try CLITests.run(["generate", "--db", path, "--bookings", "\(bookings)"]).status == 0)
        try CLITests.rollbackMode(path)
        return path
    }

    static func expectRefused(
        _ path: String, mentioning words: [String], commands: [[String]] = [["dashboard"], ["revenue"], ["modules"], ["explain"]],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let before = try CLITests.fingerprint(path)
        for command in commands {
            let r = try CLITests.run(command + ["--db", path])
            CLITests.expectOneLineError(r, status: 1, mentioning: words, sourceLocation: sourceLocation)
        }
        #expect(try CLITests.fingerprint(path) == before, sourceLocation: sourceLocation)
    }

    @Test("an empty file")
    func empty() throws {
        let dir = try Dir()
        let path = dir.file("empty.sqlite")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        try Self.expectRefused(path, mentioning: ["empty.sqlite", "empty"])
    }

    @Test("a truncated SQLite file")
    func truncated() throws {
        let dir = try Dir()
        let path = try Self.database(dir)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 3).write(to: URL(fileURLWithPath: path))
        try Self.expectRefused(path, mentioning: ["d.sqlite"])
    }

    @Test("a file with a corrupted page")
    func corruptPage() throws {
        let dir = try Dir()
        let path = try Self.database(dir, bookings: 3_000)
        // Overwrite the root page of `bookings`, which every scan of it reads, with garbage.
        let lookup = try CLITests.python(
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(\"SELECT rootpage FROM sqlite_master WHERE name='bookings'\").fetchone()[0]); c.close()",
            [path])
        #expect(lookup.status == 0, "\(lookup.stderr)")
        let root = Int(lookup.stdout.trimmingCharacters(in: .whitespacesAndNewlines))!
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        let page = 4096, victim = root - 1
        for i in 0..<page { data[victim * page + i] = UInt8(truncatingIfNeeded: i &* 37 &+ 11) }
        try data.write(to: URL(fileURLWithPath: path))
        try Self.expectRefused(path, mentioning: ["d.sqlite", "corrupt"], commands: [["dashboard"], ["dashboard", "--strategy", "grouped"]])
    }

    @Test("a read-only file and directory: read commands work, write commands say why")
    func readOnly() throws {
        let dir = try Dir()
        let path = try Self.database(dir)
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path) }
        let before = try CLITests.fingerprint(path)
        for command in [["dashboard"], ["revenue"], ["modules"], ["explain"]] {
            #expect(try CLITests.run(command + ["--db", path]).status == 0, "\(command)")
        }
        if getuid() != 0 {  // root ignores permissions
            for command in [["indexes", "drop"], ["generate", "--bookings", "10", "--replace"]] {
                CLITests.expectOneLineError(try CLITests.run(command + ["--db", path]), status: 1, mentioning: ["read-only"])
            }
        } else if FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") {
            // Root ignores permissions: check the write commands as `nobody`, where the binary is reachable.
            for command in [["indexes", "drop"], ["generate", "--bookings", "10", "--replace"]] {
                let r = try CLITests.run(
                    ["-u", "nobody", "--", CLITests.binary.path] + command + ["--db", path],
                    executable: URL(fileURLWithPath: "/usr/sbin/runuser"))
                if r.stderr.contains("Permission denied") && !r.stderr.contains("error:") { continue }  // binary not reachable as nobody
                #expect(r.status == 1, "\(command): \(r.stderr)")
                #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains("read-only"), "\(command): \(r.stderr)")
            }
        }
        #expect(try CLITests.fingerprint(path) == before)
    }

    @Test("a file locked exclusively by another process: a bounded wait, then a clear error")
    func exclusiveLock() throws {
        let dir = try Dir()
        let path = try Self.database(dir)
        // Another process takes an exclusive lock and holds it for 8 seconds.
        let holder = ChildProcess()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('BEGIN EXCLUSIVE')
            print('locked', flush=True)
            time.sleep(8)
            c.execute('ROLLBACK')
            """, path,
        ]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        _ = out.fileHandleForReading.availableData  // "locked"
        let started = Date()
        let r = try CLITests.run(["dashboard", "--db", path])
        let waited = Date().timeIntervalSince(started)
        CLITests.expectOneLineError(r, status: 1, mentioning: ["lock"])
        #expect(waited < 7.5, "gave up after \(waited) s, before the lock was released")
        holder.terminate()
        holder.waitUntilExit()
        #expect(try CLITests.run(["dashboard", "--db", path]).status == 0)
    }
}
