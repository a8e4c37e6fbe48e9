import Foundation
public import Hummingbird
import Logging
import NIOCore
import TallyCore

/// Adds Tally's routes to a Hummingbird router, under `path`:
///
/// - `GET|HEAD {path}/api/dashboard[?strategy=]`
/// - `GET|HEAD {path}/api/revenue?period=&from=&to=&tz=[&strategy=]`
/// - `GET|HEAD {path}/api/organizations?limit=&cursor=`
/// - `GET|HEAD {path}/api/bookings?limit=&cursor=&status=`
/// - `GET|HEAD {path}/metrics` (when the service has a metrics source)
/// - `GET|HEAD {path}/health`
///
/// Another method on these paths is a `405` with `Allow: GET, HEAD`. Stats
/// responses carry a weak `ETag` and answer `If-None-Match` with `304`
/// without computing anything. Every error is a JSON body `{"error": "…"}`:
/// bad input `400`, a pool timeout `503` with `Retry-After`, never a path
/// of the server's files. With a `ChannelRequestContext` (`TallyRequestContext`),
/// a client that disconnects while its answer is computed cancels the
/// computation, unless another request waits for it.
public func addTallyRoutes<Context: RequestContext>(to router: Router<Context>, atPath path: String = "", service: TallyHTTPService) {
    router.addRoutes(TallyRoutes<Context>(service: service).collection, atPath: RouterPath(path))
}

/// Tally's routes as a `RouteCollection` a host mounts where it wants.
public struct TallyRoutes<Context: RequestContext>: Sendable {
    public let service: TallyHTTPService

    public init(service: TallyHTTPService) {
        self.service = service
    }

    /// The paths of the routes, relative to where they are mounted.
    public static var paths: [String] { ["api/dashboard", "api/revenue", "api/organizations", "api/bookings", "metrics", "health"] }

