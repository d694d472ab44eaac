import AloftCore
@testable import AloftServer
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

/// A clock tests move by hand.
final class ManualClock: Sendable {
    private let now = Mutex<Duration>(.zero)

    func advance(by duration: Duration) { now.withLock { $0 += duration } }
    var clock: RateLimiter.Clock { { self.now.withLock { $0 } } }
}

@Suite struct RateLimiterTests {
    @Test func bucketsRefillAtTheSustainedRate() {
        let time = ManualClock()
        let limiter = RateLimiter(perMinute: 60, burst: 3, clock: time.clock)
        #expect((0..<3).map { _ in limiter.take("a") } == [.allowed, .allowed, .allowed])
        #expect(limiter.take("a") == .limited(retryAfter: 1))
        #expect(limiter.take("b") == .allowed, "buckets are per key")

        time.advance(by: .milliseconds(500))
        #expect(limiter.take("a") == .limited(retryAfter: 1), "half a token is not a token")
        time.advance(by: .milliseconds(500))
        #expect(limiter.take("a") == .allowed)
        time.advance(by: .seconds(3600))
        #expect((0..<4).map { _ in limiter.take("a") } == [.allowed, .allowed, .allowed, .limited(retryAfter: 1)], "never more than the burst")
    }

    @Test func retryAfterSaysWhenTheNextTokenArrives() {
        let time = ManualClock()
        let limiter = RateLimiter(perMinute: 2, clock: time.clock)  // one token every 30 s
        #expect(limiter.take("d") == .allowed)
        #expect(limiter.take("d") == .allowed)
        #expect(limiter.take("d") == .limited(retryAfter: 30))
        time.advance(by: .seconds(20))
        #expect(limiter.take("d") == .limited(retryAfter: 10))
        time.advance(by: .seconds(10))
        #expect(limiter.take("d") == .allowed)
    }

    @Test func memoryStaysBoundedWhateverTheNumberOfKeys() {
        let time = ManualClock()
        let limiter = RateLimiter(perMinute: 600, maxKeys: 100, clock: time.clock)
        for i in 0..<10_000 { _ = limiter.take("client-\(i)") }
        #expect(limiter.count <= 100)

        // Buckets that have refilled are dropped first; busy ones survive a sweep.
        let fresh = RateLimiter(perMinute: 60, burst: 2, maxKeys: 10, clock: time.clock)
        _ = fresh.take("busy")
        _ = fresh.take("busy")
        for i in 0..<9 { _ = fresh.take("idle-\(i)") }
        time.advance(by: .seconds(1))
        _ = fresh.take("newcomer")  // the table is full: idle buckets (refilled after 1 s) go, "busy" stays
        #expect(fresh.count == 2)
        // A new bucket would allow two; the busy one has refilled only one token.
        #expect([fresh.take("busy"), fresh.take("busy")] == [.allowed, .limited(retryAfter: 1)], "the busy bucket kept its state")
    }

    @Test func addressesAreKeyedByHostAndIPv6ByNetwork() throws {
        #expect(RateLimitMiddleware.addressKey(try SocketAddress(ipAddress: "192.0.2.7", port: 1234)) == "192.0.2.7")
        #expect(RateLimitMiddleware.addressKey(try SocketAddress(ipAddress: "192.0.2.7", port: 9)) == "192.0.2.7")
        let a = RateLimitMiddleware.addressKey(try SocketAddress(ipAddress: "2001:db8:1:2::1", port: 1))
        let b = RateLimitMiddleware.addressKey(try SocketAddress(ipAddress: "2001:db8:1:2:ffff::9", port: 1))
        let c = RateLimitMiddleware.addressKey(try SocketAddress(ipAddress: "2001:db8:1:3::1", port: 1))
        #expect(a == b && a != c && a.hasSuffix("/64"))
        #expect(RateLimitMiddleware.addressKey(try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 1)) == "192.0.2.7")
        #expect(RateLimitMiddleware.addressKey(nil) == "local")
    }
}

