import Foundation
package import GRDB

/// Runs work on several pooled connections at once, inside read transactions
/// that all see the same snapshot.
///
/// SQLite on Linux is built without `SQLITE_ENABLE_SNAPSHOT`, so read
/// transactions on two connections cannot be pinned to one snapshot by API.
/// They can be *checked* to share one, with `PRAGMA data_version`:
///
/// > The integer values returned by two invocations of "PRAGMA data_version"
/// > from the same connection will be different if changes were committed to
/// > the database by any other connection in the interim.
/// > (sqlite.org/pragma.html#pragma_data_version)
///
/// Each lane reads `data_version` outside a transaction, waits for every
/// lane to do the same, then begins a transaction whose first statement reads
/// `data_version` again (which acquires the snapshot). If no lane saw its
/// value change, no commit happened between the first barrier and the last
/// snapshot, so every lane reads the same snapshot. Otherwise the lanes give
/// up and the caller retries or falls back to one connection.
package enum SnapshotFanOut {
    /// One lane's work, run inside its snapshot-aligned transaction.
    package typealias Lane<T> = @Sendable (Database) throws -> T

    /// How long a lane waits for the others to reach a barrier before the
    /// fan-out gives up (a busy pool that cannot lend enough readers).
    static let barrierTimeout: TimeInterval = 0.5

    /// Runs `lanes` concurrently, one pooled reader each.
    ///
    /// - returns: the lanes' results in order, or nil when the lanes could not
    ///   share a snapshot (a commit in between, or not enough free readers).
    ///
    /// - parameter betweenBarriers: tests only: runs on lane 0 after the first
    ///   barrier, before its transaction begins (where a commit must be caught).
    package static func run<T: Sendable>(
        _ pool: DatabasePool, lanes: [Lane<T>],
        betweenBarriers: (@Sendable () -> Void)? = nil
    ) throws -> [T]? {
        precondition(!lanes.isEmpty, "a fan-out needs at least one lane")
        let width = lanes.count
        let state = FanOutState<T>(width: width)
        // One thread per lane (lane 0 on the caller's): the lanes wait for
        // each other at barriers, so they must truly run at once, which a
        // thread pool such as `concurrentPerform` does not promise.
        let done = DispatchGroup()
        let body: @Sendable (Int) -> Void = { lane in
            do {
                let value = try pool.unsafeRead { db -> T? in
                    let before = try Int.fetchOne(db, sql: "PRAGMA data_version")!
                    guard state.arrive(phase: 0) else { return nil }
                    if lane == 0 { betweenBarriers?() }
                    try db.execute(sql: "BEGIN DEFERRED TRANSACTION")
                    defer { try? db.execute(sql: "COMMIT") }
                    // The transaction's first statement acquires its snapshot.
                    let inside = try Int.fetchOne(db, sql: "PRAGMA data_version")!
                    if inside != before { state.markInconsistent() }
                    guard state.arrive(phase: 1), state.isConsistent else { return nil }
                    return try lanes[lane](db)
                }
                state.finish(lane, .success(value))
            } catch {
                state.abandon()
                state.finish(lane, .failure(error))
            }
        }
        for lane in 1..<max(1, width) {
            done.enter()
            let thread = Thread {
                body(lane)
                done.leave()
            }
            thread.name = "tally.fan-out.\(lane)"
            thread.start()
        }
        body(0)
        done.wait()
        return try state.results()
    }
}

/// Barriers and results shared by the lanes of one fan-out. Every field is
/// read and written under `condition`'s lock (a condition variable, not a
/// `Locked`, because lanes wait on it at the barriers).
private final class FanOutState<T: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private let width: Int
    private var arrived = [0, 0]
    private var consistent = true
    private var abandoned = false
    private var outcomes: [Result<T?, any Error>?]

    init(width: Int) {
        self.width = width
        outcomes = Array(repeating: nil, count: width)
    }

    /// Waits until every lane reached `phase`; false on timeout or abandonment.
    func arrive(phase: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        arrived[phase] += 1
        condition.broadcast()
        let deadline = Date().addingTimeInterval(SnapshotFanOut.barrierTimeout)
        while arrived[phase] < width && !abandoned {
            if !condition.wait(until: deadline) {
                abandoned = true
                condition.broadcast()
            }
        }
        return !abandoned
    }

    func markInconsistent() {
        condition.lock()
        consistent = false
        condition.unlock()
    }

    var isConsistent: Bool {
        condition.lock()
        defer { condition.unlock() }
        return consistent
    }

    func abandon() {
        condition.lock()
        abandoned = true
        condition.broadcast()
        condition.unlock()
    }

    func finish(_ lane: Int, _ outcome: Result<T?, any Error>) {
        condition.lock()
        outcomes[lane] = outcome
        condition.unlock()
    }

    /// The lanes' values, nil if any lane gave up; rethrows a lane's error.
    func results() throws -> [T]? {
        condition.lock()
        defer { condition.unlock() }
        var values: [T] = []
        for outcome in outcomes {
            switch outcome {
            case .success(let value?)?: values.append(value)
            case .failure(let error)?: throw error
            default: return nil
            }
        }
        return values
    }
}
