import Foundation

/// Runs blocking work on a thread of its own, off Swift's cooperative pool
/// (whose few threads must never wait on locks or barriers), and resumes
/// the caller with its result.
package func runOnThread<T: Sendable>(named name: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.name = name
        thread.start()
    }
}
