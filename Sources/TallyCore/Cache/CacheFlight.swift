/// One load in progress, shared by every request for its key (single-flight).
///
/// Each request waits on its own continuation, so that a cancelled request
/// (a client that disconnected) stops waiting at once. When the last waiter
/// of a foreground load leaves, the load itself is cancelled: nobody wants
/// its answer, and its database work is interrupted. A background refresh
/// (stale-while-revalidate) has no waiters and runs to its end.
final class CacheFlight: Sendable {
    typealias Outcome = Result<StatsCache.Loaded, any Error>

    private struct State {
        var waiters: [Int: CheckedContinuation<StatsCache.Loaded, any Error>] = [:]
        var nextWaiter = 0
        var outcome: Outcome?
        var task: Task<Void, Never>?
        var abandoned = false
    }

    /// The cache epochs of the flight's tables when it started: a request
    /// joins it only while they are unchanged (no commit detected since).
    let epochs: [UInt64]
    let background: Bool
    private let state = Locked(State())
    /// Called once when the last waiter of a foreground load leaves.
    private let onAbandon: @Sendable (CacheFlight) -> Void

    init(epochs: [UInt64], background: Bool, onAbandon: @escaping @Sendable (CacheFlight) -> Void) {
        self.epochs = epochs
        self.background = background
        self.onAbandon = onAbandon
    }

    var isAbandoned: Bool { state.withLock { $0.abandoned } }

    /// Requests waiting now.
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// Waits until the load has ended (for tests and shutdown).
    func finished() async {
        await state.withLock { $0.task }?.value
    }

    /// Starts the load in its own task (not a child of any request, so that
    /// one request's cancellation does not end it for the others).
    func start(_ load: @escaping @Sendable () async -> Outcome) {
        let task = Task.detached { [self] in
            complete(await load())
        }
        state.withLock { $0.task = task }
    }

    /// Waits for the load's outcome; throws `CancellationError` at once when
    /// the waiting task is cancelled.
    func wait() async throws -> StatsCache.Loaded {
        let id = state.withLock { s -> Int in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let outcome = state.withLock { s -> Outcome? in
                    if let outcome = s.outcome { return outcome }
                    s.waiters[id] = continuation
                    return nil
                }
                if let outcome { continuation.resume(with: outcome); return }
                if Task.isCancelled { leave(id) }
            }
        } onCancel: {
            leave(id)
        }
    }

    /// A waiter gives up: resume it with `CancellationError`; cancel the load
    /// when it was the last one.
    private func leave(_ id: Int) {
        let (continuation, abandon, task) = state.withLock { s -> (CheckedContinuation<StatsCache.Loaded, any Error>?, Bool, Task<Void, Never>?) in
            guard let continuation = s.waiters.removeValue(forKey: id) else { return (nil, false, nil) }
            let abandon = s.waiters.isEmpty && s.outcome == nil && !background && !s.abandoned
            if abandon { s.abandoned = true }
            return (continuation, abandon, abandon ? s.task : nil)
        }
        continuation?.resume(throwing: CancellationError())
        if abandon {
            task?.cancel()
            onAbandon(self)
        }
    }

    private func complete(_ outcome: Outcome) {
        let waiters = state.withLock { s -> [CheckedContinuation<StatsCache.Loaded, any Error>] in
            s.outcome = outcome
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume(with: outcome) }
    }
}
