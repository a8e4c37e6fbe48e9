import ArgumentParser
import Foundation
import Logging
import TallyCore

/// The `tally` command.
///
/// Exit statuses (contract §3): 0 success, 1 runtime failure, 2 bad usage.
/// swift-argument-parser exits 64 (`EX_USAGE`) on Linux for validation
/// errors; `main()` maps that to 2 and prints one line, not a usage dump.
@main
struct Tally: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally",
        abstract: "An embedded analytics engine over a local SQLite file.",
        version: TallyVersion.current,
        subcommands: [
            Demo.self, Init.self, Generate.self, Indexes.self,
            DashboardCommand.self, RevenueCommand.self, ModulesCommand.self, Explain.self, Bench.self, Serve.self, Report.self,
        ])

    static func main() async {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            // A server logs one line per request at info; one-shot commands only warnings.
            let serving = CommandLine.arguments.dropFirst().first == "serve"
            handler.logLevel = ProcessInfo.processInfo.environment["TALLY_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
                ?? (serving ? .info : .warning)
            return handler
        }
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            fail(message(for: error), status: 2)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var command = command
                try command.run()
            }
        } catch let error as TallyError {
            fail(error.message, status: error.kind == .invalidInput ? 2 : 1)
        } catch let error as ValidationError {
            fail(error.message, status: 2)
        } catch {
            let code = exitCode(for: error)
            if code == .success { Foundation.exit(0) }
            fail(message(for: error), status: code == .validationFailure ? 2 : 1)
        }
    }

    /// Prints one line to stderr and exits.
    static func fail(_ message: String, status: Int32) -> Never {
        var line = message.split(whereSeparator: \.isNewline).first.map(String.init) ?? "failed"
        // A pasted 10 kB value must not become a 10 kB error line.
        line = line.split(separator: " ", omittingEmptySubsequences: false)
            .map { $0.count > 200 ? $0.prefix(60) + "…" : $0 }
            .joined(separator: " ")
        FileHandle.standardError.write(Data("error: \(line)\n".utf8))
        Foundation.exit(status)
    }
}

enum TallyVersion {
    static let current = "0.1.0"
}
