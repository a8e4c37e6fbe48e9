import GRDBSQLite

/// What the statements of one computation share: how many ran (the seeds'
/// cost metric: their hosted database billed per query), and whether the
/// computation was cancelled.
///
/// Cancellation reaches a running statement through `sqlite3_interrupt` on
/// the connections registered with `running(on:)`, and a scan between
/// statements through `checkCancellation()`.
package final class Execution: Sendable {
    /// `@unchecked`: the connection pointers serve only `sqlite3_interrupt`,
    /// which SQLite allows from any thread.
    private struct State: @unchecked Sendable {
        var statements = 0
        var rows = 0
        var cancelled = false
        var connections: [Int: OpaquePointer] = [:]
        var nextToken = 0
        /// Extents already read in this snapshot, by their SQL and arguments.
        var extents: [String: (min: Double?, max: Double?)] = [:]
        var catalog: RollupCatalog?
        var rollupsChosenByAuto = false
        var fellBackToScan = false
    }

    private let state = Locked(State())

    /// The schema map the statements read through, if any: the single-pass
    /// scan then converts the common stored values in Swift
    /// (`ScanConversion`).
    package let mapping: MappedSchema?

    package init(mapping: MappedSchema? = nil) {
        self.mapping = mapping
    }

    /// Counts `n` executed SQL statements.
    func ran(_ n: Int = 1) {
        state.withLock { $0.statements += n }
    }

    package var statements: Int { state.withLock { $0.statements } }

    /// Counts rows stepped by a scan.
    func scanned(_ n: Int) {
        state.withLock { $0.rows += n }
    }

    package var rowsScanned: Int { state.withLock { $0.rows } }

    package var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// The rollups the computation may read, once known.
    var catalog: RollupCatalog? {
        get { state.withLock { $0.catalog } }
        set { state.withLock { $0.catalog = newValue } }
    }

    /// Whether `auto` chose rollups: a stat no rollup serves any more (the
    /// set changed meanwhile) is then scanned, not refused.
    var rollupsChosenByAuto: Bool {
        get { state.withLock { $0.rollupsChosenByAuto } }
        set { state.withLock { $0.rollupsChosenByAuto = newValue } }
    }

    /// Whether a stat asked of rollups was computed by a scan.
    var fellBackToScan: Bool {
        get { state.withLock { $0.fellBackToScan } }
        set { state.withLock { $0.fellBackToScan = newValue } }
    }

    /// The strategy that ran, as `meta.strategy` names it.
    func label(_ strategy: Strategy) -> String {
        strategy == .rollup && fellBackToScan ? "rollup+single-pass" : strategy.rawValue
    }

    /// An extent read once per computation: revenue's grid and the scan's
    /// pushdown check ask for the same one.
    func extent(_ key: String, read: () throws -> (min: Double?, max: Double?)) rethrows -> (min: Double?, max: Double?) {
        if let known = state.withLock({ $0.extents[key] }) { return known }
        let extent = try read()
        state.withLock { $0.extents[key] = extent }
        return extent
    }

    func checkCancellation() throws {
        if isCancelled { throw CancellationError() }
    }

    /// Cancels: interrupts every registered connection's running statement.
    package func cancel() {
        state.withLock { state in
            state.cancelled = true
            for connection in state.connections.values { sqlite3_interrupt(connection) }
        }
    }

    /// Runs `body` with `connection` interruptible by `cancel()`.
    func running<T>(on connection: OpaquePointer?, _ body: () throws -> T) throws -> T {
        guard let connection else { return try body() }
        let token = try state.withLock { state -> Int in
            if state.cancelled { throw CancellationError() }
            state.nextToken += 1
            state.connections[state.nextToken] = connection
            return state.nextToken
        }
        defer { state.withLock { _ = $0.connections.removeValue(forKey: token) } }
        return try body()
    }

    /// Runs `body`, cancelling this execution when the current task is cancelled.
    package func cancellingWithTask<T>(_ body: () async throws -> T) async throws -> T {
        try await withTaskCancellationHandler {
            try await body()
        } onCancel: {
            self.cancel()
        }
    }
}
