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
}
