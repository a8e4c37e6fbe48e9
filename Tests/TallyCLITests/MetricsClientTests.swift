import Foundation
import TallyTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `/metrics` read by the clients users scrape it with: Prometheus' own
/// `promtool check metrics` and Python's `prometheus_client` parser.
/// `.ci/run` installs both; elsewhere the test runs when they are present.
@Suite("/metrics with real Prometheus clients", .serialized)
struct MetricsClientTests {
    static let toolsPresent: Bool = {
        let promtool = (try? runProcess("promtool", ["--version"]))?.status == 0
        let python = (try? runProcess("python3", ["-c", "import prometheus_client"]))?.status == 0
        return promtool && python
    }()

    /// Parses the exposition with `prometheus_client` and prints one JSON
    /// object: every family's name, type and help, and every sample.
    static let parser = """
        import json, math, sys
        from prometheus_client.parser import text_string_to_metric_families
        families = []
        for f in text_string_to_metric_families(open(sys.argv[1]).read()):
            families.append({"name": f.name, "type": f.type, "help": f.documentation,
                             # NaN and infinities are legal in the exposition, not in JSON.
                             "samples": [[s.name, s.labels, s.value if math.isfinite(s.value) else str(s.value)]
                                         for s in f.samples]})
        print(json.dumps(families))
        """

    struct Family: Decodable {
        let name: String
        let type: String
        let help: String
        let samples: [Sample]
    }

    struct Sample: Decodable {
        let name: String
        let labels: [String: String]
        let value: Double

        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            name = try container.decode(String.self)
            labels = try container.decode([String: String].self)
            if let number = try? container.decode(Double.self) {
                value = number
            } else {
                let text = try container.decode(String.self)
                value = text == "nan" ? .nan : text.hasPrefix("-") ? -.infinity : .infinity
            }
        }
    }

    @Test(
        "promtool finds no problem, prometheus_client parses every family, each with its help; requests counted once",
        .enabled(if: toolsPresent || ProcessInfo.processInfo.environment["CI"] != nil))
    func realClients() async throws {
        let dir = try CLITests.Directory()
        let db = dir.file("m.sqlite")
        #expect(try CLITests.run(["generate", "--db", db, "--bookings", "600"]).status == 0)
        let server = try ServeProcess(db: db)
        defer { server.stop() }
        let paths = [
            "/api/dashboard", "/api/dashboard", "/api/revenue?period=month", "/api/revenue?period=fortnight", "/nope",
            "/health", "/api/organizations?limit=5",
        ]
        for path in paths { _ = try await URLSession.shared.data(from: URL(string: server.url + path)!) }
        let (body, _) = try await URLSession.shared.data(from: URL(string: server.url + "/metrics")!)
        let file = dir.file("metrics.txt")
        try body.write(to: URL(fileURLWithPath: file))

        let promtool = ChildProcess()
        promtool.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        promtool.arguments = ["promtool", "check", "metrics"]
        promtool.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
        let promtoolOut = Pipe()
        promtool.standardOutput = promtoolOut
        promtool.standardError = promtoolOut
        try promtool.run()
        let lint = String(decoding: promtoolOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        promtool.waitUntilExit()
        #expect(promtool.terminationStatus == 0 && lint.isEmpty, "promtool: \(lint)")

        // stdout carries the JSON alone; stderr (a warning, say) is only reported.
        let python = ChildProcess()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", Self.parser, file]
        let pythonOut = Pipe(), pythonErr = Pipe()
        python.standardOutput = pythonOut
        python.standardError = pythonErr
        try python.run()
        let parsedJSON = pythonOut.fileHandleForReading.readDataToEndOfFile()
        let pythonStderr = String(decoding: pythonErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        python.waitUntilExit()
        try #require(python.terminationStatus == 0, "prometheus_client: \(pythonStderr)")
        let families: [Family]
        do {
            families = try JSONDecoder().decode([Family].self, from: parsedJSON)
        } catch {
            Issue.record(
                "prometheus_client printed no JSON: \(String(decoding: parsedJSON, as: UTF8.self)) / \(pythonStderr) (metrics: \(String(decoding: body, as: UTF8.self)))"
            )
            return
        }
        let byName = Dictionary(families.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for family in families {
            #expect(!family.help.isEmpty, "\(family.name) has no HELP")
            #expect(family.name.hasPrefix("tally_"), "\(family.name)")
            if family.type == "histogram" { #expect(family.name.hasSuffix("_seconds"), "\(family.name)") }
        }
        for name in [
            "tally_http_requests", "tally_engine_requests", "tally_engine_statements", "tally_cache_hits", "tally_cache_misses",
            "tally_http_request_duration_seconds", "tally_engine_request_duration_seconds",
        ] {
            #expect(byName[name] != nil, "\(name) missing")
        }
        // Each request counted once, under its status; nothing else.
        let http = try #require(byName["tally_http_requests"]).samples.filter { $0.name == "tally_http_requests_total" }
        #expect(http.reduce(0) { $0 + $1.value } == Double(paths.count))
        #expect(http.first { $0.labels["status"] == "404" }?.value == 1)
        #expect(http.first { $0.labels["status"] == "400" }?.value == 1)
        // No pre-registered series: every engine counter that exists counted something.
        let engine = try #require(byName["tally_engine_requests"]).samples.filter { $0.name == "tally_engine_requests_total" }
        #expect(!engine.isEmpty && engine.allSatisfy { $0.value > 0 }, "\(engine.map { ($0.labels, $0.value) })")
        #expect(!families.contains { $0.name.hasPrefix("hb_") })
    }
}
