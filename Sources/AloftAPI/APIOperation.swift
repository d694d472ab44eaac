import AloftCore

/// One operation of the HTTP API: method and path, who may call it, what it takes and what it answers.
///
/// ``all`` is the one description of the API: the server registers its routes from it (each behind the middleware its
/// ``access`` calls for) and ``OpenAPIDocument`` is built from it, so the two cannot tell different stories.
public struct APIOperation: Sendable {
    public enum Method: String, Sendable, CaseIterable {
        case get = "GET"
        case post = "POST"
        case put = "PUT"
        case delete = "DELETE"
    }

    /// Who may call an operation. The server picks its middleware from this (authentication and, on the device API, rate
    /// limits); the document its security requirement and its 401 and 429 answers.
    public enum Access: String, Sendable, CaseIterable {
        /// No credential: `/healthz` and this document.
        case anyone
        /// An admin token (the bootstrap token or a stored one), as a bearer token or as a Basic password.
        case admin
        /// A device token.
        case device
        /// A device token or an admin token: blobs (a device's downloads have a rate bucket of their own).
        case deviceOrAdmin
        /// An enrollment secret: `POST /api/v1/device/enroll` only.
        case enrollment

        /// The device API is rate-limited per device and per client address; admin calls are not.
        public var isRateLimited: Bool {
            switch self {
            case .device, .deviceOrAdmin, .enrollment: true
            case .anyone, .admin: false
            }
        }
    }

    /// A group of operations in the document.
    public enum Tag: String, Sendable, CaseIterable {
        case device
        case blobs
        case management
        case access
        /// The fleet console: HTML pages and the forms they post, for a browser.
        case console
        case service
    }

    /// What a body is.
    public enum Content: Sendable {
        /// `application/json` matching the schema.
        case json(JSONSchema)
        /// `application/octet-stream`: a blob's bytes.
        case bytes
        /// Text of this media type (Prometheus exposition, HTML).
        case text(mediaType: String)
        /// `application/x-www-form-urlencoded` fields, as the schema of an object: what an HTML form posts.
        case form(JSONSchema)
    }

    /// A path, query or header parameter.
    public struct Parameter: Sendable {
        public enum Location: String, Sendable {
            case path
            case query
            case header
        }

        public var name: String
        public var location: Location
        public var required: Bool
        public var schema: JSONSchema
        public var description: String

        public static func path(_ name: String, _ schema: JSONSchema, _ description: String) -> Parameter {
            Parameter(name: name, location: .path, required: true, schema: schema, description: description)
        }

        public static func query(_ name: String, _ schema: JSONSchema, _ description: String) -> Parameter {
            Parameter(name: name, location: .query, required: false, schema: schema, description: description)
        }

        public static func header(_ name: String, _ description: String) -> Parameter {
            Parameter(name: name, location: .header, required: false, schema: .string(), description: description)
        }
    }

    /// A response header.
    public struct Header: Sendable {
        public var name: String
        public var description: String
        public var required: Bool
        public var schema: JSONSchema

        public init(_ name: String, _ description: String, required: Bool = true, schema: JSONSchema = .string()) {
            self.name = name
            self.description = description
            self.required = required
            self.schema = schema
        }
    }

    /// One possible answer.
    public struct Response: Sendable {
        public var status: Int
        public var description: String
        /// Nil for an answer without a body (204, 304).
        public var content: Content?
        public var headers: [Header]

        public init(_ status: Int, _ description: String, _ content: Content? = nil, headers: [Header] = []) {
            self.status = status
            self.description = description
            self.content = content
            self.headers = headers
        }

        /// A JSON answer whose body is a wire type.
        public static func json<T: WireSchema>(_ status: Int, _ description: String, _ type: T.Type, headers: [Header] = []) -> Response {
            Response(status, description, .json(.ref(type)), headers: headers)
        }

        /// An error answer: ``ErrorResponse`` as its body.
        public static func error(_ status: Int, _ description: String, headers: [Header] = []) -> Response {
            json(status, description, ErrorResponse.self, headers: headers)
        }
    }

    /// The `operationId`.
    public var id: String
    public var method: Method
    /// The path as an OpenAPI template, e.g. `/api/v1/admin/devices/{id}`.
    public var path: String
    public var access: Access
    public var tag: Tag
    public var summary: String
    public var parameters: [Parameter]
    public var requestBody: Content?
    /// The largest request body the server reads; more is 413.
    public var bodyLimit: Int?
    /// The answers particular to this operation; ``responses`` adds those that follow from its access and inputs.
    public var answers: [Response]

    public init(
        id: String, _ method: Method, _ path: String, access: Access, tag: Tag, summary: String, parameters: [Parameter] = [],
        body: Content? = nil, bodyLimit: Int? = nil, answers: [Response]
    ) {
        precondition((body == nil) == (bodyLimit == nil), "an operation with a body says how large it may be")
        self.id = id
        self.method = method
        self.path = path
        self.access = access
        self.tag = tag
        self.summary = summary
        self.parameters = parameters
        self.requestBody = body
        self.bodyLimit = bodyLimit
        self.answers = answers
    }

