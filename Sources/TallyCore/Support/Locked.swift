import Foundation

/// A value shared between threads, reachable only while its lock is held.
///
/// Shared mutable state lives in one of these (as in GRDB's `Mutex` and
/// NIO's `NIOLockedValueBox`), never in a class whose fields are guarded by
/// convention. For example:
///
/// ```swift
/// let hits = Locked(0)
/// hits.withLock { $0 += 1 }
/// ```
package final class Locked<Value> {
    private var value: Value
    private let lock = NSLock()

    package init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with exclusive access to the value.
    package func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    /// The current value (a copy).
    package func load() -> Value {
        withLock { $0 }
    }
}

extension Locked: @unchecked Sendable where Value: Sendable {}