    public var collection: RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        let service = service
        add("api/dashboard", to: routes) { request, context in
            let strategy = try Self.strategy(request)
            return try await Self.stats(
                service, request, context, key: TallyEngine.dashboardKey(strategy: strategy),
                tables: TallyEngine.dashboardTables
            ) {
                let answered = try await service.engine.answerDashboard(strategy: strategy)
                return (answered.value, answered.stamp)
            }
        }
        add("api/revenue", to: routes) { request, context in
            let query = try RevenueQuery(
                period: try Self.parameter(request, "period") ?? "month",
                timeZone: try Self.parameter(request, "tz") ?? "UTC",
                from: try Self.parameter(request, "from"), to: try Self.parameter(request, "to"),
                names: .query)
            let strategy = try Self.strategy(request)
            return try await Self.stats(
                service, request, context, key: TallyEngine.revenueKey(query, strategy: strategy),
                tables: TallyEngine.revenueTables
            ) {
                let answered = try await service.engine.answerRevenue(query, strategy: strategy)
                return (answered.value, answered.stamp)
            }
        }
        add("api/organizations", to: routes) { request, context in
            let limit = try Self.limit(request)
            let cursor = try Self.parameter(request, "cursor")
            let page = try await Self.cancellable(request, context) { try await service.engine.organizationsPage(limit: limit, cursor: cursor) }
            return try JSONBody.response(page, headers: [.cacheControl: "private, max-age=\(service.maxAge)"])
        }
        add("api/bookings", to: routes) { request, context in
            let limit = try Self.limit(request)
            let cursor = try Self.parameter(request, "cursor")
            let status = try Self.parameter(request, "status")
            let page = try await Self.cancellable(request, context) {
                try await service.engine.bookingsPage(limit: limit, cursor: cursor, status: status)
            }
            return try JSONBody.response(page, headers: [.cacheControl: "private, max-age=\(service.maxAge)"])
        }
        add("health", to: routes) { _, _ in
            try await service.engine.health()
            return try JSONBody.response(["status": "ok"], headers: [.cacheControl: "no-store"])
        }
        add("metrics", to: routes) { _, _ in
            guard let metricsText = service.metricsText else {
                return JSONBody.error(.notFound, "metrics are not enabled in this server")
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metricsText())))
        }
        return routes
    }

    /// Registers `GET` and `HEAD` for a path, and `405` for the other common methods.
    private func add(
        _ path: String, to routes: RouteCollection<Context>,
        _ handler: @escaping @Sendable (Request, Context) async throws -> Response
    ) {
        let logger = service.logger
        let respond: @Sendable (Request, Context) async throws -> Response = { request, context in
            do {
                return try await handler(request, context)
            } catch let error as TallyError {
                if error.kind != .invalidInput && error.kind != .notFound {
                    logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error.message)"])
                }
                throw error
            } catch let error as any HTTPResponseError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                throw TallyError(
                    .database, "the server could not answer: \(TallyError.wrapping(error, path: service.engine.database.path).publicMessage)")
            }
        }
        routes.get(RouterPath(path), use: respond)
        routes.head(RouterPath(path)) { request, context in try await respond(request, context).createHeadResponse() }
        for method in [HTTPRequest.Method.post, .put, .patch, .delete, .options] {
            routes.on(RouterPath(path), method: method) { _, _ in Self.methodNotAllowed() }
        }
    }

    static func methodNotAllowed() -> Response {
        JSONBody.error(.methodNotAllowed, "only GET and HEAD are allowed here", headers: [.allow: "GET, HEAD", .cacheControl: "no-store"])
    }

    // MARK: - Stats answers

    /// A stats answer with its ETag: `304` when the client has it (nothing
    /// computed), the JSON answer otherwise. The computation, when the
    /// answer is not cached, is cancelled if the client disconnects.
    static func stats(
        _ service: TallyHTTPService, _ request: Request, _ context: Context, key: String, tables: Set<String>,
        _ compute: @escaping @Sendable () async throws -> (any Answer, StatsCache.Stamp?)
    ) async throws -> Response {
        var headers = HTTPFields()
        headers[.cacheControl] = "private, max-age=\(service.maxAge)"
        let (stampBefore, versionBefore) = try service.engine.currentVersion(tables: tables)
        if let etag = service.etag(key: key, stamp: stampBefore, dataVersion: versionBefore) {
            if let match = request.headers[.ifNoneMatch], matches(match, etag) {
                headers[.eTag] = etag
                return Response(status: .notModified, headers: headers)
            }
        }
        let (answer, stamp) =
            service.engine.isFresh(key: key)
            ? try await compute() : try await cancellable(request, context, compute)
        let etag = service.etag(key: key, stamp: stamp, dataVersion: stamp == nil ? versionBefore : nil)
        if let etag { headers[.eTag] = etag }
        headers[.contentType] = "application/json; charset=utf-8"
        let body = try service.encodedAnswers.body(answer, key: key, etag: etag, encoder: JSONBody.encoder)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// Runs `work`, cancelling it when the client closes the connection:
    /// with a `ChannelRequestContext` (as `tally serve` uses), the channel's
    /// close cancels it. With another context the work runs to its end
    /// (Hummingbird's inbound-close watch would consume a pipelined next
    /// request, so it is not used).
    static func cancellable<T: Sendable>(
        _ request: Request, _ context: Context,
        _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard let channel = (context as? any ChannelRequestContext)?.channel else { return try await work() }
        let task = Task { try await work() }
        channel.closeFuture.whenComplete { _ in task.cancel() }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    /// `If-None-Match`: a list of ETags, or `*`; compared weakly (RFC 9110 §13.1.2).
    static func matches(_ header: String, _ etag: String) -> Bool {
        func opaque(_ tag: Substring) -> Substring { tag.hasPrefix("W/") ? tag.dropFirst(2) : tag }
        return header.split(separator: ",").contains { candidate in
            let trimmed = candidate.trimmingCharacters(in: .whitespaces)
            return trimmed == "*" || opaque(Substring(trimmed)) == opaque(Substring(etag))
        }
    }

    // MARK: - Parameters

    /// A query parameter, refused when it repeats or is absurdly long.
    static func parameter(_ request: Request, _ name: String) throws -> String? {
        let values = request.uri.queryParameters[values: Substring(name)]
        guard values.count <= 1 else { throw TallyError.invalid("parameter \(name) is given more than once") }
        guard let value = values.first.map(String.init) else { return nil }
        guard value.utf8.count <= 256 else { throw TallyError.invalid("parameter \(name) is too long") }
        return value
    }

    static func limit(_ request: Request) throws -> Int {
        guard let text = try parameter(request, "limit") else { return 50 }
        guard let limit = Int(text) else {
            throw TallyError.invalid("limit must be a whole number between 1 and \(BookingsPage.maximumLimit)")
        }
        try BookingsPage.checkLimit(limit)
        return limit
    }

    static func strategy(_ request: Request) throws -> Strategy {
        guard let text = try parameter(request, "strategy") else { return .auto }
        guard let strategy = Strategy(rawValue: text) else {
            throw TallyError.invalid("unknown strategy; expected one of \(Strategy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return strategy
    }
}
