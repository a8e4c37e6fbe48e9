public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with `posix_spawn`, with the subset of
/// Foundation's `Process` API the tests use (same names, so a test reads the
/// same either way).
///
/// Why not `Process`: on Linux, swift-corelibs-foundation's `Process.run()`
/// lists `/proc/self/fd` to close inherited descriptors, and copies each
/// entry's name with a fixed 256-byte `memcpy` that reads past the end of its
/// `readdir` buffer once the process has about 1,350 descriptors open. The
/// test process does, when Swift Testing runs many database tests at once
/// (every pooled SQLite connection holds the file and its `-wal`), and then
/// dies with SIGSEGV (found with AddressSanitizer:
/// `findMaximumOpenFromProcSelfFD`, heap-buffer-overflow). Here the child
/// closes every descriptor above 2 with glibc's
/// `posix_spawn_file_actions_addclosefrom_np`, without listing any.
public final class ChildProcess: @unchecked Sendable {
    /// How a child's process ended.
    public enum TerminationReason: Sendable, Equatable {
        case exit
        case uncaughtSignal
    }

    public var executableURL: URL?
    public var arguments: [String] = []
    /// The child's environment; nil inherits this process's.
    public var environment: [String: String]?
    /// The child's working directory. Nil is the temporary directory, not
    /// this process's: the documentation tests move this process into a
    /// directory of their own for a moment (`CurrentDirectory.with`) and
    /// remove it afterwards, and a child started meanwhile by a concurrent
    /// test would otherwise start in it (pyenv's `python3` shim then fails
    /// with "cannot change working directory").
    public var currentDirectoryURL: URL?
    /// A `Pipe`, a `FileHandle` (`FileHandle.nullDevice` for /dev/null), or
    /// nil to share this process's.
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?

    private let lock = NSLock()
    private var pid: pid_t = 0
    /// The raw `waitpid` status, once reaped.
    private var status: Int32?

    public init() {}

    public var processIdentifier: Int32 { lock.withLock { pid } }

    /// Starts the child. Throws when it cannot be spawned.
    public func run() throws {
        guard let executableURL else { throw ChildProcessError("no executable") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentEndsToClose: [FileHandle] = []
        for (target, stream, isInput) in [(Int32(0), standardInput, true), (1, standardOutput, false), (2, standardError, false)] {
            switch stream {
            case let pipe as Pipe:
                let childEnd = isInput ? pipe.fileHandleForReading : pipe.fileHandleForWriting
                posix_spawn_file_actions_adddup2(&actions, childEnd.fileDescriptor, target)
                parentEndsToClose.append(childEnd)
            case let handle as FileHandle where handle === FileHandle.nullDevice || handle.fileDescriptor < 0:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", isInput ? O_RDONLY : O_WRONLY, 0)
            case let handle as FileHandle:
                posix_spawn_file_actions_adddup2(&actions, handle.fileDescriptor, target)
            default:
                break  // inherited
            }
        }
        Self.addCloseFrom(&actions, 3)
        try Self.addChdir(&actions, (currentDirectoryURL ?? FileManager.default.temporaryDirectory).path)

        // The child starts with no blocked signal and every signal at its
        // default action, whatever this process's threads have set.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let path = executableURL.path
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { variables.forEach { free($0) } }
        var child: pid_t = 0
        let code = posix_spawn(&child, path, &actions, &attributes, argv, variables)
        guard code == 0 else { throw ChildProcessError("cannot start \(path): \(String(cString: strerror(code)))") }
        lock.withLock { pid = child }
        // The child holds its own copies now; the parent's would keep a
        // reader of the pipe from ever seeing its end.
        for handle in parentEndsToClose { try? handle.close() }
    }

    /// Whether the child has not ended yet (reaping it if it has).
    public var isRunning: Bool {
        lock.withLock {
            guard pid > 0, status == nil else { return false }
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            return status == nil
        }
    }

    /// Blocks until the child ends.
    public func waitUntilExit() {
        let child = lock.withLock { status == nil ? pid : 0 }
        guard child > 0 else { return }
        var raw: Int32 = 0
        while waitpid(child, &raw, 0) == -1 && errno == EINTR {}
        lock.withLock { if status == nil { status = raw } }
    }

    /// The exit code, or the signal's number when a signal ended it (as `Process`).
    public var terminationStatus: Int32 {
        let raw = lock.withLock { status } ?? 0
        return Self.signalled(raw) ? raw & 0x7f : (raw >> 8) & 0xff
    }

    public var terminationReason: TerminationReason {
        Self.signalled(lock.withLock { status } ?? 0) ? .uncaughtSignal : .exit
    }

    /// Sends SIGTERM.
    public func terminate() { send(SIGTERM) }

    /// Sends SIGINT, as Ctrl-C.
    public func interrupt() { send(SIGINT) }

    /// Sends `signal` to a child that has not been reaped.
    public func send(_ signal: Int32) {
        lock.withLock {
            if pid > 0, status == nil { _ = kill(pid, signal) }
        }
    }

    private static func signalled(_ raw: Int32) -> Bool {
        (raw & 0x7f) != 0 && (raw & 0x7f) != 0x7f
    }

    /// `posix_spawn_file_actions_addchdir_np` (glibc 2.29+), looked up at run
    /// time like `addCloseFrom`.
    private static func addChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) throws {
        typealias Chdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else {
            throw ChildProcessError("this C library cannot set a child's working directory (glibc 2.29+ needed)")
        }
        let code = path.withCString { unsafeBitCast(symbol, to: Chdir.self)(actions, $0) }
        guard code == 0 else { throw ChildProcessError("cannot start in \(path): \(String(cString: strerror(code)))") }
        #endif
    }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+), looked up at
    /// run time because the Glibc module does not import it. Without it the
    /// child inherits descriptors, which only delays other tests' pipe ends.
    private static func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        #if canImport(Glibc)
        // RTLD_DEFAULT is a null handle in glibc.
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(actions, lowest)
        #endif
    }
}

/// Why a child process could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
