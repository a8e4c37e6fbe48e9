import Foundation
public import Logging
public import Metrics

/// A second cache level shared by every process serving the same file (three
/// `tally serve` behind a load balancer): in-process cache → shared store →
/// compute.
///
/// **Exact across processes.** An answer is stored under its key *and the
/// change counters of the tables it read, in the snapshot it was computed
/// from* (`tally_changes`, kept by the rollups' triggers: they mean the same
/// in every process and on every copy of the file, and carry a random epoch
/// drawn at `rollups enable`). A process looks up the counters it sees now:
/// whatever it finds was computed from exactly that state of those tables,
/// so no process serves an answer a committed write has made wrong,
/// whichever process computed it. Without counters the level refuses to be
/// created, unless `Mode.ttlOnly` is asked for explicitly (the seeds'
/// behaviour: an answer may be up to the TTL old, said in `meta.sharedCache`).
///
/// **Computed once across processes.** On a miss, the first process takes a
/// lock (`setIfAbsent` with an expiry, so a crashed process cannot block the
/// others for longer than `lockTTL`), computes and stores; the others poll
/// for the answer, and compute themselves if the lock goes away without one
/// (its holder saw newer counters, or died).
///
/// **Trouble never breaks an answer.** Every store operation has a timeout;
/// after `failuresToOpen` consecutive failures the level stops asking the
/// store for `openDuration` (a circuit breaker), and any failure means the
/// answer is computed here, as without the level.
///
/// Values carry a format version (`tally-shared-v1`): two Tally versions
/// sharing one store never misread each other, and a value that does not
/// decode is ignored.
public final class SharedCacheLevel: Sendable {
    /// Whether entries are keyed by the file's change counters.
    public enum Mode: String, Sendable {
        /// Keyed by change counters: exact. Needs rollups (`tally rollups enable`).
        case exact
        /// Keyed by the answer only, expiring after the TTL: may serve an
        /// answer up to the TTL old. Only when asked for.
        case ttlOnly = "ttl-only"
    }

    /// How an answer was served by the shared level (`meta.sharedCache`).
    public enum Outcome: String, Sendable {
        /// Found in the shared store.
        case hit
        /// Computed here and stored for the other processes.
        case stored
        /// Another process computed it while this one waited.
        case waited
        /// The store failed or its circuit breaker is open: computed here.
        case unavailable
    }

    public struct Settings: Sendable {
        /// How long a stored answer lives (exact entries are also replaced
        /// by new keys at every change; this bounds memory).
        public var ttl: Duration
        /// The cross-process lock's expiry: longer than a computation takes.
        public var lockTTL: Duration
        /// The most a request waits for another process's computation.
        public var waitLimit: Duration
        /// Each store operation's timeout.
        public var operationTimeout: Duration
        /// Consecutive failures that open the circuit breaker, and for how long.
        public var failuresToOpen: Int
        public var openDuration: Duration
        /// Prefix of every key.
        public var prefix: String

        public init(
            ttl: Duration = .seconds(300), lockTTL: Duration = .seconds(30), waitLimit: Duration = .seconds(30),
            operationTimeout: Duration = .milliseconds(100), failuresToOpen: Int = 3, openDuration: Duration = .seconds(5),
            prefix: String = "tally"
        ) {
            self.ttl = ttl
            self.lockTTL = lockTTL
            self.waitLimit = waitLimit
            self.operationTimeout = operationTimeout
            self.failuresToOpen = failuresToOpen
            self.openDuration = openDuration
            self.prefix = prefix
        }
    }

    /// The version of the stored values' format.
    static let header = Array("tally-shared-v1\n".utf8)

