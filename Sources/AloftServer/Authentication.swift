import AloftCore
import AloftStore
import Foundation
import Hummingbird

/// The admin token, kept only as its SHA-256 and compared in constant time.
public struct AdminCredential: Sendable {
    private let digest: [UInt8]

    public init(token: String) {
        self.digest = Array(Digest.sha256Hex(token.utf8).utf8)
    }

    /// Compares digests, not tokens, so neither length nor content leaks through timing.
    public func accepts(_ presented: String) -> Bool {
        let candidate = Array(Digest.sha256Hex(presented.utf8).utf8)
        guard candidate.count == digest.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(candidate, digest) { difference |= a ^ b }
        return difference == 0
    }
}

/// Device tokens: `aloft_dev_` + 32 random bytes in base64url; the server stores only their SHA-256.
public enum DeviceToken {
    public static let prefix = "aloft_dev_"

    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()  // getrandom(2) / arc4random: a CSPRNG
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let base64url = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return prefix + base64url
    }

    public static func hash(_ token: String) -> String {
        Digest.sha256Hex(token.utf8)
    }
}

/// Resolves `Authorization: Bearer …` to the admin or a device and refuses the request (401) otherwise.
struct BearerAuthenticator<Store: FleetStore>: RouterMiddleware {
    typealias Context = AloftRequestContext

    /// Who may call the routes behind this middleware.
    enum Audience {
        case admin
        case device
        case deviceOrAdmin
    }

    let audience: Audience
    let admin: AdminCredential
    let store: Store

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = Self.bearerToken(request.headers[.authorization]) else {
            throw Self.unauthorized("missing 'Authorization: Bearer <token>' header")
        }
        var context = context
        if audience != .device, admin.accepts(token) {
            context.isAdmin = true
            return try await next(request, context)
        }
        if audience != .admin, let device = try await store.device(tokenHash: DeviceToken.hash(token)) {
            context.device = device
            return try await next(request, context)
        }
        throw Self.unauthorized(audience == .admin ? "this endpoint needs the admin token" : "unknown or revoked token")
    }

    static func bearerToken(_ header: String?) -> String? {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        let token = header.dropFirst(7).trimmingSpaces
        return token.isEmpty ? nil : String(token)
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, message, headers: [.wwwAuthenticate: "Bearer"])
    }
}
