import AloftAPI
import AloftCore
import AloftStore
import Foundation
import Hummingbird

/// An error answer: status, stable machine code and a sentence for humans (docs/protocol.md, "Errors").
struct APIError: Error, Sendable, Equatable {
    var status: HTTPResponse.Status
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`, `payload_too_large`,
    /// `range_not_satisfiable`, `rate_limited` or `internal`.
    var code: String
    var message: String
    /// Extra response headers, e.g. `Content-Range` on 416.
    var headers: HTTPFields = [:]
    /// Blobs a release needs that the server lacks (409 on publish).
    var missing: [String]? = nil

    init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:], missing: [String]? = nil) {
        self.status = status
        self.code = Self.code(for: status)
        self.message = message
        self.headers = headers
        self.missing = missing
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }
    static func forbidden(_ message: String) -> APIError { APIError(.forbidden, message) }
    static func conflict(_ message: String) -> APIError { APIError(.conflict, message) }
    static func payloadTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, "request body is larger than the \(limit) bytes this endpoint accepts")
    }

    static func code(for status: HTTPResponse.Status) -> String {
        ErrorCode(status: status.code).rawValue
    }

    /// The error as the protocol's JSON body.
    func response() -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(ErrorResponse(error: code, message: message, missing: missing)))
            ?? Data(#"{"error":"internal","message":"internal error"}"#.utf8)
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.contentLength] = String(data.count)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Translates anything a handler, middleware or Hummingbird itself throws.
    static func from(_ error: any Error) -> APIError? {
        switch error {
        case let error as APIError:
            return error
        case let error as StoreError:
            switch error {
            case .deviceExists: return .conflict(error.description)
            case .deviceNotFound: return .notFound(error.description)
            case .sequenceNotIncreasing, .sequenceNotAboveDevices, .versionExists: return .conflict(error.description)
            case .adminTokenExists, .enrollmentExists: return .conflict(error.description)
            case .adminTokenNotFound, .enrollmentNotFound, .rolloutNotFound: return .notFound(error.description)
            }
        case let error as AloftError:
            return .badRequest(error.message)
        case let error as BlobStore.HashMismatch:
            return .badRequest(error.description)
        case let error as DecodingError:
            return .badRequest("request body is not valid: \(describe(error))")
        case let error as HTTPError:
            return APIError(error.status, error.body ?? defaultMessage(error.status))
        case let error as any HTTPResponseError:
            // Hummingbird's own, e.g. NIOTooManyBytesError when a body passes its limit.
            return APIError(error.status, defaultMessage(error.status))
        default:
            return nil
        }
    }

    static func defaultMessage(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 404, 405: "no such endpoint or resource"
        case 413: "request body is too large"
        default: status.reasonPhrase.isEmpty ? "HTTP \(status.code)" : status.reasonPhrase.lowercased()
        }
    }

    /// A decoding error as one line that names the field.
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing field '\(path(context.codingPath + [key]))'"
        case .typeMismatch(let type, let context): return "wrong type at '\(path(context.codingPath))' (expected \(typeName(type)))"
        case .valueNotFound(let type, let context): return "null or missing value at '\(path(context.codingPath))' (expected \(typeName(type)))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "malformed JSON" : "bad value at '\(path(context.codingPath))'"
        @unknown default: return "malformed JSON"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        let name = String(describing: type)
        switch name {
        case "String": return "a string"
        case "Int", "Int64": return "an integer"
        case "Bool": return "true or false"
        default:
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return name
        }
    }
}

/// Turns every thrown error into the protocol's JSON error body; unexpected ones become a logged 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            if let apiError = APIError.from(error) {
                return apiError.response()
            }
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return APIError(.internalServerError, "internal error; the server log has details").response()
        }
    }
}