@Suite struct RateLimitHTTPTests {
    @Test func aDeviceOverItsLimitGets429WithRetryAfter() async throws {
        // The buckets' clock stands still, so a slow machine does not refill them between the requests.
        try await TestFleet.run(rateLimits: RateLimits(devicePerMinute: 3, addressPerMinute: 0), rateLimitClock: { .zero }) { fleet in
            let token = try await fleet.registerDevice("dev-1")
            let other = try await fleet.registerDevice("dev-2")
            for _ in 0..<3 { #expect(try await fleet.checkIn("dev-1", token: token).status == .ok) }
            let limited = try await fleet.checkIn("dev-1", token: token)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.errorCode == "rate_limited")
            #expect((limited.object["message"] as? String)?.isEmpty == false)
            #expect(limited.headers[.retryAfter] == "20", "3 a minute: the next token comes 20 s later")
            #expect(limited.headers[.contentType]?.hasPrefix("application/json") == true)
            // Events draw from the same bucket; blob downloads from one of their own.
            let sha = try await fleet.putBlob(Array("b".utf8))
            #expect(try await fleet.send(.post, "/api/v1/device/events", token: token, json: #"{"id":"dev-1","type":"failed"}"#).status == .tooManyRequests)
            #expect(try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token).status == .ok)

            #expect(try await fleet.checkIn("dev-2", token: other).status == .ok, "another device has its own bucket")
            #expect(try await fleet.send(.get, "/api/v1/blobs/\(sha)").status == .ok, "the admin is not limited")
            #expect(try await fleet.send(.get, "/api/v1/admin/devices").status == .ok)
            let metrics = try await fleet.send(.get, "/metrics").text
            #expect(metrics.contains(#"aloft_rate_limited_total{scope="device"} 2"#), "\(metrics)")
        }
    }

    @Test func anAddressOverItsLimitGets429EvenWithBadTokens() async throws {
        try await TestFleet.run(rateLimits: RateLimits(devicePerMinute: 0, addressPerMinute: 4), rateLimitClock: { .zero }) { fleet in
            let token = try await fleet.registerDevice("dev-1")
            // Guessing tokens costs requests like anything else.
            for _ in 0..<4 { #expect(try await fleet.checkIn("dev-1", token: "aloft_dev_guess").status == .unauthorized) }
            let limited = try await fleet.checkIn("dev-1", token: token)
            #expect(limited.status == .tooManyRequests && limited.errorCode == "rate_limited")
            #expect(limited.headers[.retryAfter] == "15")
            #expect(try await fleet.send(.post, "/api/v1/device/enroll", token: "aloft_enr_x", json: #"{"id":"a"}"#).status == .tooManyRequests)
            #expect(try await fleet.send(.get, "/healthz", token: nil).status == .ok)
        }
    }

    @Test func blobDownloadsHaveABucketOfTheirOwn() async throws {
        // 3 requests a minute: downloads refill at 30 a minute, after a burst of 5 here (a whole release by default).
        let limits = RateLimits(devicePerMinute: 3, addressPerMinute: 0, downloadBurst: 5)
        try await TestFleet.run(rateLimits: limits, rateLimitClock: { .zero }) { fleet in
            let token = try await fleet.registerDevice("dev-1")
            let sha = try await fleet.putBlob(Array(String(repeating: "temperature=21.5;", count: 200).utf8))
            for _ in 0..<4 { #expect(try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token).status == .ok) }
            #expect(try await fleet.send(.get, "/api/v1/blobs/\(sha)/zlib", token: token).status == .ok, "both forms count")
            let limited = try await fleet.send(.get, "/api/v1/blobs/\(sha)", token: token)
            #expect(limited.status == .tooManyRequests && limited.errorCode == "rate_limited")
            #expect(limited.headers[.retryAfter] == "2", "30 a minute: the next one 2 s later")
            for _ in 0..<3 { #expect(try await fleet.checkIn("dev-1", token: token).status == .ok, "downloads left check-ins alone") }
            #expect(try await fleet.checkIn("dev-1", token: token).status == .tooManyRequests)
        }
        #expect(RateLimits.standard.downloadBurst == ReleaseManifest.maxFiles + 1, "the largest release and its file list at once")
        #expect(RateLimits.standard.downloadsPerMinute == 1200)
    }

    @Test func defaultLimitsLetADeviceFetchAWholeRelease() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            let files = (0..<30).map { TestRelease.File(path: "lib/f\($0).py", bytes: Array("print(\($0))\n".utf8)) }
            try await fleet.publish(TestRelease(files: files))
            #expect(try await fleet.checkIn("dev-1", token: token).object["action"] as? String == "update")
            #expect(try await fleet.send(.post, "/api/v1/device/events", token: token, json: #"{"id":"dev-1","type":"downloading"}"#).status == .noContent)
            for file in files {
                #expect(try await fleet.send(.get, "/api/v1/blobs/\(file.sha256)", token: token).status == .ok)
            }
            let installed = #"{"id":"dev-1","type":"installed","version":"1.0.0","sequence":1}"#
            #expect(try await fleet.send(.post, "/api/v1/device/events", token: token, json: installed).status == .noContent)
            #expect(try await fleet.checkIn("dev-1", token: token, sequence: 1).status == .ok)
        }
    }
}
