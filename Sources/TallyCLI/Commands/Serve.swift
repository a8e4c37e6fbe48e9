import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import TallyCore
import TallyHTTP

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the dashboard, revenue, organizations and bookings over HTTP, with /metrics.",
        discussion: "Opens the database read-only; stops gracefully on SIGINT or SIGTERM.")

    @OptionGroup var database: DatabaseOption

    @Option(name: .long, help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on (0 picks a free one).")
    var port: Int = 8080

    @Option(name: .long, help: "Log an engine query slower than this many milliseconds at warning.")
    var slowQueryMs: Double = 200

    @Option(name: .long, help: "Reader connections in the pool.")
    var readers: Int = 5

    @Option(name: .long, help: "Seconds a request waits for a free reader before failing.")
    var poolTimeout: Double = 5

    @Option(name: .long, help: "Seconds a connection waits for a lock held by another process (SQLite's busy timeout).")
    var busyTimeout: Double = 5

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535, got \(port)") }
        guard !host.isEmpty, host.utf8.count <= 255, !host.contains(where: { $0.isWhitespace || $0 == "\0" }) else {
            throw ValidationError("--host must be a host name or address")
        }
        guard slowQueryMs > 0 else { throw ValidationError("--slow-query-ms must be positive") }
        guard (1...64).contains(readers) else { throw ValidationError("--readers must be between 1 and 64") }
        guard poolTimeout > 0, poolTimeout <= 600 else { throw ValidationError("--pool-timeout must be between 0 and 600 seconds") }
        guard busyTimeout >= 0, busyTimeout <= 600 else { throw ValidationError("--busy-timeout must be between 0 and 600 seconds") }
    }

    func run() async throws {
        let logger = Logger(label: "tally.serve")
        // Only the executable chooses backends: Prometheus, with buckets fine
        // enough for sub-millisecond cache hits and queries.
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        ]
        MetricsSystem.bootstrap(factory)

        let pool = try TallyDatabase.openReadOnly(path: database.db, settings: .init(maximumReaderCount: readers, busyTimeout: busyTimeout))
        let engine = TallyEngine(reader: pool, slowQueryThreshold: slowQueryMs / 1000, readerTimeout: poolTimeout)
        let service = TallyHTTPService(engine: engine, logger: logger, metricsText: {
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return String(decoding: buffer, as: UTF8.self)
        })
        let router = Router()
        router.add(middleware: LogRequestsMiddleware(.info))
        router.add(middleware: MetricsMiddleware())
        addTallyRoutes(to: router, service: service)
        let path = database.db
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "tally"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                FileHandle.standardOutput.write(Data("tally serve: listening on http://\(host):\(port) (database \(path), read-only)\n".utf8))
            },
            logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: app)]
        if let cache = engine.cache {
            // The sweeper ending (at shutdown) must not end the server.
            services.append(.init(service: CacheSweeper(cache: cache), successTerminationBehavior: .ignore))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch is CancellationError {
            // Shut down.
        } catch {
            throw TallyError(.file, "cannot serve on \(host):\(port): \(error)")
        }
        logger.info("stopped")
    }
}
