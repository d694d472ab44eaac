import AloftAPI
import Hummingbird

/// Registers the handlers of the API's operations (``APIOperation``) on the router, each behind the middleware its access
/// calls for: the route's method and path, and who may call it, come from the same description as the OpenAPI document.
struct RouteTable {
    typealias Handler = @Sendable (Request, AloftRequestContext) async throws -> Response

    private let groups: [APIOperation.Access: RouterGroup<AloftRequestContext>]

    /// `middleware` says, for each kind of access, what runs before the handler (in order); every kind must be given.
    init(router: Router<AloftRequestContext>, middleware: [APIOperation.Access: [any MiddlewareProtocol<Request, Response, AloftRequestContext>]]) {
        var groups: [APIOperation.Access: RouterGroup<AloftRequestContext>] = [:]
        for access in APIOperation.Access.allCases {
            guard let chain = middleware[access] else { preconditionFailure("no middleware given for access '\(access)'") }
            let group = router.group()
            for middleware in chain { group.add(middleware: middleware) }
            groups[access] = group
        }
        self.groups = groups
    }

    func add(_ operation: APIOperation, use handler: @escaping Handler) {
        groups[operation.access]!.on(Self.routerPath(operation.path), method: HTTPRequest.Method(operation.method), use: handler)
    }

    /// An OpenAPI path template as a Hummingbird route: `/api/v1/blobs/{sha256}` → `api/v1/blobs/:sha256`.
    static func routerPath(_ template: String) -> RouterPath {
        RouterPath(
            template.split(separator: "/").map { segment in
                segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : segment
            }.joined(separator: "/"))
    }
}

extension HTTPRequest.Method {
    init(_ method: APIOperation.Method) {
        switch method {
        case .get: self = .get
        case .post: self = .post
        case .put: self = .put
        case .delete: self = .delete
        }
    }
}

/// 405 with `Allow` for a method that a path of the API does not take, where the router alone would answer 404.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let methods = APIOperation.methods(at: request.uri.path)
        guard methods.isEmpty || methods.contains(where: { $0.rawValue == request.method.rawValue }) else {
            let allowed = methods.map(\.rawValue).sorted().joined(separator: ", ")
            throw APIError(.methodNotAllowed, "\(request.method.rawValue.prefix(20)) is not a method of this path; it takes \(allowed)", headers: [.allow: allowed])
        }
        return try await next(request, context)
    }
}