    /// JSON that keeps `KeyedValues`' order, so an answer read back equals
    /// the one computed (made per use: coders are not `Sendable`).
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.userInfo[KeyedValuesOrder.key] = true
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.userInfo[KeyedValuesOrder.key] = true
        return decoder
    }

    public let mode: Mode
    public let settings: Settings
    let store: any SharedAnswerStore
    let logger: Logger
    private let breaker = Locked<(failures: Int, openUntil: ContinuousClock.Instant?)>((0, nil))
    private let hits: Counter
    private let misses: Counter
    private let errors: Counter
    private let duration: Metrics.Timer
    private let available: Gauge

    /// - parameters:
    ///   - store: where answers are shared (`RedisAnswerStore`).
    ///   - mode: `.exact` unless you accept answers up to the TTL old.
    ///   - database: the file; `.exact` needs its change counters.
    ///   - settings: TTLs, timeouts, the circuit breaker.
    ///   - logger: where store failures are logged.
    ///   - metricsFactory: where its counters go; the global `MetricsSystem` unless a test passes its own.
    /// - throws: `TallyError.Kind.state` for `.exact` on a file without change counters.
    public init(
        store: any SharedAnswerStore, mode: Mode = .exact, database: TallyDatabase, settings: Settings = Settings(),
        logger: Logger = Logger(label: "tally.shared-cache"), metricsFactory: (any MetricsFactory)? = nil
    ) throws {
        if mode == .exact, database.monitor?.counters() == nil {
            throw TallyError(
                .state,
                "\(database.path) has no change counters, so a shared cache cannot be exact across processes; "
                    + "run `tally rollups enable --db \(database.path)` first (or accept shared answers up to their TTL old: "
                    + "mode .ttlOnly, `tally serve --shared-cache-ttl-only`)",
                path: database.path)
        }
        self.store = store
        self.mode = mode
        self.settings = settings
        self.logger = logger
        let factory = metricsFactory ?? MetricsSystem.factory
        hits = Counter(label: TallyMetrics.sharedHits, factory: factory)
        misses = Counter(label: TallyMetrics.sharedMisses, factory: factory)
        errors = Counter(label: TallyMetrics.sharedErrors, factory: factory)
        duration = Metrics.Timer(label: TallyMetrics.sharedDuration, factory: factory)
        available = Gauge(label: TallyMetrics.sharedState, factory: factory)
        available.record(1)
        Gauge(label: TallyMetrics.sharedExact, factory: factory).record(mode == .exact ? 1 : 0)
    }

    /// The stored form of an answer: the format header, then JSON.
    private struct Envelope<T: Codable>: Codable {
        var counters: [String: Int64]?
        var answer: T
    }

    /// The answer for `key`: from the store, from another process's
    /// computation, or computed here (and stored).
    ///
    /// - parameter currentStamp: the change counters of the answer's tables now.
    package func load<T: Codable & Sendable>(
        key: String, currentStamp: StatsCache.Stamp?,
        compute: @Sendable () async throws -> (T, StatsCache.Stamp?)
    ) async throws -> (T, StatsCache.Stamp?, Outcome) {
        guard let storeKey = storeKey(key, stamp: currentStamp), isClosed() else {
            let (value, stamp) = try await compute()
            return (value, stamp, .unavailable)
        }
        do {
            if let found: (T, StatsCache.Stamp?) = try await lookup(storeKey) {
                hits.increment()
                return (found.0, found.1, .hit)
            }
            misses.increment()
            let lockKey = storeKey + ":lock"
            if try await timed({ try await self.store.setIfAbsent(lockKey, Array("1".utf8), ttl: self.settings.lockTTL) }) {
                // Another process may have stored it and released its lock
                // between our lookup and our lock: look once more.
                if let found: (T, StatsCache.Stamp?) = try await lookup(storeKey) {
                    _ = try? await timed { try await self.store.delete(lockKey) }
                    hits.increment()
                    return (found.0, found.1, .waited)
                }
                let computed: (T, StatsCache.Stamp?)
                do {
                    computed = try await compute()
                } catch {
                    _ = try? await timed { try await self.store.delete(lockKey) }
                    throw error
                }
                await save(computed.0, key: key, stamp: computed.1)
                _ = try? await timed { try await self.store.delete(lockKey) }
                return (computed.0, computed.1, .stored)
            }
            // Another process computes it: wait for its answer while its lock lives.
            let deadline = ContinuousClock.now + settings.waitLimit
            var pause = Duration.milliseconds(2)
            while ContinuousClock.now < deadline {
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(50))
                if let found: (T, StatsCache.Stamp?) = try await lookup(storeKey) {
                    hits.increment()
                    return (found.0, found.1, .waited)
                }
                if try await timed({ try await self.store.get(lockKey) }) == nil { break }
            }
            let (value, stamp) = try await compute()
            await save(value, key: key, stamp: stamp)
            return (value, stamp, .stored)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as SharedStoreFailure {
            logger.debug("shared cache unavailable", metadata: ["error": "\(error.message)"])
            let (value, stamp) = try await compute()
            return (value, stamp, .unavailable)
        }
    }

    /// Where an answer computed from `stamp` is stored; nil when it cannot
    /// be shared exactly (no counters).
    package func storeKey(_ key: String, stamp: StatsCache.Stamp?) -> String? {
        switch mode {
        case .ttlOnly:
            return "\(settings.prefix):v1:ttl:\(key)"
        case .exact:
            guard let stamp else { return nil }
            let counters = stamp.counters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            return "\(settings.prefix):v1:\(key):\(counters)"
        }
    }

    /// A stored answer under `storeKey`, or nil when absent or unreadable
    /// (another format version, a foreign value): never an error.
    private func lookup<T: Codable & Sendable>(_ storeKey: String) async throws -> (T, StatsCache.Stamp?)? {
        guard let bytes = try await timed({ try await self.store.get(storeKey) }) else { return nil }
        guard bytes.starts(with: Self.header),
            let envelope = try? Self.decoder.decode(Envelope<T>.self, from: Data(bytes.dropFirst(Self.header.count)))
        else {
            logger.debug("ignoring an unreadable shared cache value", metadata: ["key": "\(storeKey)"])
            return nil
        }
        return (envelope.answer, envelope.counters.map(StatsCache.Stamp.init))
    }

    /// Stores an answer under the counters of the snapshot it was computed
    /// from (never under older ones). Failures are only counted.
    private func save<T: Codable & Sendable>(_ value: T, key: String, stamp: StatsCache.Stamp?) async {
        guard let storeKey = storeKey(key, stamp: stamp),
            let json = try? Self.encoder.encode(Envelope(counters: stamp?.counters, answer: value))
        else { return }
        _ = try? await timed { try await self.store.set(storeKey, Self.header + Array(json), ttl: self.settings.ttl) }
    }

    /// Runs one store operation with the timeout, the circuit breaker and
    /// the metrics; any failure becomes a `SharedStoreFailure`.
    private func timed<R: Sendable>(_ operation: @escaping @Sendable () async throws -> R) async throws -> R {
        guard isClosed() else { throw SharedStoreFailure(message: "circuit breaker open") }
        let started = ContinuousClock.now
        do {
            let result: R
            if let limit = store.operationTimeLimit, limit <= settings.operationTimeout {
                result = try await operation()
            } else {
                result = try await raced(operation)
            }
            duration.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
            succeeded()
            return result
        } catch is CancellationError where Task.isCancelled {
            throw CancellationError()
        } catch {
            failed()
            throw (error as? SharedStoreFailure) ?? SharedStoreFailure(message: "\(error)")
        }
    }

    /// `operation`, failing after `operationTimeout` if it has not ended.
    private func raced<R: Sendable>(_ operation: @escaping @Sendable () async throws -> R) async throws -> R {
        try await withThrowingTaskGroup(of: R?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: self.settings.operationTimeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw SharedStoreFailure(message: "timed out after \(self.settings.operationTimeout)")
            }
            return value
        }
    }

    /// Whether the store may be asked (the breaker is closed, or its open
    /// period is over: then one operation tries again).
    private func isClosed() -> Bool {
        breaker.withLock { state in
            guard let until = state.openUntil else { return true }
            return ContinuousClock.now >= until
        }
    }

    private func succeeded() {
        let reopened = breaker.withLock { state -> Bool in
            defer { state = (0, nil) }
            return state.openUntil != nil
        }
        if reopened {
            available.record(1)
            logger.info("shared cache reachable again")
        }
    }

    private func failed() {
        errors.increment()
        let opened = breaker.withLock { state -> Bool in
            state.failures += 1
            guard state.failures >= settings.failuresToOpen else { return false }
            let wasClosed = state.openUntil == nil
            state.openUntil = ContinuousClock.now + settings.openDuration
            return wasClosed
        }
        if opened {
            available.record(0)
            logger.warning("shared cache unavailable; computing answers here", metadata: ["retryIn": "\(settings.openDuration)"])
        }
    }
}

/// A store operation that failed, timed out or was refused by the breaker.
struct SharedStoreFailure: Error {
    let message: String
}
