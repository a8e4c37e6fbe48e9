import Foundation

/// The door every engine read passes, one per database: it bounds how long a
/// read waits for a free reader, and keeps busy readers from starving the
/// writer's checkpoints.
///
/// **Reader permits.** GRDB's pool makes a read wait for a free reader,
/// however long that takes. A server must not hang when every reader is
/// busy (a slow query, a burst): the gate holds one permit per pooled reader
/// and a read waits at most `timeout` for one, then fails with
/// `TallyError.Kind.busy` (HTTP 503). Waiting suspends the task (no thread
/// is blocked), and a cancelled task stops waiting at once.
///
/// **Checkpoint gaps.** In WAL mode a checkpoint can only copy frames that
/// no reader still needs, and the WAL restarts from its beginning only once
/// every reader has let go of it. Readers that overlap without pause (8
/// tasks computing dashboards back to back) therefore let the WAL grow
/// without bound while another process writes: a stress test saw 2 GB in
/// 8 s ("checkpoint starvation", sqlite.org/wal.html#avoiding_excessively_large_wal_files).
/// At most every `checkInterval` the gate looks at the `-wal` file's size;
/// past `walLimit` it stops admitting reads, lets the running ones finish,
/// and stays closed for `gap`, long enough for the writer's next commit to
/// checkpoint everything and restart the WAL.
final class ReadGate: Sendable {
    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Void, any Error>
        var timer: Task<Void, Never>?
    }

    private struct State {
        var available: Int
        var waiters: [Waiter] = []
        var nextID = 0
        var closed = false
        var lastWALCheck: ContinuousClock.Instant?
        var gapsTaken = 0
    }

    let capacity: Int
    let timeout: Duration
    let walPath: String?
    let walLimit: Int
    let gap: Duration
    let checkInterval: Duration
    private let state: Locked<State>

    init(
        capacity: Int, timeout: Duration, walPath: String?, walLimit: Int = 64 << 20,
        gap: Duration = .milliseconds(20), checkInterval: Duration = .milliseconds(50)
    ) {
        self.capacity = max(1, capacity)
        self.timeout = timeout
        self.walPath = walPath
        self.walLimit = walLimit
        self.gap = gap
        self.checkInterval = checkInterval
        state = Locked(State(available: max(1, capacity)))
    }

    /// Checkpoint gaps taken so far.
    var gapsTaken: Int { state.withLock { $0.gapsTaken } }

    /// Whether new reads wait for a checkpoint gap now.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Runs `body` holding one permit.
    ///
    /// - throws: `TallyError.Kind.busy` when no permit frees up within
    ///   `timeout`; `CancellationError` when the task is cancelled while waiting.
    func withPermit<T>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    /// Takes up to `n` more permits without waiting; returns how many.
    func tryAcquire(_ n: Int) -> Int {
        state.withLock { s in
            guard !s.closed, s.waiters.isEmpty else { return 0 }
            let taken = min(n, s.available)
            s.available -= taken
            return taken
        }
    }

    func acquire() async throws {
        checkWAL()
        let granted = state.withLock { s -> Bool in
            guard !s.closed, s.waiters.isEmpty, s.available > 0 else { return false }
            s.available -= 1
            return true
        }
        if granted { return }
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let grantedNow = state.withLock { s -> Bool in
                    if !s.closed, s.waiters.isEmpty, s.available > 0 {
                        s.available -= 1
                        return true
                    }
                    s.waiters.append(Waiter(id: id, continuation: continuation))
                    return false
                }
                if grantedNow {
                    continuation.resume()
                    return
                }
                let timeout = timeout, capacity = capacity
                let timer = Task { [weak self] in
                    do { try await Task.sleep(for: timeout) } catch { return }
                    self?.fail(
                        id,
                        TallyError(
                            .busy,
                            "all \(capacity) database readers stayed busy for "
                                + "\(timeout.formattedSeconds) (a slow query or too many requests: "
                                + "raise the reader pool size or the pool timeout)"))
                }
                let attached = state.withLock { s -> Bool in
                    guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return false }
                    s.waiters[i].timer = timer
                    return true
                }
                if !attached { timer.cancel() }
                if Task.isCancelled { fail(id, CancellationError()) }
            }
        } onCancel: {
            fail(id, CancellationError())
        }
    }

    /// Returns `n` permits, handing them to waiters first.
    func release(_ n: Int = 1) {
        var resumed: [Waiter] = []
        var startGap = false
        state.withLock { s in
            s.available += n
            if s.closed {
                startGap = s.available == capacity
                return
            }
            while s.available > 0, !s.waiters.isEmpty {
                s.available -= 1
                resumed.append(s.waiters.removeFirst())
            }
        }
        for waiter in resumed {
            waiter.timer?.cancel()
            waiter.continuation.resume()
        }
        if startGap { takeGap() }
    }

    private func fail(_ id: Int, _ error: any Error) {
        let waiter = state.withLock { s -> Waiter? in
            guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: i)
        }
        waiter?.timer?.cancel()
        waiter?.continuation.resume(throwing: error)
    }

    /// Closes the gate when the WAL has grown past its limit.
    private func checkWAL() {
        guard let walPath else { return }
        let now = ContinuousClock.now
        let due = state.withLock { s -> Bool in
            guard !s.closed else { return false }
            if let last = s.lastWALCheck, now - last < checkInterval { return false }
            s.lastWALCheck = now
            return true
        }
        guard due else { return }
        let size = (try? FileManager.default.attributesOfItem(atPath: walPath)[.size] as? Int) ?? 0
        guard size > walLimit else { return }
        let idle = state.withLock { s -> Bool in
            guard !s.closed else { return false }
            s.closed = true
            return s.available == capacity
        }
        if idle { takeGap() }
    }

    /// With every reader out, waits `gap` (the writer checkpoints meanwhile),
    /// then reopens and admits the waiting reads.
    private func takeGap() {
        let gap = gap
        Task { [self] in
            try? await Task.sleep(for: gap)
            var resumed: [Waiter] = []
            state.withLock { s in
                s.closed = false
                s.gapsTaken += 1
                while s.available > 0, !s.waiters.isEmpty {
                    s.available -= 1
                    resumed.append(s.waiters.removeFirst())
                }
            }
            for waiter in resumed {
                waiter.timer?.cancel()
                waiter.continuation.resume()
            }
        }
    }
}

extension Duration {
    /// `1.5 s`, `50 ms`.
    var formattedSeconds: String {
        let seconds = self / .seconds(1)
        return seconds >= 1 ? "\((seconds * 100).rounded() / 100) s" : "\((seconds * 1000).rounded()) ms"
    }
}
