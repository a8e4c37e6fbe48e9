public import Foundation

/// The `tally` executable built beside the test bundle.
public enum TallyExecutable {
    public static let url: URL = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("tally")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return directory.appendingPathComponent("tally")
    }()
}

/// A `tally serve` on a free port (`--port 0`), its URL read from the
/// startup line it prints once listening.
public final class ServeProcess {
    public let process = ChildProcess()
    /// `http://host:port`, without a trailing slash.
    public let url: String

    /// - parameters:
    ///   - arguments: what follows `serve --port 0`.
    ///   - standardError: where its log goes (a `Pipe` to read it).
    public init(_ arguments: [String], standardError: Any? = FileHandle.nullDevice) throws {
        process.executableURL = TallyExecutable.url
        process.arguments = ["serve", "--port", "0"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = standardError
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let url = text.split(separator: " ").first(where: { $0.hasPrefix("http://") }) else {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            throw ChildProcessError("tally serve printed no URL: \(text)")
        }
        self.url = String(url)
    }

    /// A server on `db` logging only warnings and errors.
    public convenience init(db: String, arguments: [String] = []) throws {
        try self.init(["--db", db, "--log-level", "warning"] + arguments)
    }

    /// SIGTERM if it still runs, then waits for it to end.
    public func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
