import Foundation
import Logging
import ServiceLifecycle
import TallyCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Notices when the database file `serve` opened is replaced by another file
/// at the same path (`mv new.sqlite tally.sqlite`, a deploy that swaps
/// files), and then stops the server with one clear error.
///
/// The open connections keep reading the *old* file's inode, which no longer
/// has a name: every answer after the swap would silently describe data
/// that is gone. Reopening under requests in flight would mix the two files
/// in one response stream, so the server stops instead (exit 1, after the
/// usual graceful shutdown) and a supervisor's restart serves the new file.
/// A file rewritten in place (same inode) is not a replacement: SQLite sees
/// those writes itself.
struct FileReplacementWatch: Service {
    struct Identity: Equatable {
        let device: UInt64
        let inode: UInt64
    }

    let path: String
    let initial: Identity
    let interval: Duration
    let logger: Logger

    init(path: String, interval: Duration = .seconds(1), logger: Logger) throws {
        self.path = path
        self.interval = interval
        self.logger = logger
        guard let identity = Self.identity(of: path) else {
            throw TallyError(.file, "cannot watch \(path): it does not exist", path: path)
        }
        initial = identity
    }

    /// The file's device and inode, or nil when nothing is at `path`.
    static func identity(of path: String) -> Identity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    func run() async throws {
        let replaced: Bool =
            await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: interval) } catch { return false }
                    if Self.identity(of: path) != initial { return true }
                }
                return false
            } ?? false
        guard replaced else { return }
        let message =
            Self.identity(of: path) == nil
            ? "\(path) was removed while serving it; stopping (the open file is no longer the one at that path)"
            : "\(path) was replaced by another file while serving it; stopping so that a restart serves the new file"
        logger.error("\(message)")
        throw TallyError(.state, message, path: path)
    }
}
