import Foundation
import Testing

/// `tally --help` and every command's help, as a user reads them on an
/// 80-column terminal (what swift-argument-parser wraps to when stdout is
/// not a terminal): examples that can be copied whole, tables that keep
/// their columns.
@Suite("tally help")
struct HelpTests {
    /// Every subcommand the top-level help lists.
    static func subcommands() throws -> [String] {
        let help = try CLITests.run(["--help"])
        #expect(help.status == 0)
        let lines = help.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("SUBCOMMANDS:") }) else { return [] }
        return lines[(start + 1)...].compactMap { line -> String? in
            // A subcommand's line is indented by two spaces; its wrapped abstract by more.
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
            return line.split(separator: " ").first.map(String.init)
        }
    }

    /// The text a command's help prints before its usage line: the overview
    /// and the discussion, which the commands write themselves.
    static func prose(of arguments: [String]) throws -> [Substring] {
        let help = try CLITests.run(arguments + ["--help"])
        #expect(help.status == 0, "\(arguments) --help exited \(help.status)")
        let lines = help.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return Array(lines.prefix { !$0.hasPrefix("USAGE:") })
    }

    /// The ways a discussion written without the 80 columns in mind comes
    /// out: a line of an indented block (an example, a table) wrapped back to
    /// column 0, or a run of spaces left inside a sentence by a broken line
    /// continuation.
    static func problems(in lines: [Substring]) -> [String] {
        var problems: [String] = []
        for (previous, line) in zip(lines, lines.dropFirst()) where !line.isEmpty {
            if previous.hasPrefix("  "), !line.hasPrefix(" ") {
                problems.append("wrapped out of its indented block: \"\(previous)\" / \"\(line)\"")
            }
        }
        for line in lines {
            let text = line.drop { $0 == " " }
            if text.contains("     ") { problems.append("a run of spaces inside a line: \"\(line)\"") }
        }
        return problems
    }

    @Test("the checks catch what they look for")
    func checksCatchProblems() {
        #expect(Self.problems(in: ["Examples:", "  tally revenue --from", "2025-01-01", ""]).count == 1)
        #expect(Self.problems(in: ["is refused             (exit 1)"]).count == 1)
        #expect(Self.problems(in: ["Examples:", "  tally a \\", "    --b", "", "Prose."]).isEmpty)
    }

    @Test("every command's help fits 80 columns: no example or table row wrapped, no stray spaces")
    func everyCommandsHelpReads() throws {
        let commands = try Self.subcommands()
        #expect(commands.count >= 13, "\(commands)")
        for arguments in [[]] + commands.map({ [$0] }) + [["schema-map", "guess"], ["rollups", "verify"]] {
            let problems = Self.problems(in: try Self.prose(of: arguments))
            #expect(problems.isEmpty, "tally \(arguments.joined(separator: " ")) --help: \(problems)")
        }
    }
}
