import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import TallyCore

/// Adds Tally's routes to a Hummingbird router, under `path`:
///
/// - `GET {path}/api/dashboard[?strategy=]`
/// - `GET {path}/api/revenue?period=&from=&to=&tz=[&strategy=]`
/// - `GET {path}/api/organizations?limit=&cursor=`
/// - `GET {path}/api/bookings?limit=&cursor=&status=`
/// - `GET {path}/metrics` (when the service has a metrics source)
/// - `GET {path}/health`
///
/// Stats responses carry an `ETag` (cache key and data version) and answer
/// `If-None-Match` with `304` without computing anything. Bad input is a
/// `400` with `{"error": "…"}`, never a `500`.
public func addTallyRoutes<Context: RequestContext>(to router: Router<Context>, atPath path: String = "", service: TallyHTTPService) {
    router.addRoutes(TallyRoutes<Context>(service: service).collection, atPath: RouterPath(path))
}

/// Tally's routes as a `RouteCollection` a host mounts where it wants.
public struct TallyRoutes<Context: RequestContext>: Sendable {
    public let service: TallyHTTPService

    public init(service: TallyHTTPService) {
        self.service = service
    }

    public var collection: RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        let service = service
        routes.get("api/dashboard") { request, _ in
            try await Self.respond(service, request, route: "dashboard") {
                let strategy = try Self.strategy(request)
                return .stats(key: TallyEngine.dashboardKey(strategy: strategy)) {
                    try await service.engine.dashboard(strategy: strategy)
                }
            }
        }
        routes.get("api/revenue") { request, _ in
            try await Self.respond(service, request, route: "revenue") {
                let query = try RevenueQuery(period: try Self.parameter(request, "period") ?? "month",
                                             timeZone: try Self.parameter(request, "tz") ?? "UTC",
                                             from: try Self.parameter(request, "from"), to: try Self.parameter(request, "to"))
                let strategy = try Self.strategy(request)
                let key = TallyEngine.revenueKey(query, strategy: strategy)
                return .stats(key: key) {
                    try await service.engine.revenue(query, strategy: strategy)
                }
            }
        }
        routes.get("api/organizations") { request, _ in
            try await Self.respond(service, request, route: "organizations") {
                let limit = try Self.limit(request)
                let cursor = try Self.parameter(request, "cursor")
                let page = try await service.engine.read { db in try OrganizationsPage.fetch(limit: limit, cursor: cursor, in: db) }
                return .json(page, headers: [.cacheControl: "private, max-age=\(service.maxAge)"])
            }
        }
        routes.get("api/bookings") { request, _ in
            try await Self.respond(service, request, route: "bookings") {
                let limit = try Self.limit(request)
                let cursor = try Self.parameter(request, "cursor")
                let status = try Self.parameter(request, "status")
                let page = try await service.engine.read { db in
                    try BookingsPage.fetch(limit: limit, cursor: cursor, status: status, in: db)
                }
                return .json(page, headers: [.cacheControl: "private, max-age=\(service.maxAge)"])
            }
        }
        routes.get("health") { request, _ in
            try await Self.respond(service, request, route: "health") {
                _ = try await service.engine.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM sqlite_master") }
                return .json(["status": "ok"], headers: [.cacheControl: "no-store"])
            }
        }
        routes.get("metrics") { request, _ in
            guard let metricsText = service.metricsText else {
                return Self.error(.notFound, "metrics are not enabled in this server")
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metricsText())))
        }
        return routes
    }

    // MARK: - Responses

    /// What a handler produces: a JSON body, or a stats answer to compute
    /// unless the client already has it.
    enum Outcome {
        case json(any Encodable, headers: HTTPFields)
        case stats(key: String, compute: () async throws -> any Encodable)
    }

    /// Runs a handler: bad input becomes 400, anything else 500 (logged once
    /// with context), and stats get their ETag / 304 treatment.
    static func respond(_ service: TallyHTTPService, _ request: Request, route: String,
                        _ handler: () async throws -> Outcome) async throws -> Response {
        do {
            switch try await handler() {
            case .json(let value, let headers):
                return try json(value, status: .ok, headers: headers)
            case .stats(let key, let compute):
                var headers = HTTPFields()
                headers[.cacheControl] = "private, max-age=\(service.maxAge)"
                let etag = try service.etag(for: key)
                if let etag {
                    headers[.eTag] = etag
                    if let match = request.headers[.ifNoneMatch], Self.matches(match, etag) {
                        return Response(status: .notModified, headers: headers)
                    }
                }
                return try json(try await compute(), status: .ok, headers: headers)
            }
        } catch let error as TallyError where error.kind == .invalidInput {
            return Self.error(.badRequest, error.message)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            service.logger.error("request failed", metadata: [
                "route": "\(route)", "uri": "\(request.uri.path)", "error": "\(error)",
            ])
            return Self.error(.internalServerError, "the database could not answer: \(TallyError.wrapping(error, path: service.engine.reader.path).message)")
        }
    }

    /// `If-None-Match`: a list of ETags, or `*`.
    static func matches(_ header: String, _ etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            let trimmed = candidate.trimmingCharacters(in: .whitespaces)
            return trimmed == "*" || trimmed == etag || trimmed == "W/" + etag
        }
    }

    static func json(_ value: any Encodable, status: HTTPResponse.Status, headers: HTTPFields = [:]) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        (try? json(["error": message], status: status, headers: [.cacheControl: "no-store"]))
            ?? Response(status: status)
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
        guard let text = try parameter(request, "strategy") else { return .singlePass }
        guard let strategy = Strategy(rawValue: text) else {
            throw TallyError.invalid("unknown strategy; expected single-pass, grouped or naive")
        }
        return strategy
    }
}
