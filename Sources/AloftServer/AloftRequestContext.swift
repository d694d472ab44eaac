import AloftStore
import Foundation
import Hummingbird

/// Per-request state: who is calling, resolved by ``BearerAuthenticator``.
public struct AloftRequestContext: RequestContext {
    /// Largest JSON body any endpoint decodes unless it says otherwise.
    public static let maxJSONBody = 64 * 1024

    public var coreContext: CoreRequestContextStorage
    /// The device whose token was presented.
    public var device: DeviceRecord?
    /// Whether the admin token was presented.
    public var isAdmin = false

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    public var maxUploadSize: Int { Self.maxJSONBody }

    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        // Stable key order for humans and diffs; slashes are written as they are.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
