import AloftAPI
import AloftCore
import AloftStore
import Foundation
import HTTPTypes
import Hummingbird

/// The bootstrap admin token given to `aloft serve`, kept only as its SHA-256 and compared in constant time.
public struct AdminCredential: Sendable {
    /// How the bootstrap token appears in logs; stored tokens may not take this name.
    public static let bootstrapName = "bootstrap"
    /// The stored admin token a first start without a bootstrap token makes (``buildApplication(_:)``).
    public static let firstStartName = "first-start"

    /// Nil: no bootstrap token; only stored admin tokens are accepted.
    private let digest: [UInt8]?

    public init(token: String?) {
        self.digest = token.map { Array(Digest.sha256Hex($0.utf8).utf8) }
    }

    /// Compares digests, not tokens, so neither length nor content leaks through timing.
    public func accepts(_ presented: String) -> Bool {
        accepts(hash: Digest.sha256Hex(presented.utf8))
    }

    /// The same for a presented token's SHA-256 (hex), when it is computed already.
    func accepts(hash: String) -> Bool {
        guard let digest else { return false }
        return Digest.constantTimeEqual(hash, String(decoding: digest, as: UTF8.self))
    }
}

/// The bearer secrets the server hands out: a kind prefix + 32 random bytes in base64url. Only their SHA-256 is stored.
///
/// The prefix says which table a presented secret is looked up in, so a device token is never mistaken
/// for an enrollment secret or an admin token, and leaked secrets are easy to spot in logs and repositories.
public enum BearerSecret: Sendable, CaseIterable {
    case device
    case admin
    case enrollment

    public var prefix: String {
        switch self {
        case .device: SecretFormat.devicePrefix
        case .admin: SecretFormat.adminPrefix
        case .enrollment: SecretFormat.enrollmentPrefix
        }
    }

    public func generate() -> String {
        var generator = SystemRandomNumberGenerator()  // getrandom(2) / arc4random: a CSPRNG
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let base64url = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return prefix + base64url
    }

    /// Whether `token` is of this kind; the bytes after the prefix are not checked (the hash lookup does that).
    func matches(_ token: String) -> Bool {
        token.hasPrefix(prefix)
    }

    public static func hash(_ secret: String) -> String {
        Digest.sha256Hex(secret.utf8)
    }
}

/// Resolves `Authorization: Bearer …` to an admin, a device or an enrollment and refuses the request (401) otherwise.
struct BearerAuthenticator<Store: FleetStore>: RouterMiddleware {
    typealias Context = AloftRequestContext

    /// Who may call the routes behind this middleware.
    enum Audience {
        case admin
        case device
        case deviceOrAdmin
        /// `POST /api/v1/device/enroll`: only an enrollment secret.
        case enrollment
    }

    let audience: Audience
    let admin: AdminCredential
    let store: Store
    /// Device tokens are looked up here: check-ins do not ask the database who is calling.
    let cache: FleetCache<Store>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Browsers cannot send a bearer header from the address bar: admin pages also take the token as a Basic password.
        guard let token = Self.bearerToken(request.headers[.authorization]) ?? (audience == .admin ? Self.basicPassword(request.headers[.authorization]) : nil)
        else {
            throw Self.unauthorized("missing 'Authorization: Bearer <token>' header", basic: audience == .admin)
        }
        var context = context
        let hash = BearerSecret.hash(token)
        switch audience {
        case .admin, .deviceOrAdmin:
            if let name = try await adminName(token, hash: hash) {
                context.isAdmin = true
                context.adminName = name
                context.adminTokenHash = hash
                return try await next(request, context)
            }
        case .device, .enrollment:
            break
        }
        switch audience {
        case .device, .deviceOrAdmin:
            if BearerSecret.device.matches(token), let device = try await cache.device(tokenHash: hash) {
                context.device = device
                return try await next(request, context)
            }
        case .enrollment:
            if BearerSecret.enrollment.matches(token), let enrollment = try await store.enrollment(secretHash: hash) {
                context.enrollment = enrollment
                return try await next(request, context)
            }
        case .admin:
            break
        }
        let message =
            switch audience {
            case .admin: "this endpoint needs an admin token"
            case .enrollment: "unknown or revoked enrollment secret"
            case .device, .deviceOrAdmin: "unknown or revoked token"
            }
        throw Self.unauthorized(message, basic: audience == .admin)
    }

    /// The admin's name for logs: `bootstrap` for the token given to `aloft serve`, else the stored token's name.
    private func adminName(_ token: String, hash: String) async throws -> String? {
        if admin.accepts(hash: hash) { return AdminCredential.bootstrapName }
        guard BearerSecret.admin.matches(token) else { return nil }
        return try await store.adminToken(tokenHash: hash)?.name
    }

    /// Whether `header` starts with `scheme` (lowercase ASCII) in any case; compared byte by byte, since every device
    /// request asks.
    static func hasSchemePrefix(_ header: String, _ scheme: StaticString) -> Bool {
        var bytes = header.utf8.makeIterator()
        for index in 0..<scheme.utf8CodeUnitCount {
            guard let byte = bytes.next() else { return false }
            let lower = (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte | 0x20 : byte
            if lower != scheme.utf8Start[index] { return false }
        }
        return true
    }

    static func bearerToken(_ header: String?) -> String? {
        // Tokens are short; a long header is refused before anything hashes or looks it up.
        guard let header, header.utf8.count <= 512, header.utf8.count > 7, hasSchemePrefix(header, "bearer ") else { return nil }
        let token = Substring(header.utf8.dropFirst(7)).trimmingSpaces
        return token.isEmpty ? nil : String(token)
    }

    /// The password of `Authorization: Basic base64(user:password)`; the user name is ignored.
    static func basicPassword(_ header: String?) -> String? {
        guard let header, header.utf8.count <= 512, header.utf8.count > 6, hasSchemePrefix(header, "basic "),
              let decoded = Data(base64Encoded: String(Substring(header.utf8.dropFirst(6)).trimmingSpaces)),
              let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        let password = text[text.index(after: colon)...]
        return password.isEmpty ? nil : String(password)
    }

    /// 401 with one `WWW-Authenticate` field per scheme: browsers (Chromium) read only the first challenge of a field, so
    /// `Bearer, Basic …` in one field never brings up the login prompt.
    static func unauthorized(_ message: String, basic: Bool = false) -> APIError {
        var headers: HTTPFields = [.wwwAuthenticate: "Bearer"]
        if basic { headers.append(HTTPField(name: .wwwAuthenticate, value: #"Basic realm="Aloft", charset="UTF-8""#)) }
        return APIError(.unauthorized, message, headers: headers)
    }
}
