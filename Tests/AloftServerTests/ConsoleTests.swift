import AloftAPI
import AloftCore
import AloftStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SQLKit
import Testing

@testable import AloftServer
@testable import AloftStore

/// The console's pages as pure renderings of records.
@Suite struct ConsolePagesTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func rollout(_ status: RolloutStatus, halt: String? = nil, settled: Bool = false) -> (Rollout, RolloutView) {
        let rollout = Rollout(
            id: 3, channel: "stable", sequence: 2, version: "1.1.0", policy: RolloutPolicy(phases: [10, 50, 100], target: RolloutTarget(tags: ["eu"])),
            status: status, phase: 1, phaseStartedAt: now, settledAt: settled ? now : nil, haltReason: halt, createdAt: now)
        let reports = [
            RolloutPhaseReport(phase: 0, percent: 10, devices: 2, counts: [.confirmed: 2]),
            RolloutPhaseReport(phase: 1, percent: 50, devices: 8, counts: [.offered: 3, .firmware: 2, .rolledBack: 1]),
            RolloutPhaseReport(phase: 2, percent: 100, devices: 10, counts: [:]),
        ]
        return (rollout, RolloutView(rollout, reports: reports))
    }

    @Test func theFleetPageShowsBarsRolloutsWithButtonsAndHaltsInRed() {
        let census = [
            DeviceCensusRow(channel: "stable", version: "1.0.0", state: "confirmed", count: 6),
            DeviceCensusRow(channel: "stable", version: "1.1.0", state: "rolled_back", count: 1),
            DeviceCensusRow(channel: "stable", version: nil, state: nil, count: 3),
            DeviceCensusRow(channel: "beta", version: "2.0.0-rc.1", state: "confirmed", count: 2),
        ]
        let halted = Self.rollout(.halted, halt: "1 of 3 devices that tried failed or rolled back (limit 0): 1× <b>main.py</b> raised")
        let running = Self.rollout(.running)
        let image = FirmwareImage(
            build: "ESP32_GENERIC-OTA", chip: "esp32", micropython: "1.26.0", mpy: 6, sha256: String(repeating: "a", count: 64), size: 1_703_936)
        let releases = [
            ReleaseRecord(
                channel: "stable", sequence: 2, version: "1.1.0", created: "", envelope: "", fileCount: 3, totalSize: 90_000, publishedAt: Self.now,
                firmware: [image]),
            ReleaseRecord(channel: "stable", sequence: 1, version: "1.0.0", created: "", envelope: "", fileCount: 2, totalSize: 900, publishedAt: Self.now),
        ]
        let html = ConsolePages().renderFleet(
            census: census, rollouts: [halted, running], releases: releases, releaseCount: 2, csrf: "TOKEN", now: Self.now)
        #expect(html.contains("12 devices, 2 releases."))
        // Devices per release, each segment as wide as its share and a link to those devices.
        #expect(html.contains(#"style="width:60.0%" href="/dashboard/devices?channel=stable&amp;version=1.0.0" title="1.0.0: 6""#), "\(html)")
        #expect(html.contains(#"href="/dashboard/devices?channel=stable&amp;version=none">nothing installed</a>: 3"#))
        #expect(html.contains(#"<a class="bad" style="width:10.0%" href="/dashboard/devices?channel=stable&amp;state=rolled_back""#))
        #expect(html.contains("Channel beta") && html.contains("2.0.0-rc.1"))
        // The halted rollout in red with its reason, escaped; only abort is offered for it.
        #expect(html.contains(#"<div class="card bad" id="rollout-3">"#))
        #expect(html.contains("Halted: 1 of 3 devices that tried failed or rolled back (limit 0): 1× &lt;b&gt;main.py&lt;/b&gt; raised"))
        #expect(!html.contains("<b>main.py"))
        let cards = html.components(separatedBy: #"<div class="card "#)
        #expect(cards.count == 3)
        let haltedCard = cards[1]
        #expect(haltedCard.contains(#"action="/dashboard/rollouts/3/abort""#))
        #expect(!haltedCard.contains("/pause") && !haltedCard.contains("/resume"))
        // A running one offers pause and abort, each form with the token.
        #expect(html.contains(#"<form class="inline" method="post" action="/dashboard/rollouts/3/pause"><input type="hidden" name="csrf" value="TOKEN">"#))
        #expect(html.contains("Target: tags eu · phases 10%, 50%, 100% · max failures 0 · min devices 1"))
        #expect(html.contains(#"<td class="n bad">1</td>"#), "a phase's rollbacks in red")
        #expect(html.contains(#"<tr class="current"><td>2 ◀</td>"#))
        #expect(html.contains(#"<i style="width:100.0%">"#) && html.contains(#"<i style="width:12.5%">"#), "settled share per phase")
        #expect(html.contains(#"<td class="n">50%</td><td class="n">8</td><td class="n">3</td><td class="n">2</td><td class="n">0</td>"#), "firmware step counted")
        #expect(html.contains(
            #"<td>stable</td><td class="n">2</td><td><a href="/dashboard/channels/stable/releases/1.1.0">1.1.0</a></td><td class="n">3</td><td class="n">90 kB</td><td>ESP32_GENERIC-OTA 1.26.0 (1703 kB)</td><td class="n">1</td>"#))
        #expect(html.contains(#"<td class="n">900 B</td><td>-</td>"#), "no firmware")
    }

    @Test func aRunningRolloutWhosePhaseIsDoneOffersItsNextPhase() {
        let (rollout, view) = Self.rollout(.running, settled: true)
        let card = ConsolePages.card(rollout, view)
        #expect(card.actions.map(\.label) == ["pause", "next phase", "abort"])
        #expect(ConsolePages.card(Self.rollout(.paused).0, Self.rollout(.paused).1).actions.map(\.action) == ["resume", "abort"])
        #expect(ConsolePages.card(Self.rollout(.completed).0, Self.rollout(.completed).1).actions.isEmpty)
    }

    @Test func anEmptyFleetSaysWhatToDo() {
        let html = ConsolePages().renderFleet(census: [], rollouts: [], releases: [], releaseCount: 0, csrf: "", now: Self.now)
        #expect(html.contains("aloft device provision") && html.contains("aloft release publish") && html.contains("aloft rollout start"))
    }

    @Test func theDeviceListPagesKeepTheirFiltersAndEscapeWhatDevicesSay() {
        let devices = (0..<3).map { index in
            DeviceRecord(
                id: "dev-\(index)", channel: "stable", tokenHash: "", board: "esp32", agent: "0.5.0", version: "1.0.0", sequence: 1,
                lastSeen: Self.now.addingTimeInterval(-90),
                lastEvent: DeviceEvent(deviceID: "dev-\(index)", type: "failed", version: "1.1.0", sequence: 2, reason: "<script>x</script>", at: Self.now),
                createdAt: Self.now, tags: ["eu", "lab"])
        }
        let decision = DecisionView(offer: nil, reason: "current", why: "the device runs the newest release")
        var onTrial = devices[0]
        onTrial.id = "dev-fw"
        onTrial.micropython = "1.26.0"
        onTrial.firmware = FirmwareReport(build: "ESP32_GENERIC-OTA", ota: true, state: "trial")
        onTrial.lastEvent?.step = "firmware"
        let firmwareFirst = DecisionView(offer: "1.1.0", reason: "newest", why: "offered 1.1.0: firmware first", step: "firmware")
        let filters = ConsolePages.Filters(q: "dev x&y", channel: "stable", tag: "eu")
        let html = ConsolePages().renderDevices(
            devices: devices.map { ($0, decision) } + [(onTrial, firmwareFirst)], total: 120, page: 2, filters: filters, channels: ["beta", "stable"],
            states: ["failed"], now: Self.now)
        #expect(html.contains("51–100 of 120 devices · page 2 of 3"))
        #expect(html.contains(#"<a href="/dashboard/devices?q=dev%20x%26y&amp;channel=stable&amp;tag=eu" rel="prev">"#), "\(html)")
        #expect(html.contains(#"<a href="/dashboard/devices?q=dev%20x%26y&amp;channel=stable&amp;tag=eu&amp;page=3" rel="next">"#))
        #expect(html.contains(#"<option value="stable" selected>stable</option>"#))
        #expect(html.contains(#"value="dev x&amp;y""#))
        #expect(html.contains(#"<td><a href="/dashboard/devices/dev-1">dev-1</a></td><td>stable</td><td>1.0.0</td><td>esp32</td><td>0.5.0</td><td>-</td><td>eu lab</td><td>1 min ago</td>"#))
        #expect(html.contains(#"<td>0.5.0</td><td>1.26.0 ESP32_GENERIC-OTA (trial)</td>"#), "\(html)")
        #expect(html.contains(#"<td class="bad">failed (firmware) 1.1.0 (&lt;script&gt;x&lt;/script&gt;)</td><td title="offered 1.1.0: firmware first">1.1.0 <span class="warn">firmware</span></td>"#))
        #expect(html.contains(#"<td class="bad">failed 1.1.0 (&lt;script&gt;x&lt;/script&gt;)</td><td title="the device runs the newest release">-</td>"#))
        #expect(!html.contains("<script>"))
        let last = ConsolePages().renderDevices(devices: [], total: 120, page: 3, filters: ConsolePages.Filters(), channels: [], states: [], now: Self.now)
        #expect(last.contains("101–120 of 120") && !last.contains(#"rel="next""#) && last.contains(#"href="/dashboard/devices?page=2" rel="prev""#))
        let none = ConsolePages().renderDevices(devices: [], total: 0, page: 1, filters: ConsolePages.Filters(), channels: [], states: [], now: Self.now)
        #expect(none.contains("0–0 of 0 devices") && none.contains("No device matches."))
    }

    @Test func aDevicePageHasItsFactsDecisionEventsAndDownloads() {
        let device = DeviceRecord(
            id: "dev-1", channel: "stable", tokenHash: "", board: "esp32", micropython: "1.22.0", agent: "0.5.0", free: 1_500_000, version: "1.0.0",
            sequence: 1, lastSeen: Self.now, createdAt: Self.now, enrollment: "factory", tags: ["eu"], pin: "1.0.0", rejected: 2)
        let view = DeviceView(device, decision: DecisionView(offer: nil, reason: "pinned", why: "pinned to 1.0.0, which it runs"))
        let events = [
            DeviceEvent(deviceID: "dev-1", type: "rolled_back", version: "1.1.0", sequence: 2, reason: "main.py raised", at: Self.now.addingTimeInterval(-60)),
            DeviceEvent(deviceID: "dev-1", type: "installed", version: "1.1.0", sequence: 2, reason: nil, at: Self.now.addingTimeInterval(-120)),
        ]
        let downloads = [BlobDownload(deviceID: "dev-1", sha256: String(repeating: "ab", count: 32), encoding: "zlib", bytes: 4096, status: 206, at: Self.now)]
        let html = ConsolePages().renderDevice(device, view: view, events: events, downloads: downloads, now: Self.now)
        #expect(html.contains("<h1>Device dev-1</h1>"))
        #expect(html.contains("<th style=\"width:12em\">Installed</th><td>1.0.0 (sequence 1)</td>"))
        #expect(html.contains("nothing: pinned to 1.0.0, which it runs <span class=\"muted\">(pinned)</span>"))
        #expect(html.contains("Registered</th><td>2027-01-15T08:00:00Z by enrollment factory"))
        #expect(html.contains(#"<td title="#) && html.contains(#"1 min ago</td><td class="bad">rolled_back</td><td>1.1.0</td><td>main.py raised</td>"#))
        #expect(html.contains("<code>abababababab</code></td><td>zlib</td><td class=\"n\">4096 B</td><td class=\"n \">206</td>"))
        #expect(html.contains("Rolled back from</th><td>sequence 2"))
        #expect(html.contains("Firmware</th><td>not reported (agent before 0.4.0)</td>"))
    }

    @Test func aDevicePageSaysItsFirmwareAndTheStepOfItsOffer() {
        var device = DeviceRecord(id: "dev-1", channel: "stable", tokenHash: "", micropython: "1.24.1", agent: "0.4.0", createdAt: Self.now)
        device.firmware = FirmwareReport(
            build: "ESP32_GENERIC-OTA", ota: true, chip: "esp32", slot: 1_572_864, running: "ota_0", state: "trial", rollback: true,
            sha256: String(repeating: "1", count: 64), rejected: String(repeating: "2", count: 64))
        let view = DeviceView(
            device, decision: DecisionView(offer: "2.0.0", reason: "newest", why: "offered 2.0.0: firmware first (<ESP32>)", step: "firmware"))
        let events = [
            DeviceEvent(deviceID: "dev-1", type: "installed", version: "2.0.0", sequence: 2, reason: nil, step: "firmware", at: Self.now),
            DeviceEvent(deviceID: "dev-1", type: "confirmed", version: "1.0.0", sequence: 1, reason: nil, at: Self.now),
        ]
        let html = ConsolePages().renderDevice(device, view: view, events: events, downloads: [], now: Self.now)
        #expect(html.contains(
            "Firmware</th><td>ESP32_GENERIC-OTA on esp32, MicroPython 1.24.1, image 111111111111; OTA: runs ota_0, next slot 1572 kB, "
                + "the bootloader rolls back; on trial; rolled back image 222222222222</td>"), "\(html)")
        #expect(html.contains(#"<b>2.0.0</b> <span class="warn">firmware first</span>: offered 2.0.0: firmware first (&lt;ESP32&gt;)"#))
        #expect(html.contains(#"<td class="ok">installed <span class="muted">(firmware)</span></td><td>2.0.0</td>"#))
        #expect(html.contains(#"<td class="ok">confirmed</td><td>1.0.0</td>"#))
        device.firmware = FirmwareReport(ota: false)
        let bare = ConsolePages().renderDevice(device, view: DeviceView(device), events: [], downloads: [], now: Self.now)
        #expect(bare.contains("Firmware</th><td>build not reported, MicroPython 1.24.1; no OTA partition table</td>"))
    }
}

