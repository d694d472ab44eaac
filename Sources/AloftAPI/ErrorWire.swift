/// The body of every error answer (docs/protocol.md, "Errors").
public struct ErrorResponse: Codable, Sendable, Equatable {
    /// A stable machine code: one of ``ErrorCode``.
    public var error: String
    /// One line for people.
    public var message: String
    /// Blobs a release needs that the server lacks (409 on publish only); left out otherwise.
    public var missing: [String]?

    public init(error: String, message: String, missing: [String]? = nil) {
        self.error = error
        self.message = message
        self.missing = missing
    }
}

/// The machine codes of ``ErrorResponse/error``, one for each kind of refusal.
public enum ErrorCode: String, Sendable, CaseIterable {
    case badRequest = "bad_request"
    case unauthorized
    case forbidden
    case notFound = "not_found"
    case conflict
    case payloadTooLarge = "payload_too_large"
    case rangeNotSatisfiable = "range_not_satisfiable"
    case rateLimited = "rate_limited"
    case `internal`

    /// The code of an error answer with this HTTP status.
    public init(status: Int) {
        self =
            switch status {
            case 401: .unauthorized
            case 403: .forbidden
            case 404, 405: .notFound
            case 409: .conflict
            case 413: .payloadTooLarge
            case 416: .rangeNotSatisfiable
            case 429: .rateLimited
            case 400..<500: .badRequest
            default: .internal
            }
    }
}

/// How the bearer secrets the server makes are spelt: their kind's prefix, then 32 random bytes in base64url without
/// padding. The prefix says what a secret is good for, and makes a leaked one easy to spot.
public enum SecretFormat {
    public static let devicePrefix = "aloft_dev_"
    public static let adminPrefix = "aloft_adm_"
    public static let enrollmentPrefix = "aloft_enr_"
    /// Characters after the prefix: 32 bytes in base64url.
    public static let randomCharacters = 43
}

extension ErrorResponse: WireSchema {
    public static var schema: JSONSchema {
        .object(
            required: [
                "error": JSONSchema.string(oneOf: ErrorCode.allCases.map(\.rawValue)).described("A stable machine code."),
                "message": JSONSchema.string().described("One line for people."),
            ],
            optional: [
                "missing": JSONSchema.array(of: .sha256).described("409 on publish: the blobs to upload first.")
            ]
        )
    }
}
