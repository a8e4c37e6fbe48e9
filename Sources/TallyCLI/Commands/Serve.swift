import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import TallyCore
import TallyHTTP
import TallyRedis
import UnixSignals

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the dashboard, revenue, organizations and bookings over HTTP, with /metrics.",
        discussion: """
            Opens the database read-only. On SIGINT or SIGTERM it stops accepting connections, finishes the \
            responses in flight (at most --shutdown-grace seconds), then exits 0. Each request is logged \
            once at info, after its response, with its status and duration (--log-level warning for none).

            Examples:
              tally serve --db shop.sqlite
              tally serve --db shop.sqlite --host 0.0.0.0 --port 8080 --readers 8
              curl -s localhost:8080/api/revenue?period=month\\&tz=Europe/Paris
              tally serve --db shop.sqlite --cache-url redis://127.0.0.1:6379/0

            With --cache-url, instances on the same file share answers through Redis: an answer is computed \
            once per change of the tables it reads, whichever instance asks first, and never served after a \
            committed write made it wrong (entries are keyed by the change counters that rollups keep: run \
            `tally rollups enable` first). Redis down or slow never fails a request: the answer is computed \
            here.
            """)

    @OptionGroup var database: DatabaseOption
    @OptionGroup var map: SchemaMapOption

    @Option(name: .long, help: "Address to listen on (an IPv6 address such as ::1 works too).")
    var host: String = "127.0.0.1"

    @Option(name: .long, parsing: .unconditional, help: "Port to listen on (0 picks a free one).")
    var port: Int = 8080

    @Option(name: .long, parsing: .unconditional, help: "Log an engine computation slower than this many milliseconds at warning.")
    var slowQueryMs: Double = 200

    @Option(name: .long, parsing: .unconditional, help: "Reader connections in the pool.")
    var readers: Int = 5

    @Option(name: .long, parsing: .unconditional, help: "Seconds a request waits for a free reader before a 503.")
    var poolTimeout: Double = 5

    @Option(name: .long, parsing: .unconditional, help: "Seconds a connection waits for a lock held by another process (SQLite's busy timeout).")
    var busyTimeout: Double = 5

    @Option(name: .long, parsing: .unconditional, help: "Seconds given to the responses in flight at shutdown.")
    var shutdownGrace: Double = 30

    @Option(name: .long, help: "Log level on stderr: trace, debug, info (default), notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Share answers with other instances through Redis: redis://[:password@]host[:port][/db].")
    var cacheURL: String?

    @Flag(name: .long, help: "With --cache-url on a file without rollups: share answers by time only (up to 5 minutes old).")
    var sharedCacheTTLOnly = false

    @Option(name: .long, parsing: .unconditional, help: "Seconds a Redis operation may take before the answer is computed here instead.")
    var cacheTimeout: Double = 0.1

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535, got \(port)") }
        guard !host.isEmpty, host.utf8.count <= 255, !host.contains(where: { $0.isWhitespace || $0 == "\0" }) else {
            throw ValidationError("--host must be a host name or address")
        }
        guard slowQueryMs > 0 else { throw ValidationError("--slow-query-ms must be a positive number, got \(slowQueryMs)") }
        if let cacheURL {
            do { _ = try RedisConfiguration(url: cacheURL) } catch { throw ValidationError("--cache-url: \(error)") }
        } else if sharedCacheTTLOnly {
            throw ValidationError("--shared-cache-ttl-only needs --cache-url")
        }
        guard cacheTimeout > 0, cacheTimeout <= 600 else {
            throw ValidationError("--cache-timeout must be more than 0 and at most 600 seconds, got \(cacheTimeout)")
        }
        guard (1...64).contains(readers) else { throw ValidationError("--readers must be between 1 and 64, got \(readers)") }
        guard poolTimeout > 0, poolTimeout <= 600 else {
            throw ValidationError("--pool-timeout must be more than 0 and at most 600 seconds, got \(poolTimeout)")
        }
        guard busyTimeout >= 0, busyTimeout <= 600 else {
            throw ValidationError("--busy-timeout must be between 0 and 600 seconds, got \(busyTimeout)")
        }
        guard shutdownGrace >= 0, shutdownGrace <= 3600 else {
            throw ValidationError("--shutdown-grace must be between 0 and 3600 seconds, got \(shutdownGrace)")
        }
    }

    /// `http://host:port`, with brackets around an IPv6 address.
    static func url(host: String, port: Int) -> String {
        host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
    }

    func run() async throws {
        LogSettings.level.withLock { $0 = logLevel }
        let logger = Logger(label: "tally.serve")
        // Only the executable chooses backends: Prometheus, with help texts.
        let prometheus = PrometheusWithHelp(registry: PrometheusCollectorRegistry())
        MetricsSystem.bootstrap(prometheus)

        let settings = TallyDatabase.PoolSettings(
            maximumReaderCount: readers, busyTimeout: .milliseconds(Int64(busyTimeout * 1000)),
            readerTimeout: .milliseconds(Int64(poolTimeout * 1000)))
        let db = try map.openReadOnly(path: database.db, settings: settings)
        var redis: RedisClient?
        var cacheChoice = TallyEngine.CacheChoice.shared
        if let cacheURL {
            // The client's own timeouts add up to --cache-timeout, so that the
            // shared level needs no timer of its own per operation.
            var redisConfiguration = try RedisConfiguration(url: cacheURL)
            let third = Duration.microseconds(Int64(cacheTimeout * 1_000_000 / 3))
            (redisConfiguration.poolTimeout, redisConfiguration.connectTimeout, redisConfiguration.commandTimeout) = (third, third, third)
            let client = RedisClient(configuration: redisConfiguration, logger: Logger(label: "tally.redis"))
            let level = try SharedCacheLevel(
                store: RedisAnswerStore(client: client), mode: sharedCacheTTLOnly ? .ttlOnly : .exact, database: db,
                settings: SharedCacheLevel.Settings(operationTimeout: .milliseconds(Int64(cacheTimeout * 1000))),
                logger: Logger(label: "tally.shared-cache"))
            cacheChoice = .using(StatsCache(database: db, sharedLevel: level))
            redis = client
        }
        let engine = TallyEngine(
            database: db, cache: cacheChoice, logger: Logger(label: "tally.engine"),
            slowQueryThreshold: .microseconds(Int64(slowQueryMs * 1000)))
        let service = TallyHTTPService(engine: engine, logger: logger, metricsText: { prometheus.text() })
        let router = Router(context: TallyRequestContext.self)
        router.add(middleware: TallyHTTPMiddleware(logger: logger))
        addTallyRoutes(to: router, service: service)
        let path = database.db
        let host = host, port = port
        let grace = shutdownGrace
        let app = Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [DeferredCloseHandler(grace: .milliseconds(Int64(grace * 1000)))])),
            configuration: .init(address: .hostname(host, port: port), serverName: "tally"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                FileHandle.standardOutput.write(
                    Data("tally serve: listening on \(Self.url(host: host, port: port)) (database \(path), read-only)\n".utf8))
            },
            logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: app)]
        if let cache = engine.cache {
            // The sweeper ending (at shutdown) must not end the server.
            services.append(.init(service: CacheSweeper(cache: cache), successTerminationBehavior: .ignore))
        }
        // A file swapped in under the server stops it (see FileReplacementWatch).
        services.append(
            .init(
                service: try FileReplacementWatch(path: path, logger: logger), successTerminationBehavior: .ignore,
                failureTerminationBehavior: .gracefullyShutdownGroup))
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .milliseconds(Int64(grace * 1000) + 1000)
        let group = ServiceGroup(configuration: configuration)
        do {
            try await group.run()
        } catch is CancellationError {
            // Shut down.
        } catch let error as TallyError {
            throw error
        } catch {
            throw TallyError(.file, "cannot serve on \(Self.url(host: host, port: port)): \(Self.explain(error))")
        }
        await redis?.shutdown()
        logger.info("stopped")
    }

    /// One sentence for a listen failure.
    static func explain(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("Address already in use") || text.contains("EADDRINUSE") { return "the port is already in use" }
        if text.contains("Cannot assign requested address") || text.contains("EADDRNOTAVAIL") { return "this machine has no such address" }
        if text.contains("Permission denied") || text.contains("EACCES") { return "permission denied (ports below 1024 need privileges)" }
        return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text
    }
}
