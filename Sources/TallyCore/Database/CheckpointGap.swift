import Foundation

/// Keeps a busy reader from starving the writer's checkpoints.
///
/// In WAL mode a checkpoint can only copy frames that no reader still
/// needs, and the WAL file restarts from its beginning only once every
/// reader has let go of it. Readers that overlap without pause (8 tasks
/// computing dashboards back to back) therefore let the WAL grow without
/// bound while another process writes: the stress test saw 2 GB in 8 s.
/// ("Checkpoint starvation", sqlite.org/wal.html#avoiding_excessively_large_wal_files.)
///
/// Every engine read passes this gate. At most every `checkInterval`, the
/// first reader through looks at the `-wal` file's size; past `limit`, the
/// gate closes to new reads, waits for the running ones to finish, and
/// stays closed for `gap`, long enough for the writer's next commit to
/// checkpoint everything and restart the WAL. Reads wait at most `gap` plus
/// the longest running read; nothing else changes.
final class CheckpointGap: @unchecked Sendable {
    let walPath: String
    let limit: Int
    let gap: TimeInterval
    let checkInterval: TimeInterval

    private let condition = NSCondition()
    private var readers = 0
    private var closed = false
    private var lastCheck = Date.distantPast
    private(set) var gapsTaken = 0

    init(databasePath: String, limit: Int = 64 * 1024 * 1024, gap: TimeInterval = 0.02, checkInterval: TimeInterval = 0.05) {
        walPath = databasePath + "-wal"
        self.limit = limit
        self.gap = gap
        self.checkInterval = checkInterval
    }

    /// Runs `body` as a reader, after a gap if the WAL has grown too large.
    func read<T>(_ body: () throws -> T) rethrows -> T {
        if shouldTakeGap() { takeGap() }
        condition.lock()
        while closed { condition.wait() }
        readers += 1
        condition.unlock()
        defer {
            condition.lock()
            readers -= 1
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }

    private func shouldTakeGap() -> Bool {
        condition.lock()
        let now = Date()
        guard !closed, now.timeIntervalSince(lastCheck) >= checkInterval else {
            condition.unlock()
            return false
        }
        lastCheck = now
        condition.unlock()
        let size = (try? FileManager.default.attributesOfItem(atPath: walPath)[.size] as? Int) ?? 0
        return size > limit
    }

    private func takeGap() {
        condition.lock()
        guard !closed else { condition.unlock(); return }
        closed = true
        while readers > 0 { condition.wait() }
        gapsTaken += 1
        condition.unlock()
        Thread.sleep(forTimeInterval: gap)
        condition.lock()
        closed = false
        condition.broadcast()
        condition.unlock()
    }
}
