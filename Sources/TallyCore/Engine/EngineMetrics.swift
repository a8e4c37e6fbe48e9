import Metrics

/// The engine's swift-metrics instruments, per database: created on first
/// use for each kind and strategy that actually runs (no series for
/// combinations that never happen), once, with fixed labels.
final class EngineMetrics: Sendable {
    struct Instruments: Sendable {
        let requests: Counter
        let duration: Metrics.Timer
        let statements: Counter
    }

    let factory: any MetricsFactory
    let rowsScanned: Counter
    private let byKind = Locked<[String: Instruments]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
        rowsScanned = Counter(label: TallyMetrics.engineRowsScanned, factory: factory)
    }

    /// Records one computed answer.
    func record(kind: String, strategy: String, nanoseconds: Int64, statements: Int) {
        let instruments = byKind.withLock { table in
            let key = kind + "/" + strategy
            if let existing = table[key] { return existing }
            let dimensions = [("kind", kind), ("strategy", strategy)]
            let created = Instruments(
                requests: Counter(label: TallyMetrics.engineRequests, dimensions: dimensions, factory: factory),
                duration: Metrics.Timer(label: TallyMetrics.engineDuration, dimensions: dimensions, factory: factory),
                statements: Counter(label: TallyMetrics.engineStatements, dimensions: dimensions, factory: factory))
            table[key] = created
            return created
        }
        instruments.requests.increment()
        instruments.duration.recordNanoseconds(nanoseconds)
        instruments.statements.increment(by: Int64(statements))
    }
}
