import Foundation
public import Hummingbird
import NIOCore
public import TallyCore

/// A `TallyError` renders itself over HTTP: its status from its kind, and a
/// JSON body `{"error": "…"}` whose sentence never names a server path.
extension TallyError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch kind {
        case .invalidInput: .badRequest
        case .notFound: .notFound
        case .state: .conflict
        case .busy: .serviceUnavailable
        case .file, .schema, .database: .internalServerError
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.cacheControl: "no-store"]
        // A pool timeout passes: the client may try again in a second.
        if kind == .busy { headers[.retryAfter] = "1" }
        return JSONBody.error(status, publicMessage, headers: headers)
    }
}

/// JSON responses.
enum JSONBody {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func response(_ value: any Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// `{"error": message}`; never fails.
    static func error(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [.cacheControl: "no-store"]) -> Response {
        (try? response(["error": message], status: status, headers: headers)) ?? Response(status: status, headers: headers)
    }
}
