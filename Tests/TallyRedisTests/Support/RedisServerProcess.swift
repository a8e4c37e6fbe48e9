import Foundation
import NIOConcurrencyHelpers
import TallyRedis
import TallyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real `redis-server` on a loopback port, started for tests and stopped
/// with SIGTERM (or killed) by them.
///
/// No persistence (`--save ''`, `--appendonly no`), so a restart starts
/// empty and nothing is written to the working directory. Readiness is read
/// from the server's own log line ("Ready to accept connections"), then
/// confirmed with PING: no sleeping and hoping.
final class RedisServerProcess: Sendable {
    static let executable = "/usr/bin/redis-server"
    /// Whether the tests that need a server can run here.
    static let isInstalled = FileManager.default.isExecutableFile(atPath: executable)
    /// CI must run them: there a missing server fails the tests instead of
    /// skipping them.
    static let isRequired = ProcessInfo.processInfo.environment["CI"] != nil
    static let shouldRun = isInstalled || isRequired

    /// The server of the enclosing `.redisServer` suite.
    @TaskLocal static var current: RedisServerProcess?

    let port: Int
    let password: String?
    private let process: ChildProcess
    /// What the server printed, for a failure's message.
    private let output: NIOLockedValueBox<String>

    private init(port: Int, password: String?, process: ChildProcess, output: NIOLockedValueBox<String>) {
        self.port = port
        self.password = password
        self.process = process
        self.output = output
    }

    /// The URL a client uses to reach this server.
    var url: String {
        if let password { "redis://:\(password)@127.0.0.1:\(port)" } else { "redis://127.0.0.1:\(port)" }
    }

    /// A configuration for this server. The timeouts are long: these
    /// tests check results, not speed, and when the whole package's tests
    /// run at once on two cores, 500 tasks taking turns on 4 connections
    /// have been seen to wait more than 10 s.
    func configuration(
        maximumConnections: Int = 4, commandTimeout: Duration = .seconds(60), poolTimeout: Duration = .seconds(300)
    ) throws -> RedisConfiguration {
        try RedisConfiguration(
            url: url, maximumConnections: maximumConnections, commandTimeout: commandTimeout, poolTimeout: poolTimeout)
    }

    /// Starts a server on `port`, or on a free port when nil (trying a few:
    /// another process may take the port between our check and the
    /// server's bind).
    static func start(port: Int? = nil, password: String? = nil) async throws -> RedisServerProcess {
        guard isInstalled else {
            throw RedisTestError("\(executable) is missing: install it with `apt-get install -y redis-server`.")
        }
        var failures: [String] = []
        for _ in 0..<(port == nil ? 5 : 1) {
            let chosen = try port ?? freeLoopbackPort()
            do {
                return try await launch(port: chosen, password: password)
            } catch {
                failures.append("port \(chosen): \(error)")
            }
        }
        throw RedisTestError("redis-server did not start: " + failures.joined(separator: "; "))
    }

    private static func launch(port: Int, password: String?) async throws -> RedisServerProcess {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        var arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--loglevel", "notice", "--dir", NSTemporaryDirectory(),
        ]
        if let password { arguments += ["--requirepass", password] }
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()

        // A thread reads the log for as long as the server runs (a full
        // pipe would block it) and reports the ready line, or the end of
        // the output if the server exits first.
        let output = NIOLockedValueBox("")
        let ready: Bool = await withCheckedContinuation { continuation in
            let reader = pipe.fileHandleForReading
            let thread = Thread {
                var reported = false
                while true {
                    let data = reader.availableData
                    if data.isEmpty { break }
                    let text = String(decoding: data, as: UTF8.self)
                    let all = output.withLockedValue {
                        $0 += text; return $0
                    }
                    if !reported, all.contains("Ready to accept connections") {
                        reported = true
                        continuation.resume(returning: true)
                    }
                }
                if !reported { continuation.resume(returning: false) }
            }
            thread.start()
        }
        let server = RedisServerProcess(port: port, password: password, process: process, output: output)
        guard ready else {
            process.waitUntilExit()
            throw RedisTestError("redis-server exited: \(output.withLockedValue { $0 })")
        }
        // The log line is written once the port listens; PING proves it.
        let connection = try await RedisConnection.connect(to: try server.configuration())
        try await connection.ping()
        await connection.close()
        return server
    }

    /// Stops the server with SIGTERM and waits for it to exit.
    func stop() {
        process.terminate()
        process.waitUntilExit()
    }

    /// Kills the server with SIGKILL (no goodbye to clients) and waits.
    func kill() {
        process.send(SIGKILL)
        process.waitUntilExit()
    }

    var log: String { output.withLockedValue { $0 } }

    /// A port no one listens on now: bind 127.0.0.1:0, read the port the
    /// kernel chose, close. (`redis-server --port 0` means "no TCP".)
    static func freeLoopbackPort() throws -> Int {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw RedisTestError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw RedisTestError("bind() failed: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw RedisTestError("getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Runs a suite with one `redis-server` of its own, started before its
/// first test and stopped (SIGTERM, wait) after its last; tests reach it as
/// `RedisServerProcess.current`.
struct RedisServerTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        try await RedisServerProcess.$current.withValue(server) {
            try await function()
        }
    }
}

extension Trait where Self == RedisServerTrait {
    /// A `redis-server` for the whole suite.
    static var redisServer: Self { Self() }
}

struct RedisTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
