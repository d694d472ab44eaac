import AloftCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Lasting and passing failures over HTTP: a `failed` event is remembered, the check-in withholds the release (a lasting
/// failure until something changes, a passing one for a backoff it tells the device through `poll`), and
/// `POST /api/v1/admin/devices/{id}/retry` forgets, with a clock the test sets.
@Suite struct FailureAPITests {
    static let start = ReleaseManifest.date(fromTimestamp: "2026-12-02T12:00:00Z")!
    static let noFlash = "insufficient storage: need 843776 bytes, 307200 free"

    func failed(_ fleet: TestFleet, token: String, sequence: Int = 2, reason: String) async throws {
        let response = try await fleet.send(
            .post, "/api/v1/device/events", token: token,
            json: #"{"id":"dev-1","type":"failed","version":"1.0.\#(sequence)","sequence":\#(sequence),"reason":"\#(reason)"}"#)
        try #require(response.status == .noContent, "\(response.text)")
    }

    /// A check-in of dev-1 running sequence 1 with `free` bytes of free flash: the answer's action and poll.
    func checkIn(_ fleet: TestFleet, token: String, free: Int = 307_200) async throws -> (action: String?, poll: Int?) {
        let response = try await fleet.send(
            .post, "/api/v1/device/checkin", token: token,
            json: #"{"id":"dev-1","version":"1.0.1","sequence":1,"board":"esp32","micropython":"1.22.0","format":2,"free":\#(free)}"#)
        try #require(response.status == .ok, "\(response.text)")
        return (response.object["action"] as? String, response.object["poll"] as? Int)
    }

    func decision(_ fleet: TestFleet) async throws -> [String: Any] {
        try #require(try await fleet.send(.get, "/api/v1/admin/devices/dev-1").object["decision"] as? [String: Any])
    }

    func publish(_ fleet: TestFleet, _ sequence: Int) async throws {
        let release = TestRelease(version: "1.0.\(sequence)", sequence: sequence, files: [.init(path: "main.py", bytes: Array("v\(sequence)".utf8))])
        try #require(try await fleet.publish(release).status == .created)
    }

    @Test func aLastingFailureIsNotOfferedAgainUntilMoreFlashANewerReleaseOrARetry() async throws {
        let clock = TestClock(Self.start)
        try await TestFleet.run(pollInterval: 300, clock: clock.read) { fleet in
            let token = try await fleet.registerDevice("dev-1")
            try await publish(fleet, 1)
            try await publish(fleet, 2)
            #expect(try await checkIn(fleet, token: token).action == "update")
            try await failed(fleet, token: token, reason: Self.noFlash)
            // Withheld at every check-in, however much later, with the usual poll.
            for _ in 0..<5 {
                clock.advance(by: 86400)
                let answer = try await checkIn(fleet, token: token)
                #expect(answer.action == "none" && answer.poll == 300)
            }
            let withheld = try await decision(fleet)
            #expect(withheld["reason"] as? String == "failed-lasting")
            #expect(withheld["offer"] is NSNull)
            #expect(withheld["why"] as? String == "failed 1.0.2 (1×, lasting (no flash)): \(Self.noFlash); not offered again until it reports "
                + "more than 307200 bytes of free flash, a newer release comes or `aloft device retry --id dev-1`")
            let failure = try #require(withheld["failure"] as? [String: Any])
            #expect(failure["attempts"] as? Int == 1 && failure["kind"] as? String == "no-flash" && failure["free"] as? Int == 307_200)
            #expect(failure["reason"] as? String == Self.noFlash && failure["version"] as? String == "1.0.2" && failure["retryAt"] is NSNull)
            // The listing says the same.
            let listed = try await fleet.send(.get, "/api/v1/admin/devices").object["devices"] as? [[String: Any]]
            #expect((listed?.first?["decision"] as? [String: Any])?["reason"] as? String == "failed-lasting")

            // More free flash: offered again; the view shows the failure it is offered despite.
            #expect(try await checkIn(fleet, token: token, free: 400_000).action == "update")
            let again = try await decision(fleet)
            #expect(again["reason"] as? String == "newest" && (again["failure"] as? [String: Any])?["attempts"] as? Int == 1)
            try await failed(fleet, token: token, reason: Self.noFlash)
            #expect(try await checkIn(fleet, token: token, free: 400_000).action == "none")
            #expect((try await decision(fleet)["failure"] as? [String: Any])?["attempts"] as? Int == 2)

            // A retry of another version forgets nothing of this one; a retry of it (or of all) does.
            try await publish(fleet, 3)
            #expect(try await checkIn(fleet, token: token).action == "update")  // a newer release is considered as usual
            let other = try await fleet.send(.post, "/api/v1/admin/devices/dev-1/retry?version=1.0.3")
            #expect(other.status == .ok, "\(other.text)")
            #expect((other.object["cleared"] as? [Any])?.isEmpty == true)
            try await failed(fleet, token: token, sequence: 3, reason: "incompatible: board esp32 not in rp2-*")
            #expect(try await checkIn(fleet, token: token).action == "none")
            #expect(try await decision(fleet)["why"] as? String
                == "failed 1.0.3 (1×, lasting): incompatible: board esp32 not in rp2-*; not offered again until a newer release comes or `aloft device retry --id dev-1`")
            let one = try await fleet.send(.post, "/api/v1/admin/devices/dev-1/retry?version=1.0.3")
            #expect(one.status == .ok, "\(one.text)")
            #expect((one.object["cleared"] as? [[String: Any]])?.map { $0["version"] as? String } == ["1.0.3"])
            #expect(((one.object["device"] as? [String: Any])?["decision"] as? [String: Any])?["offer"] as? String == "1.0.3")
            #expect(try await checkIn(fleet, token: token).action == "update")
            let all = try await fleet.send(.post, "/api/v1/admin/devices/dev-1/retry")
            #expect(all.status == .ok)
            #expect((all.object["cleared"] as? [[String: Any]])?.map { $0["sequence"] as? Int } == [2])
            #expect((try await fleet.send(.post, "/api/v1/admin/devices/dev-1/retry").object["cleared"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func installingTheReleaseForgetsItsFailures() async throws {
        try await TestFleet.run(clock: TestClock(Self.start).read) { fleet in
            let token = try await fleet.registerDevice("dev-1")
            try await publish(fleet, 2)
            try await failed(fleet, token: token, reason: "download of main.py failed: ECONNRESET")
            #expect((try await decision(fleet)["failure"] as? [String: Any])?["kind"] as? String == "passing")
            let installed = try await fleet.send(
                .post, "/api/v1/device/events", token: token, json: #"{"id":"dev-1","type":"installed","version":"1.0.2","sequence":2}"#)
            #expect(installed.status == .noContent)
            #expect(try await decision(fleet)["failure"] is NSNull)
        }
    }

    @Test func aPassingFailureBacksOffWithGrowingIntervalsAndTellsTheDeviceWhenToComeBack() async throws {
        let clock = TestClock(Self.start)
        try await TestFleet.run(pollInterval: 86400, clock: clock.read) { fleet in
            let token = try await fleet.registerDevice("dev-1")
            try await publish(fleet, 2)
            var waits: [Int] = []
            for _ in 0..<11 {
                #expect(try await checkIn(fleet, token: token).action == "update")
                try await failed(fleet, token: token, reason: "connection closed after 1000 of 60000 bytes of main.py")
                // Withheld; the answer's poll is the time left of the backoff, and a second early is still too early.
                let answer = try await checkIn(fleet, token: token)
                #expect(answer.action == "none")
                let poll = try #require(answer.poll)
                waits.append(poll)
                let view = try await decision(fleet)
                #expect(view["reason"] as? String == "backing-off")
                #expect((view["failure"] as? [String: Any])?["retryAt"] as? String == ReleaseManifest.timestamp(clock.now.addingTimeInterval(Double(poll))))
                clock.advance(by: Double(poll - 1))
                #expect(try await checkIn(fleet, token: token).poll == 1)
                clock.advance(by: 1)
            }
            #expect(waits == [60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600])
            // A retry ends a backoff at once.
            try await failed(fleet, token: token, reason: "HTTP 503 for main.py")
            #expect(try await checkIn(fleet, token: token).action == "none")
            #expect(try await fleet.send(.post, "/api/v1/admin/devices/dev-1/retry").status == .ok)
            #expect(try await checkIn(fleet, token: token).action == "update")
        }
    }

    @Test func retryRefusesUnknownDevicesAndVersionsInJSON() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            try await publish(fleet, 2)
            for (uri, status) in [
                ("/api/v1/admin/devices/nobody/retry", HTTPResponse.Status.notFound), ("/api/v1/admin/devices/dev-1/retry?version=9.9.9", .notFound),
                ("/api/v1/admin/devices/dev-1/retry?version=nope", .badRequest), ("/api/v1/admin/devices/BAD%20ID/retry", .badRequest),
            ] {
                let response = try await fleet.send(.post, uri)
                #expect(response.status == status, "\(uri): \(response.text)")
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                #expect(response.object["error"] is String && response.object["message"] is String, "\(uri): \(response.text)")
            }
            #expect(try await fleet.send(.post, "/api/v1/admin/devices/dev-1/retry", token: nil).status == .unauthorized)
            #expect(try await fleet.send(.post, "/api/v1/admin/devices/dev-1/retry", token: token).status == .unauthorized)
        }
    }
}
