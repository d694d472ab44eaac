import AloftCore
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Token buckets by key (a device, a client address), kept in memory: on average `perMinute` requests a minute,
/// in bursts of up to `burst`.
///
/// A bucket that has refilled completely behaves exactly like a missing one, so when the table reaches `maxKeys`
/// such buckets are dropped; if that frees too little (a flood from very many addresses), the table starts over.
/// Memory is bounded whatever the number of clients.
public final class RateLimiter: Sendable {
    public enum Decision: Equatable, Sendable {
        case allowed
        /// Whole seconds until the next request would be allowed (at least 1).
        case limited(retryAfter: Int)
    }

    /// Time since some fixed start; monotonic. Tests substitute a clock they advance by hand.
    public typealias Clock = @Sendable () -> Duration

    /// The continuous clock, from when the process first asked.
    public static let monotonicClock: Clock = {
        let start = ContinuousClock.now
        return { ContinuousClock.now - start }
    }()

    public let perMinute: Int
    public let burst: Int
    public let maxKeys: Int
    private let clock: Clock
    private let buckets = Mutex<[String: Bucket]>([:])

    private struct Bucket {
        var tokens: Double
        var updated: Duration
    }

    /// - Parameters:
    ///   - perMinute: sustained rate; must be positive.
    ///   - burst: requests allowed at once from a full bucket; `perMinute` when nil, so a quiet client may spend
    ///     a whole minute's allowance at once (a device fetching every file of a release).
    public init(perMinute: Int, burst: Int? = nil, maxKeys: Int = 100_000, clock: @escaping Clock = RateLimiter.monotonicClock) {
        precondition(perMinute > 0 && (burst ?? 1) > 0 && maxKeys > 0)
        self.perMinute = perMinute
        self.burst = burst ?? perMinute
        self.maxKeys = maxKeys
        self.clock = clock
    }

    /// Takes one token from `key`'s bucket if it has one.
    public func take(_ key: String) -> Decision {
        let now = clock()
        let perSecond = Double(perMinute) / 60
        let capacity = Double(burst)
        return buckets.withLock { buckets in
            var bucket: Bucket
            if let existing = buckets[key] {
                bucket = existing
                bucket.tokens = min(capacity, bucket.tokens + Self.seconds(now - bucket.updated) * perSecond)
            } else {
                if buckets.count >= maxKeys { Self.evict(&buckets, now: now, perSecond: perSecond, capacity: capacity, maxKeys: maxKeys) }
                bucket = Bucket(tokens: capacity, updated: now)
            }
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return .allowed
            }
            // A millisecond of slack keeps float noise (10.000000001 s) from adding a whole second.
            let wait = (1 - bucket.tokens) / perSecond - 0.001
            return .limited(retryAfter: max(1, Int(wait.rounded(.up))))
        }
    }

    /// Buckets currently held; for tests.
    public var count: Int { buckets.withLock { $0.count } }

    private static func evict(_ buckets: inout [String: Bucket], now: Duration, perSecond: Double, capacity: Double, maxKeys: Int) {
        buckets = buckets.filter { $0.value.tokens + seconds(now - $0.value.updated) * perSecond < capacity }
        // Freed too little: sweeping again on every new key would cost O(n) each time. Forgetting everyone only
        // hands each client a full bucket, which a new client gets anyway.
        if buckets.count > maxKeys / 2 { buckets.removeAll(keepingCapacity: true) }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return max(0, Double(seconds) + Double(attoseconds) * 1e-18)
    }
}

/// Limits on the device API: per device (its token) and per client address. 0 turns a limit off.
///
/// A device's blob downloads draw from a bucket of their own, which holds a whole release (its files and its file
/// list) and refills at ten times the device rate: a fresh install of a release of thousands of files is one burst,
/// and downloading never uses up the requests a device needs to check in and report.
public struct RateLimits: Sendable, Equatable {
    public var devicePerMinute: Int
    public var addressPerMinute: Int
    /// Blob requests a device may make at once (its downloads' bucket); the sustained rate is `downloadsPerMinute`.
    public var downloadBurst: Int

    /// Generous for real devices: a check-in every few minutes, and a whole release's files in one burst.
    public static let standard = RateLimits(devicePerMinute: 120, addressPerMinute: 1200)
    public static let off = RateLimits(devicePerMinute: 0, addressPerMinute: 0)

    public init(devicePerMinute: Int, addressPerMinute: Int, downloadBurst: Int = ReleaseManifest.maxFiles + 1) {
        self.devicePerMinute = devicePerMinute
        self.addressPerMinute = addressPerMinute
        self.downloadBurst = downloadBurst
    }

    /// Blob requests a minute each device may make once its burst is spent; 0 (no limit) with `devicePerMinute`.
    public var downloadsPerMinute: Int { devicePerMinute * 10 }
}

/// Answers 429 with `Retry-After` when the request's key has used up its bucket; requests without a key pass.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AloftRequestContext

    /// What a bucket belongs to; also the metrics label.
    enum Scope: String {
        /// The authenticated device, or the enrollment on the enroll endpoint. Admin requests are not limited.
        case device
        /// The client's address (an IPv6 client by its /64 network).
        case address
    }

    let limiter: RateLimiter?
    let scope: Scope
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let limiter, let key = key(context), case .limited(let retryAfter) = limiter.take(key) {
            metrics.rateLimited(scope: scope.rawValue)
            throw APIError(
                .tooManyRequests, "too many requests from this \(scope.rawValue); retry in \(retryAfter) s",
                headers: [.retryAfter: String(retryAfter)])
        }
        return try await next(request, context)
    }

    private func key(_ context: Context) -> String? {
        switch scope {
        case .device:
            if let device = context.device { return "device:" + device.id }
            if let enrollment = context.enrollment { return "enrollment:" + enrollment.name }
            return nil
        case .address:
            return Self.addressKey(context.remoteAddress)
        }
    }

    /// An IPv4 address as itself; an IPv6 address by its first 64 bits, since one client usually holds a whole /64.
    /// IPv4-mapped IPv6 addresses (a dual-stack listener) count as the IPv4 address they carry.
    static func addressKey(_ address: SocketAddress?) -> String {
        switch address {
        case .v4:
            return address?.ipAddress ?? "?"
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
                return bytes[12...].map(String.init).joined(separator: ".")
            }
            return Digest.hex(bytes[0..<8]) + "/64"
        case .unixDomainSocket, nil:
            return "local"
        }
    }
}