    /// Every answer the operation can give: its own, and 400, 401, 413 and 429 where its inputs and access call for them.
    public var responses: [Response] {
        var responses = answers
        func add(_ response: Response) {
            if !responses.contains(where: { $0.status == response.status }) { responses.append(response) }
        }
        if requestBody != nil || !parameters.isEmpty {
            add(.error(400, "A parameter or the body breaks a rule of this document; the message names it."))
        }
        if access != .anyone {
            add(
                .error(
                    401, "No credential, or not one this operation takes (unknown, revoked, or of another kind).",
                    headers: [Header("WWW-Authenticate", "The schemes this operation takes.")]))
        }
        if let bodyLimit {
            add(.error(413, "The body is larger than \(bodyLimit) bytes; refused before it is read when Content-Length says so."))
        }
        if access.isRateLimited {
            add(
                .error(
                    429, "Too many requests from this device or client address.",
                    headers: [Header("Retry-After", "Seconds until a request is allowed again.", schema: .integer(minimum: 1))]))
        }
        return responses.sorted { $0.status < $1.status }
    }

    /// Whether a requested path (no query) is this operation's, each `{parameter}` standing for one segment.
    public func matches(path: String) -> Bool {
        let requested = path.split(separator: "/")
        let template = self.path.split(separator: "/")
        return requested.count == template.count && zip(requested, template).allSatisfy { $1.hasPrefix("{") || $0 == $1 }
    }

    /// The methods a requested path takes: those of the most specific path template it matches, as a router picks it
    /// (a literal segment wins over a `{parameter}` at the first place they differ); empty when it matches none.
    public static func methods(at path: String, among operations: [APIOperation]? = nil) -> [Method] {
        (operations.map(RouteIndex.init) ?? .standard).best(path).map(\.method)
    }

    /// The operation a request for `path` with `method` is routed to, by the same rule as ``methods(at:among:)``: of the
    /// templates that match, the one with a literal where another has a parameter.
    public static func operation(_ method: Method, at path: String, among operations: [APIOperation]? = nil) -> APIOperation? {
        (operations.map(RouteIndex.init) ?? .standard).best(path).first { $0.method == method }
    }

    /// The names of the path's `{parameters}`, in order.
    public var pathParameterNames: [String] {
        path.split(separator: "/").compactMap { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? String(segment.dropFirst().dropLast()) : nil
        }
    }
}

/// The largest bodies the server reads (docs/protocol.md, "Request limits").
public enum BodyLimit {
    /// A JSON body, unless the operation says otherwise.
    public static let json = 64 * 1024
    /// A release's envelopes: the largest format-1 manifest (the legacy envelope) plus escaping and signatures, and a
    /// format-2 manifest, which is much smaller.
    public static let releaseEnvelope = 4 * ReleaseManifest.legacyMaxEncodedBytes
    /// A blob: the largest file a release may carry.
    public static let blob = ReleaseManifest.maxFileSize
}

/// The path templates of a list of operations, split once, by number of segments: every request asks which operation
/// its path is (metrics, 405 answers), and splitting every template each time cost more than the request itself.
struct RouteIndex: Sendable {
    private struct Template: Sendable {
        var operation: APIOperation
        /// Each segment: its literal text, or nil for a `{parameter}`.
        var segments: [String?]
    }

    private let bySegmentCount: [Int: [Template]]
    /// The operations of each path without parameters, by the path as written: a request for one (a check-in, `/healthz`)
    /// is one look-up instead of a split and a walk. No template can be more specific than one with only literals.
    private let literalPaths: [String: [APIOperation]]

    init(_ operations: [APIOperation]) {
        var index: [Int: [Template]] = [:]
        var literal: [String: [APIOperation]] = [:]
        for operation in operations {
            let segments = operation.path.split(separator: "/").map { $0.hasPrefix("{") ? nil : String($0) }
            index[segments.count, default: []].append(Template(operation: operation, segments: segments))
            if !segments.contains(nil) { literal[operation.path, default: []].append(operation) }
        }
        bySegmentCount = index
        literalPaths = literal
    }

    static let standard = RouteIndex(APIOperation.all)

    /// The operations of the most specific template `path` matches (one per method).
    func best(_ path: String) -> [APIOperation] {
        // `all` when no list is given (the usual case): see ``APIOperation/methods(at:among:)``.
        if let operations = literalPaths[path] { return operations }
        let requested = path.split(separator: "/")
        guard let candidates = bySegmentCount[requested.count] else { return [] }
        var best: [Template] = []
        for template in candidates where zip(requested, template.segments).allSatisfy({ $1 == nil || $0 == $1! }) {
            guard let first = best.first else {
                best = [template]
                continue
            }
            // A literal (non-nil) where the other has a parameter, at the first place they differ, is more specific.
            let shape = template.segments.map { $0 == nil }, bestShape = first.segments.map { $0 == nil }
            if shape == bestShape {
                best.append(template)
            } else if shape.lexicographicallyPrecedes(bestShape, by: { !$0 && $1 }) {
                best = [template]
            }
        }
        return best.map(\.operation)
    }
}
