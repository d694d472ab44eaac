import AloftCore
import AloftServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct MetricsTests {
    @Test func metricsNeedTheAdminTokenAndCountActivity() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            #expect(try await fleet.send(.get, "/metrics", token: nil).status == .unauthorized)
            #expect(try await fleet.send(.get, "/metrics", token: token).status == .unauthorized)

            let release = TestRelease(sequence: 1)
            try await fleet.publish(release)
            _ = try await fleet.checkIn("dev-1", token: token)
            _ = try await fleet.checkIn("dev-1", token: token, sequence: 1)
            let file = release.files[1]
            _ = try await fleet.send(.get, "/api/v1/blobs/\(file.sha256)", token: token)
            _ = try await fleet.send(
                .post, "/api/v1/device/events", token: token, json: #"{"id":"dev-1","type":"installed","version":"1.0.0","sequence":1}"#)

            let response = try await fleet.send(.get, "/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let lines = Set(response.text.split(separator: "\n").map(String.init))
            #expect(lines.contains("aloft_checkins_total 2"))
            #expect(lines.contains("aloft_updates_offered_total 1"))
            #expect(lines.contains("aloft_blob_bytes_served_total{encoding=\"raw\"} \(file.bytes.count)"))
            #expect(lines.contains("aloft_device_events_total{type=\"installed\"} 1"))
            #expect(lines.contains("# TYPE aloft_checkins_total counter"))
        }
    }

    /// Check-ins by outcome, and the phase and devices of each rollout not finished, counted at the scrape.
    @Test func checkInOutcomesAndRolloutGauges() async throws {
        let clock = TestClock(ReleaseManifest.date(fromTimestamp: "2026-12-02T12:00:00Z")!)  // a Wednesday, 12:00 UTC
        try await TestFleet.run(clock: clock.read) { fleet in
            let a = try await fleet.registerDevice("a"), b = try await fleet.registerDevice("b", channel: "beta")
            _ = try await fleet.checkIn("a", token: a)  // nothing published: none
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            _ = try await fleet.checkIn("a", token: a)  // the channel's newest: update
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1, channel: "beta"))
            let started = try await fleet.send(
                .post, "/api/v1/admin/rollouts", json: #"{"channel":"beta","version":"1.0.0","window":"Sat 01:00-02:00 UTC"}"#)
            #expect(started.status == .created, "\(started.text)")
            _ = try await fleet.checkIn("b", token: b)  // outside the window
            clock.set(ReleaseManifest.date(fromTimestamp: "2026-12-05T01:30:00Z")!)
            _ = try await fleet.checkIn("b", token: b)  // inside it: offered by the rollout
            let text = try await fleet.send(.get, "/metrics").text
            let lines = Set(text.split(separator: "\n").map(String.init))
            for (outcome, count) in [("none", 1), ("update", 1), ("window", 1), ("rollout", 1)] {
                #expect(lines.contains(#"aloft_checkin_outcomes_total{outcome="\#(outcome)"} \#(count)"#), "\(outcome): \(text)")
            }
            #expect(lines.contains(#"aloft_rollout_phase{rollout="1",channel="beta",version="1.0.0",status="running"} 1.0"#), "\(text)")
            #expect(lines.contains(#"aloft_rollout_devices{rollout="1",phase="1",state="targeted"} 1.0"#), "\(text)")
            #expect(lines.contains(#"aloft_rollout_devices{rollout="1",phase="1",state="offered"} 1.0"#), "\(text)")
            #expect(lines.contains(#"aloft_rollout_devices{rollout="1",phase="1",state="firmware"} 0.0"#), "\(text)")
            // A finished rollout's gauges go at the next scrape.
            #expect(try await fleet.send(.post, "/api/v1/admin/rollouts/1/abort").status == .ok)
            let after = try await fleet.send(.get, "/metrics").text
            #expect(!after.contains("aloft_rollout_phase{") && !after.contains("aloft_rollout_devices{"), "\(after)")
        }
    }

    /// Every request is timed under the operation it was routed to and its status code, refusals included.
    @Test func requestDurationsArePerOperationAndCode() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            _ = try await fleet.checkIn("dev-1", token: token)
            _ = try await fleet.checkIn("dev-1", token: token)
            #expect(try await fleet.send(.post, "/api/v1/device/checkin", token: "wrong", json: "{}").status == .unauthorized)
            #expect(try await fleet.send(.get, "/no/such/path").status == .notFound)
            #expect(try await fleet.send(.get, "/api/v1/admin/devices/dev-1").status == .ok)
            let text = try await fleet.send(.get, "/metrics").text
            let lines = Set(text.split(separator: "\n").map(String.init))
            #expect(lines.contains("# TYPE aloft_http_request_duration_seconds histogram"), "\(text)")
            #expect(lines.contains(#"aloft_http_request_duration_seconds_count{operation="checkIn",code="200"} 2"#), "\(text)")
            #expect(lines.contains(#"aloft_http_request_duration_seconds_count{operation="checkIn",code="401"} 1"#), "\(text)")
            #expect(lines.contains(#"aloft_http_request_duration_seconds_count{operation="other",code="404"} 1"#), "\(text)")
            #expect(lines.contains(#"aloft_http_request_duration_seconds_count{operation="getDevice",code="200"} 1"#), "\(text)")
            #expect(lines.contains(#"aloft_http_request_duration_seconds_bucket{operation="checkIn",code="200",le="+Inf"} 2"#), "\(text)")
        }
    }

    /// `aloft_devices` counts devices per channel, installed version and last state at each scrape; a group that empties
    /// disappears, and revoked devices are not counted.
    @Test func devicesAreCountedPerReleaseAndState() async throws {
        try await TestFleet.run { fleet in
            let a = try await fleet.registerDevice("dev-a"), b = try await fleet.registerDevice("dev-b")
            _ = try await fleet.registerDevice("dev-c", channel: "beta")
            _ = try await fleet.registerDevice("dev-gone")
            #expect(try await fleet.send(.post, "/api/v1/admin/devices/dev-gone/revoke").status == .noContent)
            try await fleet.publish(TestRelease(sequence: 1))
            _ = try await fleet.checkIn("dev-a", token: a, sequence: 1, version: "1.0.0")
            _ = try await fleet.send(.post, "/api/v1/device/events", token: a, json: #"{"id":"dev-a","type":"confirmed","version":"1.0.0","sequence":1}"#)
            _ = try await fleet.checkIn("dev-b", token: b)

            func census() async throws -> Set<String> {
                Set(try await fleet.send(.get, "/metrics").text.split(separator: "\n").filter { $0.hasPrefix("aloft_devices{") }.map(String.init))
            }
            let first = try await census()
            #expect(first == [
                #"aloft_devices{channel="beta",version="none",state="none"} 1.0"#,
                #"aloft_devices{channel="stable",version="1.0.0",state="confirmed"} 1.0"#,
                #"aloft_devices{channel="stable",version="none",state="none"} 1.0"#,
            ], "\(first)")
            _ = try await fleet.checkIn("dev-b", token: b, sequence: 1, version: "1.0.0")
            _ = try await fleet.send(.post, "/api/v1/device/events", token: b, json: #"{"id":"dev-b","type":"confirmed","version":"1.0.0","sequence":1}"#)
            let second = try await census()
            #expect(second == [
                #"aloft_devices{channel="beta",version="none",state="none"} 1.0"#,
                #"aloft_devices{channel="stable",version="1.0.0",state="confirmed"} 2.0"#,
            ], "\(second)")
        }
    }
}