/// What keeps other sites from pressing the console's buttons.
@Suite struct ConsoleGuardTests {
    @Test func onlySameOriginBrowserRequestsPass() {
        let check = ConsoleGuard.crossSiteRefusal
        #expect(check(nil, "same-origin", "127.0.0.1:8080") == nil)
        #expect(check("https://evil.example", "same-origin", "127.0.0.1:8080") == nil, "Sec-Fetch-Site is the browser's word; a proxy may rewrite Host")
        #expect(check(nil, "cross-site", "127.0.0.1:8080") != nil)
        #expect(check(nil, "same-site", "127.0.0.1:8080") != nil)
        #expect(check(nil, "none", "127.0.0.1:8080") != nil)
        #expect(check("http://127.0.0.1:8080", nil, "127.0.0.1:8080") == nil)
        #expect(check("HTTP://Console.Example", nil, "console.example") == nil)
        #expect(check("http://evil.example", nil, "127.0.0.1:8080") != nil)
        #expect(check("http://127.0.0.1:8081", nil, "127.0.0.1:8080") != nil)
        #expect(check("null", nil, "127.0.0.1:8080") != nil)
        #expect(check("http://127.0.0.1:8080", nil, nil) != nil)
        #expect(check(nil, nil, "127.0.0.1:8080") == nil, "not a browser: the form token decides")
    }

