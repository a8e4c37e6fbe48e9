public import Hummingbird
public import Logging
public import Metrics
import TallyCore

/// What `tally serve` puts in front of Tally's routes, and a host may too:
/// every request logged once, after its response, with its status and
/// duration; counted once by route, method and status with its duration;
/// and any error (the router's own `404` included) answered with a JSON
/// body. A request for a Tally path with another method than GET or HEAD is
/// a `405` with `Allow`.
public struct TallyHTTPMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger
    let logLevel: Logger.Level
    let instruments: HTTPInstruments
    /// Tally's paths (as mounted), for `405`.
    let knownPaths: Set<String>

    /// - parameters:
    ///   - mountedAt: where `addTallyRoutes` mounted the routes.
    ///   - metricsFactory: where the request counts go (the global system by default).
    public init(
        logger: Logger, logLevel: Logger.Level = .info, mountedAt path: String = "",
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.logger = logger
        self.logLevel = logLevel
        instruments = HTTPInstruments(factory: metricsFactory ?? MetricsSystem.factory)
        let prefix = path.hasSuffix("/") ? String(path.dropLast()) : path
        knownPaths = Set(TallyRoutes<Context>.paths.map { prefix + "/" + $0 })
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            if let tally = error as? TallyError {
                // Before the router's own not-found: a TallyError names what
                // the answer lacks (an organization), not a missing route.
                response = try tally.response(from: request, context: context)
            } else if error.status == .notFound, knownPaths.contains(request.uri.path) {
                response = TallyRoutes<Context>.methodNotAllowed()
            } else if error.status == .notFound {
                response = JSONBody.error(.notFound, "no such resource: \(request.uri.path.quotedForMessage(limit: 80))")
            } else {
                response = JSONBody.error(error.status, error.status.reasonPhrase)
            }
        } catch is CancellationError {
            // The client went away; nobody reads this.
            response = JSONBody.error(.serviceUnavailable, "the request was cancelled")
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            response = JSONBody.error(.internalServerError, "the server could not answer")
        }
        let duration = ContinuousClock.now - started
        let route = context.endpointPath ?? "unknown"
        instruments.record(route: route, method: request.method.rawValue, status: response.status.code, duration: duration)
        if logger.logLevel <= logLevel {
            logger.log(
                level: logLevel, "\(request.method.rawValue) \(request.uri.path) \(response.status.code)",
                metadata: [
                    "ms": "\(Double((duration / .microseconds(1)).rounded()) / 1000)", "route": "\(route)",
                ])
        }
        return response
    }
}

/// The HTTP instruments, created once per label set.
final class HTTPInstruments: Sendable {
    private let factory: any MetricsFactory
    private let counters = Locked<[String: Counter]>([:])
    private let timers = Locked<[String: Metrics.Timer]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    func record(route: String, method: String, status: Int, duration: Duration) {
        let counter = counters.withLock { table in
            let key = "\(route)|\(method)|\(status)"
            if let existing = table[key] { return existing }
            let created = Counter(
                label: TallyMetrics.httpRequests,
                dimensions: [("route", route), ("method", method), ("status", String(status))], factory: factory)
            table[key] = created
            return created
        }
        let timer = timers.withLock { table in
            if let existing = table[route] { return existing }
            let created = Metrics.Timer(label: TallyMetrics.httpDuration, dimensions: [("route", route)], factory: factory)
            table[route] = created
            return created
        }
        counter.increment()
        timer.record(duration: duration)
    }
}
