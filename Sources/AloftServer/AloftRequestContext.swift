import AloftAPI
import AloftStore
import Foundation
import Hummingbird
import NIOCore

/// Per-request state: who is calling, resolved by ``BearerAuthenticator``.
public struct AloftRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Largest JSON body any endpoint decodes unless it says otherwise.
    public static let maxJSONBody = BodyLimit.json

    public var coreContext: CoreRequestContextStorage
    /// The client's address, for per-address rate limits; nil in router tests.
    public let remoteAddress: SocketAddress?
    /// The device whose token was presented.
    public var device: DeviceRecord?
    /// Whether an admin token was presented.
    public var isAdmin = false
    /// Which admin token: `bootstrap` or a stored token's name (for logs).
    public var adminName: String?
    /// SHA-256 (hex) of the admin token presented: the key of the console's cross-site request tokens.
    public var adminTokenHash: String?
    /// The enrollment whose secret was presented (`POST /api/v1/device/enroll` only).
    public var enrollment: EnrollmentRecord?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    public var maxUploadSize: Int { Self.maxJSONBody }

    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        // Stable key order for humans and diffs; slashes are written as they are.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
