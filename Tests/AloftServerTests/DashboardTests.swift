import AloftStore
import HTTPTypes
import NIOCore
import Foundation
import Testing

@testable import AloftServer

@Suite struct DashboardTests {
    @Test func rendersDevicesReleasesAndEscapesWhatDevicesSay() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let devices = [
            DeviceRecord(id: "dev-1", channel: "stable", tokenHash: "", board: "esp32", agent: "0.2.0", version: "1.1.0", sequence: 2, lastSeen: now.addingTimeInterval(-90),
                         lastEvent: DeviceEvent(deviceID: "dev-1", type: "installed", version: "1.1.0", sequence: 2, reason: nil, at: now), createdAt: now),
            DeviceRecord(id: "dev-2", channel: "stable", tokenHash: "", sequence: 1,
                         lastEvent: DeviceEvent(deviceID: "dev-2", type: "failed", version: "1.1.0", sequence: 2, reason: "<script>alert(1)</script>", at: now),
                         createdAt: now),
        ]
        let releases = [ReleaseRecord(channel: "stable", sequence: 2, version: "1.1.0", created: "", envelope: "", fileCount: 3, totalSize: 900, publishedAt: now)]
        let html = Dashboard().render(devices: devices, releases: releases, now: now)
        #expect(html.contains("<td>dev-1</td>") && html.contains("<td>dev-2</td>"))
        #expect(html.contains("1 min ago") && html.contains("never"))
        #expect(html.contains("<th>Board</th><th>Agent</th>"))
        #expect(html.contains("<td>esp32</td><td>0.2.0</td>"), "the agent version in its column")
        #expect(html.contains("<td>-</td><td>-</td><td>never</td>"), "no board and no agent reported yet")
        #expect(html.contains(#"class="bad">failed 1.1.0 (&lt;script&gt;alert(1)&lt;/script&gt;)"#))
        #expect(!html.contains("<script>"))
        #expect(html.contains("<td>stable</td><td>2</td><td>1.1.0</td><td>3</td><td>900</td><td>1</td>"))
        #expect(html.contains("failed: 1") && html.contains("installed: 1"))
    }

    @Test func emptyFleetSaysWhatToDo() {
        let html = Dashboard().render(devices: [], releases: [])
        #expect(html.contains("aloft device provision") && html.contains("aloft release publish"))
    }
}

@Suite struct DashboardRouteTests {
    @Test func needsTheAdminTokenAsBearerOrBasicPassword() async throws {
        try await TestFleet.run { fleet in
            let device = try await fleet.registerDevice("dev-1")
            try await fleet.publish(TestRelease(sequence: 1))

            let anonymous = try await fleet.send(.get, "/dashboard", token: nil)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate]?.contains("Basic") == true, "browsers need a Basic challenge to prompt")
            #expect(try await fleet.send(.get, "/dashboard", token: device).status == .unauthorized)
            let wrongBasic = "Basic " + Data("admin:nope".utf8).base64EncodedString()
            #expect(try await fleet.send(.get, "/dashboard", token: nil, headers: [.authorization: wrongBasic]).status == .unauthorized)

            let bearer = try await fleet.send(.get, "/dashboard")
            #expect(bearer.status == .ok)
            #expect(bearer.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(bearer.text.contains("<td>dev-1</td>") && bearer.text.contains("<td>stable</td><td>1</td>"))

            let basic = "Basic " + Data("anyone:\(TestFleet.adminToken)".utf8).base64EncodedString()
            #expect(try await fleet.send(.get, "/dashboard", token: nil, headers: [.authorization: basic]).status == .ok)
            // Basic is for people at a browser; the device API still takes bearer tokens only.
            let deviceBasic = "Basic " + Data("x:\(device)".utf8).base64EncodedString()
            #expect(try await fleet.send(.post, "/api/v1/device/checkin", token: nil, headers: [.authorization: deviceBasic]).status == .unauthorized)
        }
    }
}
