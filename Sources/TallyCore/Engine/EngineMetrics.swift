import Metrics

/// The engine's swift-metrics instruments, created once with fixed labels
/// (Prometheus backends reject one name with different label sets).
/// The executable chooses the backend; without one they cost nothing.
enum EngineMetrics {
    struct Instruments {
        let requests: Counter
        let duration: Metrics.Timer
    }

    static let rowsScanned = Counter(label: "tally_engine_rows_scanned_total")

    private static let byRequest: [String: Instruments] = {
        var table: [String: Instruments] = [:]
        let strategies = Strategy.allCases.map(\.rawValue) + ModuleStrategy.allCases.map(\.rawValue)
        for request in ["dashboard", "revenue", "modules", "stats"] {
            for strategy in strategies {
                let dimensions = [("request", request), ("strategy", strategy)]
                table["\(request)/\(strategy)"] = Instruments(
                    requests: Counter(label: "tally_engine_requests_total", dimensions: dimensions),
                    duration: Metrics.Timer(label: "tally_engine_request_duration_seconds", dimensions: dimensions))
            }
        }
        return table
    }()

    static func record(request: String, strategy: String, nanoseconds: Int64) {
        guard let instruments = byRequest["\(request)/\(strategy)"] else { return }
        instruments.requests.increment()
        instruments.duration.recordNanoseconds(nanoseconds)
    }
}
