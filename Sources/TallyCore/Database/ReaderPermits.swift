import Foundation

/// Bounds how long an engine read waits for a free pooled reader.
///
/// GRDB's pool blocks a read until a reader is free, however long that takes.
/// A server must not hang when every reader is busy (a slow query, a burst):
/// the engine holds one permit per pooled reader and waits at most
/// `timeout` for one, then fails with a clear error. Reads made through the
/// engine (`TallyEngine.read`, every answer) are bounded; reads made directly
/// on the pool by a host application are not counted.
final class ReaderPermits: @unchecked Sendable {
    let count: Int
    let timeout: TimeInterval
    private let semaphore: DispatchSemaphore

    init(count: Int, timeout: TimeInterval) {
        self.count = max(1, count)
        self.timeout = timeout
        semaphore = DispatchSemaphore(value: self.count)
    }

    /// Runs `body` holding one permit; throws if none frees up in time.
    func withPermit<T>(_ body: () throws -> T) throws -> T {
        guard semaphore.wait(timeout: .now() + timeout) == .success else {
            throw TallyError(.database, "all \(count) database readers are busy; gave up after \(timeout) s "
                             + "(a slow query or too many requests: raise the reader pool size or the pool timeout)")
        }
        defer { semaphore.signal() }
        return try body()
    }

    /// Takes up to `n` more permits without waiting; returns how many.
    func tryAcquire(_ n: Int) -> Int {
        var taken = 0
        while taken < n, semaphore.wait(timeout: .now()) == .success { taken += 1 }
        return taken
    }

    func release(_ n: Int) {
        for _ in 0..<n { semaphore.signal() }
    }
}
