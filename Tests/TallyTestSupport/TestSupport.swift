public import Foundation
import GRDB
public import Metrics
public import TallyCore

/// Temporary database files for tests, removed with their directory.
public final class TemporaryDirectory: Sendable {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("tally-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A generated database opened for writing: `bookings` rows with `seed`,
/// with or without the documented indexes.
public func generatedDatabase(
    in directory: TemporaryDirectory, bookings: Int, seed: UInt64 = 7,
    indexes: Bool = true, name: String? = nil
) throws -> TallyDatabase {
    let path = directory.path(name ?? "gen-\(bookings)-\(seed)-\(indexes).sqlite")
    let database = try TallyDatabase.openForWriting(path: path, withIndexes: indexes)
    _ = try DataGenerator(bookings: bookings, seed: seed).run(in: database.writer!)
    return database
}

/// The SQL statements a database's connections run, captured with
/// `db.trace` on every connection of a pool (as GRDB's own tests capture
/// theirs): what "one statement per table" and "N+1" are asserted on.
public final class SQLRecorder: Sendable {
    private let recorded = Locked<[String]>([])
    public let database: TallyDatabase

    /// A read-only pool on `path` whose connections report to this recorder.
    public init(path: String, metricsFactory: (any MetricsFactory)? = nil) throws {
        let recorded = recorded
        var configuration = Configuration()
        configuration.readonly = true
        configuration.prepareDatabase { db in
            db.trace { event in
                if case .statement(let statement) = event { recorded.withLock { $0.append(statement.sql) } }
            }
        }
        database = try TallyDatabase(DatabasePool(path: path, configuration: configuration), metricsFactory: metricsFactory)
        reset()  // what opening ran (the schema check) is not the test's
    }

    /// Statements that read table data: no transaction control, no pragma,
    /// no schema lookup.
    public var dataStatements: [String] {
        recorded.load().filter { sql in
            let upper = sql.uppercased()
            // `-- PRAGMA …` is SQLite's own SQL behind a pragma function.
            return !upper.hasPrefix("--") && !upper.hasPrefix("BEGIN") && !upper.hasPrefix("COMMIT") && !upper.hasPrefix("ROLLBACK")
                && !upper.hasPrefix("PRAGMA") && !upper.contains("SQLITE_MASTER") && !upper.contains("PRAGMA_")
                && !upper.contains("TALLY_CHANGES") && !upper.contains("TALLY_ROLLUP")
        }
    }

    public func reset() { recorded.withLock { $0 = [] } }
}

/// Counts calls, thread-safely.
public final class CallCounter: Sendable {
    public init() {}
    private let count = Locked(0)
    @discardableResult public func increment() -> Int {
        count.withLock {
            $0 += 1; return $0
        }
    }
    public var value: Int { count.load() }
}

/// A one-way flag shared between tasks.
public final class FlagBox: Sendable {
    public init() {}
    private let value = Locked(false)
    public var isSet: Bool { value.load() }
    public func set() { value.withLock { $0 = true } }
}

/// A gate tasks wait at until it is opened: deterministic ordering between
/// tasks without sleeping.
public final class Gate: Sendable {
    public init() {}
    private let state = Locked<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public func wait() async {
        await withCheckedContinuation { continuation in
            let openNow = state.withLock { s -> Bool in
                if s.open { return true }
                s.waiters.append(continuation)
                return false
            }
            if openNow { continuation.resume() }
        }
    }

    public func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Yields until `condition` holds: for states another task reaches without
/// any wall-clock bound (the condition is guaranteed to become true).
public func eventually(_ condition: () -> Bool) async {
    while !condition() { await Task.yield() }
}

/// A clock the test moves by hand.
public final class ManualClock: CacheClock, Sendable {
    public init() {}
    private let seconds = Locked(0.0)
    public func now() -> Double { seconds.load() }
    public func advance(_ delta: Double) { seconds.withLock { $0 += delta } }
}

public struct TestFailure: Error, Hashable {
    public let id: Int
    public init(id: Int) { self.id = id }
}

/// Runs a program to its end.
@discardableResult
public func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Runs code with the process's current directory set to another one (the
/// documentation examples name relative paths). One at a time; every other
/// test uses absolute paths.
public enum CurrentDirectory {
    private static let lock = AsyncLock()

    public static func with<T>(_ path: String, _ body: () async throws -> T) async throws -> T {
        await lock.acquire()
        let previous = FileManager.default.currentDirectoryPath
        guard FileManager.default.changeCurrentDirectoryPath(path) else {
            lock.release()
            throw TestFailure(id: 0)
        }
        defer {
            _ = FileManager.default.changeCurrentDirectoryPath(previous)
            lock.release()
        }
        return try await body()
    }
}

/// A lock that async code waits on without blocking a thread.
final class AsyncLock: Sendable {
    private let state = Locked<(held: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.held { s.waiters.append(continuation); return false }
                s.held = true
                return true
            }
            if resumeNow { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty { s.held = false; return nil }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}
