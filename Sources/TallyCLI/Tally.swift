import ArgumentParser
import Foundation
import Logging
import TallyCore

/// The `tally` command.
///
/// Exit statuses (contract §3): 0 success, 1 runtime failure or state error,
/// 2 bad usage. swift-argument-parser exits 64 (`EX_USAGE`) on Linux for
/// validation errors; `main()` maps that to 2 and prints one line, not a
/// usage dump.
@main
struct Tally: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally",
        abstract: "An embedded analytics engine over a local SQLite file.",
        discussion: """
            Start with `tally demo`: it creates ./tally-demo.sqlite (1M bookings) once and prints the \
            dashboard and monthly revenue. Every other command takes --db PATH; `tally COMMAND --help` \
            documents each.

            Examples:
              tally init --db shop.sqlite
              tally generate --db shop.sqlite --bookings 100000
              tally dashboard --db shop.sqlite --format json
              tally revenue --db shop.sqlite --period month --tz Europe/Paris \\
                --from 2025-01-01 --to 2026-01-01
              tally serve --db shop.sqlite --port 8080
            """,
        version: TallyVersion.current,
        subcommands: [
            Demo.self, Init.self, Generate.self, Indexes.self, RollupsCommand.self,
            DashboardCommand.self, RevenueCommand.self, ModulesCommand.self,
            Explain.self, Bench.self, Serve.self, Report.self, SchemaMapCommand.self,
        ])

    /// Bare `tally`: the short usage.
    func run() async throws {
        print(Self.helpMessage())
    }

    static func main() async {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = LogSettings.level.load()
            return handler
        }
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success { cleanExit(error) }
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
            // `--help` and `--version` arrive here: argument-parser answers
            // them with a command whose `run()` throws a clean exit.
            let code = exitCode(for: error)
            if code == .success { cleanExit(error) }
            fail(message(for: error), status: code == .validationFailure ? 2 : 1)
        }
    }

    /// Prints the help or version text on stdout and exits 0.
    static func cleanExit(_ error: any Error) -> Never {
        let text = fullMessage(for: error)
        if !text.isEmpty { FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8)) }
        Foundation.exit(0)
    }

    /// Prints one line to stderr and exits.
    static func fail(_ message: String, status: Int32) -> Never {
        // A message of several lines (argument-parser lists a long enum's
        // values as "- trace" lines) becomes one: prose, then the items.
        let lines = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let items = lines.filter { $0.hasPrefix("- ") }.map { String($0.dropFirst(2)) }
        var line = lines.filter { !$0.hasPrefix("- ") }.joined(separator: " ") + (items.isEmpty ? "" : " " + items.joined(separator: ", "))
        if line.isEmpty { line = "failed" }
        // A pasted 10 kB value must not become a 10 kB error line.
        line = line.split(separator: " ", omittingEmptySubsequences: false)
            .map { $0.count > 200 ? $0.prefix(60) + "…" : $0 }
            .joined(separator: " ")
        FileHandle.standardError.write(Data("error: \(line)\n".utf8))
        Foundation.exit(status)
    }
}

enum TallyVersion {
    static let current = "0.2.0"
}

/// The log level handlers get when they are created: set from the command
/// line before any logger is made.
enum LogSettings {
    static let level = Locked(Logger.Level.warning)
}