    @Test func theFormTokenIsPerAdminTokenAndReadFromTheForm() {
        let a = ConsoleGuard.formToken(adminTokenHash: BearerSecret.hash("one"))
        #expect(a.count == 64 && a == ConsoleGuard.formToken(adminTokenHash: BearerSecret.hash("one")))
        #expect(a != ConsoleGuard.formToken(adminTokenHash: BearerSecret.hash("two")))
        func field(_ body: String) -> String? { (try? ConsoleForm(Array(body.utf8)))?.fields["csrf"] }
        #expect(field("do=pause&csrf=a%2Bb+c") == "a+b c")
        #expect(field("csrf") == "")
        #expect(field("xcsrf=1&csrfx=2") == nil)
        #expect(field("csrf=%ZZ") == nil)
        #expect(field("") == nil)
    }
}

/// The console over HTTP: login, pages, buttons and their refusals, and a listing of 10,000 devices.
@Suite struct ConsoleRouteTests {
    static let start = ReleaseManifest.date(fromTimestamp: "2026-12-02T12:00:00Z")!
    static let basic = "Basic " + Data("admin:\(TestFleet.adminToken)".utf8).base64EncodedString()

    @Test func needsTheAdminTokenAsBearerOrBasicPassword() async throws {
        try await TestFleet.run { fleet in
            let device = try await fleet.registerDevice("dev-1")
            try await fleet.publish(TestRelease(sequence: 1))
            for path in ["/dashboard", "/dashboard/devices", "/dashboard/devices/dev-1"] {
                let anonymous = try await fleet.send(.get, path, token: nil)
                #expect(anonymous.status == .unauthorized)
                // One field per challenge: Chromium reads only a field's first, and would never show its login prompt.
                #expect(anonymous.headers[values: .wwwAuthenticate] == ["Bearer", #"Basic realm="Aloft", charset="UTF-8""#])
                #expect(anonymous.headers[.contentType] == "text/html; charset=utf-8", "a console page, even to say who may see it")
                #expect(try await fleet.send(.get, path, token: device).status == .unauthorized)
                let wrongBasic = "Basic " + Data("admin:nope".utf8).base64EncodedString()
                #expect(try await fleet.send(.get, path, token: nil, headers: [.authorization: wrongBasic]).status == .unauthorized)
                let page = try await fleet.send(.get, path, token: nil, headers: [.authorization: Self.basic])
                #expect(page.status == .ok)
                #expect(page.headers[.contentType] == "text/html; charset=utf-8")
                #expect(page.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                #expect(page.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            }
            #expect(try await fleet.send(.get, "/dashboard").status == .ok, "a bearer admin token works too")
            // Basic is for people at a browser; the device API still takes bearer tokens only.
            let deviceBasic = "Basic " + Data("x:\(device)".utf8).base64EncodedString()
            #expect(try await fleet.send(.post, "/api/v1/device/checkin", token: nil, headers: [.authorization: deviceBasic]).status == .unauthorized)
        }
    }

    /// The fleet page's form token for the admin token used.
    static func formToken(_ html: String) throws -> String {
        try #require(html.firstMatch(of: /name="csrf" value="([0-9a-f]{64})"/).map { String($0.1) }, "no form token in \(html.prefix(3000))")
    }

    @Test func theButtonsPauseResumeAndAbortOnlyFromTheConsolesOwnPages() async throws {
        let clock = TestClock(Self.start)
        try await TestFleet.run(clock: clock.read) { fleet in
            for id in ["a", "b", "c"] { _ = try await fleet.registerDevice(id) }
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            let started = try await fleet.send(.post, "/api/v1/admin/rollouts", json: #"{"channel":"stable","version":"1.0.0","phases":[50,100]}"#)
            #expect(started.status == .created, "\(started.text)")
            let page = try await fleet.send(.get, "/dashboard", token: nil, headers: [.authorization: Self.basic])
            #expect(page.text.contains("Rollout 1: 1.0.0 on stable · <span class=\"run\">running</span> · phase 1 of 2"))
            let token = try Self.formToken(page.text)

            func press(_ action: String, rollout: Int = 1, form: String? = nil, headers: HTTPFields = [ConsoleGuard.secFetchSite: "same-origin"]) async throws
                -> TestResponse
            {
                var headers = headers
                headers[.authorization] = Self.basic
                headers[.contentType] = "application/x-www-form-urlencoded"
                return try await fleet.send(
                    .post, "/dashboard/rollouts/\(rollout)/\(action)", token: nil, body: ByteBuffer(string: form ?? "csrf=\(token)&do=\(action)"),
                    headers: headers)
            }
            func status() async throws -> String? { try await fleet.send(.get, "/api/v1/admin/rollouts/1").object["status"] as? String }

            // Another site's page, or a form without the right token: refused, and nothing changes.
            for (headers, form) in [
                ([ConsoleGuard.secFetchSite: "cross-site"], nil), ([ConsoleGuard.secFetchSite: "same-site"], nil), ([.origin: "http://evil.example"], nil),
                ([ConsoleGuard.secFetchSite: "same-origin"], "do=pause"), ([ConsoleGuard.secFetchSite: "same-origin"], "csrf=" + String(repeating: "0", count: 64)),
                ([:], "csrf=nope"),
            ] as [(HTTPFields, String?)] {
                let refused = try await press("pause", form: form, headers: headers)
                #expect(refused.status == .forbidden, "\(headers) \(form ?? "-"): \(refused.text)")
                #expect(refused.headers[.contentType] == "text/html; charset=utf-8", "a console refusal is a page, not the API's JSON")
                #expect(refused.text.contains(#"<p class="error">refused"#) || refused.text.contains("form token is missing or wrong"))
            }
            #expect(try await status() == "running")
            // Another admin token's form token is not this one's.
            let other = try await fleet.send(.post, "/api/v1/admin/tokens", json: #"{"name":"ops"}"#)
            let otherToken = try #require(other.object["token"] as? String)
            let otherBasic = "Basic " + Data("ops:\(otherToken)".utf8).base64EncodedString()
            let crossed = try await fleet.send(
                .post, "/dashboard/rollouts/1/pause", token: nil, body: ByteBuffer(string: "csrf=\(token)"),
                headers: [.authorization: otherBasic, ConsoleGuard.secFetchSite: "same-origin"])
            #expect(crossed.status == .forbidden)

            // From the page: done, and back to the fleet page, which says what the rollout is now.
            let paused = try await press("pause")
            #expect(paused.status == .seeOther, "\(paused.text)")
            #expect(paused.headers[.location] == "/dashboard?changed=1#rollout-1")
            #expect(try await status() == "paused")
            let after = try await fleet.send(.get, "/dashboard?changed=1", token: nil, headers: [.authorization: Self.basic])
            #expect(after.text.contains(#"<p class="notice">Rollout 1 (1.0.0 on stable) is paused, in phase 1 of 2.</p>"#))
            #expect(after.text.contains("/dashboard/rollouts/1/resume") && !after.text.contains("/dashboard/rollouts/1/pause"))
            // Same origin by Origin alone (a browser without Sec-Fetch-Site), and curl with the token.
            #expect(try await press("resume", headers: [.origin: "http://localhost"]).status == .seeOther)
            #expect(try await status() == "running")
            #expect(try await press("abort", headers: [:]).status == .seeOther)
            #expect(try await status() == "aborted")
            // What the rollout cannot do, and rollouts that are not there, as the API says them.
            let again = try await press("abort")
            #expect(again.status == .conflict && again.text.contains("aborted already") && again.headers[.contentType] == "text/html; charset=utf-8")
            #expect(try await press("pause", rollout: 9).status == .notFound)
            #expect(try await fleet.send(.get, "/dashboard?changed=x", token: nil, headers: [.authorization: Self.basic]).status == .badRequest)
        }
    }

    @Test func theDeviceListFiltersAndPagesAndADevicePageShowsItsHistory() async throws {
        try await TestFleet.run { fleet in
            var tokens: [String: String] = [:]
            for id in (0..<60).map({ String(format: "dev-%02d", $0) }) { tokens[id] = try await fleet.registerDevice(id) }
            _ = try await fleet.registerDevice("Other_1", channel: "beta")
            try await fleet.send(.post, "/api/v1/admin/devices/dev-07/tags", json: #"{"add":["eu"]}"#)
            try await fleet.send(.post, "/api/v1/admin/devices/dev-08/tags", json: #"{"add":["EU"]}"#)
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            let token = try #require(tokens["dev-07"])
            #expect(try await fleet.checkIn("dev-07", token: token, sequence: 1, version: "1.0.0").status == .ok)
            try await fleet.send(
                .post, "/api/v1/device/events", token: token, json: #"{"id":"dev-07","type":"confirmed","version":"1.0.0","sequence":1}"#)

            func page(_ query: String) async throws -> String {
                let response = try await fleet.send(.get, "/dashboard/devices" + query, token: nil, headers: [.authorization: Self.basic])
                try #require(response.status == .ok, "\(query): \(response.text)")
                return response.text
            }
            func ids(_ html: String) -> [String] { html.matches(of: /<td><a href="\/dashboard\/devices\/([^"]+)">/).map { String($0.1) } }
            let first = try await page("")
            #expect(first.contains("1–50 of 61 devices · page 1 of 2"))
            #expect(ids(first).count == 50 && ids(first).first == "Other_1" && ids(first).last == "dev-48")
            #expect(ids(try await page("?page=2")) == ["dev-49"] + (50..<60).map { "dev-\($0)" })
            #expect(try await page("?page=9").contains("No device matches."))
            #expect(ids(try await page("?q=DEV-0")) == (0..<10).map { String(format: "dev-%02d", $0) }, "search is by part of the id, any case")
            #expect(ids(try await page("?q=r_1")) == ["Other_1"])
            #expect(ids(try await page("?q=v_1")) == [], "an underscore is an underscore, not LIKE's any character")
            #expect(ids(try await page("?q=r%251")) == [], "a percent sign is a percent sign")
            #expect(ids(try await page("?channel=beta")) == ["Other_1"])
            #expect(ids(try await page("?tag=eu")) == ["dev-07"], "tags are exact, case included")
            #expect(ids(try await page("?version=1.0.0")) == ["dev-07"])
            #expect(ids(try await page("?version=none&channel=stable")).count == 50)
            #expect(ids(try await page("?state=confirmed")) == ["dev-07"])
            #expect(try await page("?state=none").contains("1–50 of 60"))
            #expect(try await page("?q=&channel=&version=&tag=&state=&page=").contains("1–50 of 61"), "an empty form field is no filter")
            for bad in ["?channel=Beta", "?version=1.0", "?tag=-x", "?state=Failed", "?page=0", "?page=x", "?q=" + String(repeating: "a", count: 65)] {
                let response = try await fleet.send(.get, "/dashboard/devices" + bad, token: nil, headers: [.authorization: Self.basic])
                #expect(response.status == .badRequest, "\(bad): \(response.text)")
            }

            let device = try await fleet.send(.get, "/dashboard/devices/dev-07", token: nil, headers: [.authorization: Self.basic])
            #expect(device.status == .ok)
            #expect(device.text.contains("<h1>Device dev-07</h1>") && device.text.contains("<td class=\"ok\">confirmed</td><td>1.0.0</td>"))
            #expect(device.text.contains("nothing: up to date"), "\(device.text)")
            #expect(try await fleet.send(.get, "/dashboard/devices/nobody").status == .notFound)
            #expect(try await fleet.send(.get, "/dashboard/devices/-bad").status == .badRequest)
        }
    }

    /// 10,000 devices straight into the database, then the console as a browser sees it: small pages, right counts.
    @Test func tenThousandDevicesListInSmallPages() async throws {
        try await withScratchSQLite { path in try await Self.tenThousandDevicesListInSmallPages(path) }
    }

    static func tenThousandDevicesListInSmallPages(_ path: String) async throws {
        let store = try await FluentFleetStore.open(.sqlite(path: path), logger: .init(label: "test"))
        let sql = try #require(store.db() as? any SQLDatabase)
        let created = Self.start.timeIntervalSince1970
        for batch in stride(from: 0, to: 10_000, by: 500) {
            var values: [SQLQueryString] = []
            for index in batch..<(batch + 500) {
                let id = String(format: "field-%05d", index)
                let version: String? = index % 4 == 0 ? nil : (index % 4 == 1 ? "1.0.0" : "1.1.0")
                let tags: String? = index % 10 == 0 ? ",greenhouse," : nil
                let event: String? = index % 7 == 0 ? "rolled_back" : (version == nil ? nil : "confirmed")
                values.append(
                    "(\(bind: id), 'stable', \(bind: Digest.sha256Hex(Array(id.utf8))), \(bind: version), \(bind: version == nil ? 0 : 1), \(bind: tags), \(bind: event), \(bind: event == nil ? nil : created), \(bind: created))"
                )
            }
            try await sql.raw(
                "INSERT INTO devices (id, channel, token_hash, version, sequence, tags, last_event_type, last_event_at, created_at) VALUES \(values.joined(separator: ", "))"
            ).run()
        }
        await store.shutdown()
        try await TestFleet.run(database: .sqlite(path: path)) { fleet in
            for query in ["", "?page=200", "?q=field-09", "?tag=greenhouse&state=rolled_back", "?version=none&page=3"] {
                let response = try await fleet.send(.get, "/dashboard/devices" + query, token: nil, headers: [.authorization: Self.basic])
                #expect(response.status == .ok)
                #expect(response.body.readableBytes < 100_000, "\(query): \(response.body.readableBytes) bytes")
            }
            // The management API pages the same fleet: 1,000 devices a page, filtered and counted in the database.
            let api = try await fleet.send(.get, "/api/v1/admin/devices")
            #expect(api.object["total"] as? Int == 10_000 && api.object["next"] as? String == "field-00999")
            #expect((api.object["devices"] as? [[String: Any]])?.count == 1000)
            let lastPage = try await fleet.send(.get, "/api/v1/admin/devices?after=field-09499&tag=greenhouse")
            #expect(lastPage.object["total"] as? Int == 1000 && lastPage.object["next"] == nil)
            #expect((lastPage.object["devices"] as? [[String: Any]])?.compactMap { $0["id"] as? String }.first == "field-09500")
            let first = try await fleet.send(.get, "/dashboard/devices", token: nil, headers: [.authorization: Self.basic]).text
            #expect(first.contains("1–50 of 10000 devices · page 1 of 200"))
            let last = try await fleet.send(.get, "/dashboard/devices?page=200", token: nil, headers: [.authorization: Self.basic]).text
            #expect(last.contains("9951–10000 of 10000") && last.contains("field-09999"))
            // Every 70th device has both (index divisible by 10 and 7): 143 of them.
            let both = try await fleet.send(.get, "/dashboard/devices?tag=greenhouse&state=rolled_back", token: nil, headers: [.authorization: Self.basic])
            #expect(both.text.contains("of 143 devices"))
            let fleetPage = try await fleet.send(.get, "/dashboard", token: nil, headers: [.authorization: Self.basic])
            #expect(fleetPage.status == .ok && fleetPage.body.readableBytes < 100_000)
            #expect(fleetPage.text.contains("10000 devices") && fleetPage.text.contains("nothing installed</a>: 2500"))
        }
    }
}
