import Foundation

/// Removes a directory and exits when SIGINT or SIGTERM arrives (the
/// conventional 128 + signal status), so that an interrupted run leaves no
/// temporary copies behind.
///
/// The handlers are installed with `signal()`, which takes effect before it
/// returns: a signal that arrives as soon as the caller goes on is not lost
/// (a `DispatchSource` registers its handler later, on Linux after `resume()`
/// returns, and a signal ignored meanwhile was dropped). The C handler only
/// writes the signal's number to a pipe, which is all a handler may safely
/// do; a thread reading the pipe removes the directory and exits.
/// (`@unchecked`: `interrupted` is behind `lock`.)
final class RemoveOnSignal: @unchecked Sendable {
    /// The pipe's write end, for the C handler (which can capture nothing).
    nonisolated(unsafe) private static var writeEnd: Int32 = -1

    private let lock = NSLock()
    private var interrupted = false
    private let readEnd: Int32
    private let ownWriteEnd: Int32

    init(_ directory: URL) {
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) != 0 { ends = [-1, -1] }
        readEnd = ends[0]
        ownWriteEnd = ends[1]
        Self.writeEnd = ends[1]
        let readEnd = readEnd
        let thread = Thread { [self] in
            var number: UInt8 = 0
            // 0 bytes: `cancel()` closed the pipe, the run ended normally.
            guard readEnd >= 0, read(readEnd, &number, 1) == 1 else {
                if readEnd >= 0 { close(readEnd) }
                return
            }
            lock.withLock { interrupted = true }
            // SQLite may still create a side file (-wal, -shm) in there
            // while the measurement runs: remove until it is gone.
            for _ in 0..<50 where FileManager.default.fileExists(atPath: directory.path) {
                try? FileManager.default.removeItem(at: directory)
                if FileManager.default.fileExists(atPath: directory.path) { usleep(10_000) }
            }
            FileHandle.standardError.write(Data("interrupted: removed \(directory.path)\n".utf8))
            exit(128 + Int32(number))
        }
        thread.start()
        for signalNumber in [SIGINT, SIGTERM] {
            _ = signal(signalNumber) { received in
                var number = UInt8(truncatingIfNeeded: received)
                _ = write(RemoveOnSignal.writeEnd, &number, 1)
            }
        }
    }

    /// When a signal arrived, waits for its handler to exit the process
    /// (with 128 + signal, once the copies are gone); returns otherwise.
    func holdIfInterrupted() {
        while lock.withLock({ interrupted }) { usleep(100_000) }
    }

    /// Restores the default handlers and ends the reading thread.
    func cancel() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        if ownWriteEnd >= 0 { close(ownWriteEnd) }
    }
}
