import Foundation
import TallyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The tests' process launcher: Foundation's `Process.run()` crashed the test
/// process once it held about 1,350 descriptors (see `ChildProcess`).
@Suite("child processes")
struct ChildProcessTests {
    @Test("a child starts while this process holds 2,000 more descriptors, and inherits none of them")
    func manyDescriptors() throws {
        let held = (0..<2_000).map { _ in open("/dev/null", O_RDONLY) }
        defer { held.forEach { close($0) } }
        #expect(held.allSatisfy { $0 >= 0 })
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The shell's own descriptors: 0, 1, 2 and the one `ls` lists with.
        child.arguments = ["-c", "ls /proc/self/fd | wc -l"]
        let out = Pipe()
        child.standardOutput = out
        try child.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        #expect(child.terminationStatus == 0)
        #expect(child.terminationReason == .exit)
        let count = try #require(Int(output.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(count <= 5, "the child inherited \(count) descriptors")
    }

    @Test("a child starts in the temporary directory or the one given, never wherever this process was moved")
    func workingDirectory() async throws {
        func pwd(_ directory: URL?) throws -> String {
            let child = ChildProcess()
            child.executableURL = URL(fileURLWithPath: "/bin/sh")
            child.arguments = ["-c", "pwd -P"]
            child.currentDirectoryURL = directory
            let out = Pipe()
            child.standardOutput = out
            try child.run()
            let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            child.waitUntilExit()
            return output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let moved = try TemporaryDirectory(), given = try TemporaryDirectory()
        let started = try await CurrentDirectory.with(moved.path("")) { try pwd(nil) }
        #expect(started == FileManager.default.temporaryDirectory.resolvingSymlinksInPath().path)
        #expect(try pwd(URL(fileURLWithPath: given.path(""))) == URL(fileURLWithPath: given.path("")).resolvingSymlinksInPath().path)
    }

    @Test("exit codes and signals are reported as Process reports them")
    func statuses() throws {
        let exiting = ChildProcess()
        exiting.executableURL = URL(fileURLWithPath: "/bin/sh")
        exiting.arguments = ["-c", "exit 3"]
        try exiting.run()
        exiting.waitUntilExit()
        #expect(exiting.terminationStatus == 3 && exiting.terminationReason == .exit)
        #expect(!exiting.isRunning)

        let sleeping = ChildProcess()
        sleeping.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeping.arguments = ["30"]
        try sleeping.run()
        #expect(sleeping.isRunning)
        sleeping.terminate()
        sleeping.waitUntilExit()
        #expect(sleeping.terminationStatus == SIGTERM && sleeping.terminationReason == .uncaughtSignal)
    }
}
