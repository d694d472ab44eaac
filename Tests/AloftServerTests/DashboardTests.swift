import AloftStore
import Foundation
import Testing

@testable import AloftServer

@Suite struct DashboardTests {
    @Test func rendersDevicesReleasesAndEscapesWhatDevicesSay() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let devices = [
            DeviceRecord(id: "dev-1", channel: "stable", tokenHash: "", board: "esp32", version: "1.1.0", sequence: 2, lastSeen: now.addingTimeInterval(-90),
                         lastEvent: DeviceEvent(deviceID: "dev-1", type: "installed", version: "1.1.0", sequence: 2, reason: nil, at: now), createdAt: now),
            DeviceRecord(id: "dev-2", channel: "stable", tokenHash: "", sequence: 1,
                         lastEvent: DeviceEvent(deviceID: "dev-2", type: "failed", version: "1.1.0", sequence: 2, reason: "<script>alert(1)</script>", at: now),
                         createdAt: now),
        ]
        let releases = [ReleaseRecord(channel: "stable", sequence: 2, version: "1.1.0", created: "", envelope: "", fileCount: 3, totalSize: 900, publishedAt: now)]
        let html = Dashboard().render(devices: devices, releases: releases, now: now)
        #expect(html.contains("<td>dev-1</td>") && html.contains("<td>dev-2</td>"))
        #expect(html.contains("1 min ago") && html.contains("never"))
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
