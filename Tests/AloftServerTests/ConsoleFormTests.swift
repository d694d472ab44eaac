import AloftAPI
import AloftCore
import AloftStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AloftServer

/// The console's forms over HTTP: each does what its API call does, only from the console's own pages, and every refusal
/// is an HTML page with its status and one line; and a release's page.
@Suite struct ConsoleFormTests {
    static let basic = ConsoleRouteTests.basic

    /// A browser at the console: logged in, its forms posted from the console's pages.
    struct Browser {
        let fleet: TestFleet

        func get(_ path: String) async throws -> TestResponse {
            try await fleet.send(.get, path, token: nil, headers: [.authorization: ConsoleFormTests.basic])
        }

        /// The form token of the fleet page, as a browser's form carries it.
        func formToken() async throws -> String { try ConsoleRouteTests.formToken(try await get("/dashboard").text) }

        /// Posts `form` (the form token first, unless `token` is nil) as a same-origin browser does, unless `headers` say otherwise.
        func post(
            _ path: String, _ form: String = "", token: String?, headers: HTTPFields = [ConsoleGuard.secFetchSite: "same-origin"],
            login: Bool = true
        ) async throws -> TestResponse {
            var headers = headers
            if login { headers[.authorization] = ConsoleFormTests.basic }
            headers[.contentType] = "application/x-www-form-urlencoded"
            let body = [token.map { "csrf=" + $0 }, form.isEmpty ? nil : form].compactMap { $0 }.joined(separator: "&")
            return try await fleet.send(.post, path, token: nil, body: ByteBuffer(string: body), headers: headers)
        }
    }

    /// An HTML error page with this status whose message contains `message`.
    static func expectErrorPage(
        _ response: TestResponse, _ status: HTTPResponse.Status, _ message: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == status, "\(response.text.prefix(600))", sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "text/html; charset=utf-8", sourceLocation: sourceLocation)
        #expect(response.headers[.cacheControl] == "no-store", sourceLocation: sourceLocation)
        #expect(response.text.contains("<h1>Error \(status.code)</h1>"), sourceLocation: sourceLocation)
        let line = (response.text.firstMatch(of: /<p class="error">([^<]*)<\/p>/).map { String($0.1) } ?? "")
            .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        #expect(line.contains(message), "the message: \(line)", sourceLocation: sourceLocation)
    }

    /// Every way a form is refused before it does anything: another site, no or a wrong form token, no login.
    static func expectRefusals(_ browser: Browser, _ path: String, _ form: String, token: String, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        for headers in [[ConsoleGuard.secFetchSite: "cross-site"], [.origin: "http://evil.example"]] as [HTTPFields] {
            expectErrorPage(try await browser.post(path, form, token: token, headers: headers), .forbidden, "refused", sourceLocation: sourceLocation)
        }
        expectErrorPage(try await browser.post(path, form, token: nil), .forbidden, "form token", sourceLocation: sourceLocation)
        expectErrorPage(
            try await browser.post(path, form, token: String(repeating: "0", count: 64)), .forbidden, "form token", sourceLocation: sourceLocation)
        let anonymous = try await browser.post(path, form, token: token, login: false)
        expectErrorPage(anonymous, .unauthorized, "an admin token as the password", sourceLocation: sourceLocation)
        #expect(anonymous.headers[values: .wwwAuthenticate].contains(#"Basic realm="Aloft", charset="UTF-8""#), sourceLocation: sourceLocation)
    }

    @Test func theRolloutFormStartsWhatTheAPIStartsAndRefusesBadInputInHTML() async throws {
        try await TestFleet.run { fleet in
            let browser = Browser(fleet: fleet)
            for index in 0..<10 { _ = try await fleet.registerDevice("dev-\(index)") }
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            try await fleet.publish(TestRelease(version: "1.1.0", sequence: 2, files: [TestRelease.File(path: "main.py", bytes: Array("v2".utf8))]))
            let token = try await browser.formToken()
            let page = try await browser.get("/dashboard")
            #expect(page.text.contains(#"<form class="act" method="post" action="/dashboard/rollouts">"#))
            #expect(page.text.contains(#"<a href="/dashboard/channels/stable/releases/1.1.0">1.1.0</a>"#), "the release list links each release's page")

            let form = "channel=stable&version=1.1.0&phases=10%2C50+100&tags=&boards=esp32&maxFailures=10%25&minDevices=2&soak=30m"
                + "&window=Mon-Fri+01%3A00-05%3A00+UTC&manual=on"
            try await Self.expectRefusals(browser, "/dashboard/rollouts", form, token: token)
            let none = try await fleet.send(.get, "/api/v1/admin/rollouts")
            #expect((none.object["rollouts"] as? [Any])?.isEmpty == true, "nothing started by a refused form")

            // Bad input: the API's rules, as an HTML page with the status the API gives.
            for (fields, status, message) in [
                ("channel=stable&version=1.1.0&phases=50%2C10", HTTPResponse.Status.badRequest, "each above the one before"),
                ("channel=stable&version=1.1.0&phases=0", .badRequest, "from 1 to 100"),
                ("channel=stable&version=1.1.0&phases=ten", .badRequest, "phases are cumulative percentages"),
                ("channel=stable&version=1.1", .badRequest, "not a semantic version"),
                ("channel=Stable&version=1.1.0", .badRequest, "channel"),
                ("channel=stable&version=1.1.0&tags=-eu", .badRequest, "tag"),
                ("channel=stable&version=1.1.0&soak=5y", .badRequest, "invalid duration"),
                ("channel=stable&version=1.1.0&minDevices=-1", .badRequest, "min devices"),
                ("channel=stable&version=1.1.0&maxFailures=lots", .badRequest, "failure limit"),
                ("channel=stable&version=1.1.0&window=whenever", .badRequest, "window"),
                ("channel=stable", .badRequest, "no version"),
                ("channel=stable&version=%FF", .badRequest, "not UTF-8"),
                ("channel=stable&version=9.9.9", .notFound, "has no release 9.9.9"),
            ] {
                Self.expectErrorPage(try await browser.post("/dashboard/rollouts", fields, token: token), status, message)
            }
            let huge = try await browser.post("/dashboard/rollouts", "devices=" + String(repeating: "a", count: 40_000), token: token)
            Self.expectErrorPage(huge, .contentTooLarge, "larger than")

            // From the page: started, and back to the fleet page, which says what the rollout is now.
            let started = try await browser.post("/dashboard/rollouts", form, token: token)
            #expect(started.status == .seeOther, "\(started.text)")
            #expect(started.headers[.location] == "/dashboard?changed=1#rollout-1")
            let rollout = try await fleet.send(.get, "/api/v1/admin/rollouts/1").object
            #expect(rollout["status"] as? String == "running" && rollout["version"] as? String == "1.1.0" && rollout["channel"] as? String == "stable")
            #expect((rollout["phases"] as? [[String: Any]])?.compactMap { $0["percent"] as? Int } == [10, 50, 100])
            #expect(rollout["boards"] as? [String] == ["esp32"] && (rollout["tags"] as? [String])?.isEmpty == true)
            #expect(rollout["maxFailures"] as? String == "10%" && rollout["minDevices"] as? Int == 2 && rollout["soak"] as? Int == 1800)
            #expect(rollout["window"] as? String == "Mon-Fri 01:00-05:00 UTC" && rollout["manual"] as? Bool == true)
            let after = try await browser.get("/dashboard?changed=1")
            #expect(after.text.contains(#"<p class="notice">Rollout 1 (1.1.0 on stable) is running, in phase 1 of 3.</p>"#), "\(after.text)")
            // A second one of the channel: the API's conflict, as a page.
            Self.expectErrorPage(try await browser.post("/dashboard/rollouts", form, token: token), .conflict, "abort it first")

            // The JSON API keeps its JSON errors.
            let api = try await fleet.send(.post, "/api/v1/admin/rollouts", json: #"{"channel":"stable","version":"1.1.0","phases":[50,10]}"#)
            #expect(api.status == .badRequest && api.headers[.contentType] == "application/json; charset=utf-8" && api.errorCode == "bad_request")
        }
    }

    @Test func theDevicePageTagsPinsRevokesAndIssuesANewTokenShownOnce() async throws {
        try await TestFleet.run { fleet in
            let browser = Browser(fleet: fleet)
            let oldToken = try await fleet.registerDevice("dev-1")
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            let token = try await browser.formToken()
            let page = try await browser.get("/dashboard/devices/dev-1")
            #expect(page.text.contains(#"action="/dashboard/devices/dev-1/tags""#) && page.text.contains(#"action="/dashboard/devices/dev-1/pin""#))
            #expect(page.text.contains(#"action="/dashboard/devices/dev-1/revoke""#) && page.text.contains(#"action="/dashboard/devices/dev-1/token""#))
            #expect(!page.text.contains("/unpin"), "nothing to unpin")
            #expect(try ConsoleRouteTests.formToken(page.text) == token)
            func device() async throws -> [String: Any] { try await fleet.send(.get, "/api/v1/admin/devices/dev-1").object }

            // Tags.
            try await Self.expectRefusals(browser, "/dashboard/devices/dev-1/tags", "add=eu", token: token)
            #expect((try await device()["tags"] as? [String])?.isEmpty == true)
            let tagged = try await browser.post("/dashboard/devices/dev-1/tags", "add=eu%2C+lab+old", token: token)
            #expect(tagged.status == .seeOther && tagged.headers[.location] == "/dashboard/devices/dev-1?changed=tags")
            #expect(try await device()["tags"] as? [String] == ["eu", "lab", "old"])
            #expect(try await browser.post("/dashboard/devices/dev-1/tags", "remove=old", token: token).status == .seeOther)
            #expect(try await device()["tags"] as? [String] == ["eu", "lab"])
            #expect(try await browser.get("/dashboard/devices/dev-1?changed=tags").text.contains(#"<p class="notice">Device dev-1 is tagged eu, lab now.</p>"#))
            Self.expectErrorPage(try await browser.post("/dashboard/devices/dev-1/tags", "add=-bad", token: token), .badRequest, "tag")
            Self.expectErrorPage(try await browser.post("/dashboard/devices/dev-1/tags", "add=&remove=", token: token), .badRequest, "name a tag")
            let many = (0...Identifiers.maxTags).map { "t\($0)" }.joined(separator: "+")
            Self.expectErrorPage(try await browser.post("/dashboard/devices/dev-1/tags", "add=" + many, token: token), .badRequest, "at most")
            Self.expectErrorPage(try await browser.post("/dashboard/devices/nobody/tags", "add=eu", token: token), .notFound, "no device 'nobody'")
            Self.expectErrorPage(try await browser.post("/dashboard/devices/-bad/tags", "add=eu", token: token), .badRequest, "device id")

            // Pin and unpin.
            try await Self.expectRefusals(browser, "/dashboard/devices/dev-1/pin", "version=1.0.0", token: token)
            Self.expectErrorPage(try await browser.post("/dashboard/devices/dev-1/pin", "version=9.9.9", token: token), .notFound, "has no release 9.9.9")
            Self.expectErrorPage(try await browser.post("/dashboard/devices/dev-1/pin", "version=latest", token: token), .badRequest, "semantic version")
            #expect(try await device()["pin"] as? String == nil)
            let pinned = try await browser.post("/dashboard/devices/dev-1/pin", "version=1.0.0", token: token)
            #expect(pinned.status == .seeOther && pinned.headers[.location] == "/dashboard/devices/dev-1?changed=pin")
            #expect(try await device()["pin"] as? String == "1.0.0")
            let pinnedPage = try await browser.get("/dashboard/devices/dev-1?changed=pin")
            #expect(pinnedPage.text.contains("Device dev-1 is pinned to 1.0.0.") && pinnedPage.text.contains(#"action="/dashboard/devices/dev-1/unpin""#))
            try await Self.expectRefusals(browser, "/dashboard/devices/dev-1/unpin", "", token: token)
            #expect(try await browser.post("/dashboard/devices/dev-1/unpin", token: token).status == .seeOther)
            #expect(try await device()["pin"] as? String == nil)
            #expect(try await browser.get("/dashboard/devices/dev-1?changed=pin").text.contains("Device dev-1 is not pinned."))
            Self.expectErrorPage(try await browser.get("/dashboard/devices/dev-1?changed=everything"), .badRequest, "changed must be one of")

            // Revoke: the device's requests are refused from then on.
            try await Self.expectRefusals(browser, "/dashboard/devices/dev-1/revoke", "", token: token)
            #expect(try await fleet.checkIn("dev-1", token: oldToken).status == .ok)
            let revoked = try await browser.post("/dashboard/devices/dev-1/revoke", token: token)
            #expect(revoked.status == .seeOther && revoked.headers[.location] == "/dashboard/devices/dev-1?changed=revoked")
            #expect(try await device()["revoked"] as? Bool == true)
            #expect(try await fleet.checkIn("dev-1", token: oldToken).status == .unauthorized)
            #expect(try await browser.get("/dashboard/devices/dev-1?changed=revoked").text.contains("Device dev-1&#39;s token is revoked since"))
            Self.expectErrorPage(try await browser.post("/dashboard/devices/nobody/revoke", token: token), .notFound, "no device")

            // A new token: on the answer's page only, this once, not cached; the device works again with it alone.
            try await Self.expectRefusals(browser, "/dashboard/devices/dev-1/token", "", token: token)
            let issued = try await browser.post("/dashboard/devices/dev-1/token", token: token)
            #expect(issued.status == .ok && issued.headers[.location] == nil)
            #expect(issued.headers[.contentType] == "text/html; charset=utf-8" && issued.headers[.cacheControl] == "no-store")
            let newToken = try #require(issued.text.firstMatch(of: /<code class="secret">([^<]+)<\/code>/).map { String($0.1) }, "\(issued.text)")
            #expect(newToken != oldToken && newToken.hasPrefix(BearerSecret.device.prefix))
            #expect(try await fleet.checkIn("dev-1", token: newToken).status == .ok)
            #expect(try await fleet.checkIn("dev-1", token: oldToken).status == .unauthorized)
            #expect(try await device()["revoked"] as? Bool == false)
            #expect(!(try await browser.get("/dashboard/devices/dev-1").text.contains(newToken)), "shown once")
            Self.expectErrorPage(try await browser.post("/dashboard/devices/nobody/token", token: token), .notFound, "no device")
            Self.expectErrorPage(try await browser.post("/dashboard/devices/dev-1/token", "x=%C3", token: token), .badRequest, "not UTF-8")
            Self.expectErrorPage(
                try await browser.post("/dashboard/devices/dev-1/token", "x=" + String(repeating: "a", count: 2000), token: token), .contentTooLarge,
                "larger than")
        }
    }

    @Test func theDevicePageRetriesAFailedRelease() async throws {
        try await TestFleet.run { fleet in
            let browser = Browser(fleet: fleet)
            let deviceToken = try await fleet.registerDevice("dev-1")
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            let token = try await browser.formToken()
            #expect(!(try await browser.get("/dashboard/devices/dev-1")).text.contains("/retry"), "nothing failed: nothing to retry")
            #expect(try await fleet.checkIn("dev-1", token: deviceToken, format: 2).object["action"] as? String == "update")
            let failed = #"{"id":"dev-1","type":"failed","version":"1.0.0","sequence":1,"reason":"signed by 0 trusted key(s), 1 needed"}"#
            #expect(try await fleet.send(.post, "/api/v1/device/events", token: deviceToken, json: failed).status == .noContent)
            func decision() async throws -> [String: Any] {
                try #require(try await fleet.send(.get, "/api/v1/admin/devices/dev-1").object["decision"] as? [String: Any])
            }
            #expect(try await decision()["reason"] as? String == "failed-lasting")
            let page = try await browser.get("/dashboard/devices/dev-1")
            #expect(page.text.contains(#"action="/dashboard/devices/dev-1/retry""#), "\(page.text)")

            try await Self.expectRefusals(browser, "/dashboard/devices/dev-1/retry", "", token: token)
            #expect(try await decision()["reason"] as? String == "failed-lasting", "a refused form changes nothing")
            let retried = try await browser.post("/dashboard/devices/dev-1/retry", token: token)
            #expect(retried.status == .seeOther && retried.headers[.location] == "/dashboard/devices/dev-1?changed=retried")
            #expect(try await decision()["reason"] as? String == "newest")
            let after = try await browser.get("/dashboard/devices/dev-1?changed=retried")
            #expect(after.text.contains("Device dev-1 has no failed release remembered") && !after.text.contains("/retry\""), "\(after.text)")
            Self.expectErrorPage(try await browser.post("/dashboard/devices/nobody/retry", token: token), .notFound, "no device")
        }
    }

    @Test func aReleasePageShowsItsFilesDevicesAndFailuresByReason() async throws {
        try await TestFleet.run { fleet in
            let browser = Browser(fleet: fleet)
            var tokens: [String: String] = [:]
            for index in 0..<6 { tokens["dev-\(index)"] = try await fleet.registerDevice("dev-\(index)") }
            let other = try await fleet.registerDevice("beta-1", channel: "beta")
            let v1 = TestRelease(version: "1.0.0", sequence: 1)
            try await fleet.publish(v1)
            let v2 = TestRelease(
                version: "1.1.0", sequence: 2,
                files: [TestRelease.File(path: "main.py", bytes: Array("v2".utf8)), TestRelease.File(path: "lib/x.py", bytes: randomBytes(20_000, seed: 3))],
                firmware: [TestRelease.Firmware()])
            try await fleet.publish(v2)
            try await fleet.publish(TestRelease(version: "1.1.0", sequence: 2, channel: "beta"))
            for id in ["dev-0", "dev-1", "dev-2"] {
                #expect(try await fleet.checkIn(id, token: tokens[id]!, sequence: 2, version: "1.1.0").status == .ok)
            }
            #expect(try await fleet.checkIn("dev-3", token: tokens["dev-3"]!, sequence: 1, version: "1.0.0").status == .ok)
            func event(_ id: String, _ token: String, _ type: String, _ reason: String?, step: String? = nil) async throws {
                let reasonJSON = reason.map { #","reason":"\#($0)""# } ?? ""
                let stepJSON = step.map { #","step":"\#($0)""# } ?? ""
                let sent = try await fleet.send(
                    .post, "/api/v1/device/events", token: token,
                    json: #"{"id":"\#(id)","type":"\#(type)","version":"1.1.0","sequence":2\#(reasonJSON)\#(stepJSON)}"#)
                try #require(sent.status == .noContent, "\(sent.text)")
            }
            try await event("dev-3", tokens["dev-3"]!, "rolled_back", "main.py raised <OSError>")
            try await event("dev-4", tokens["dev-4"]!, "rolled_back", "main.py raised <OSError>")
            try await event("dev-4", tokens["dev-4"]!, "rolled_back", "main.py raised <OSError>")
            try await event("dev-5", tokens["dev-5"]!, "failed", "no space")
            try await event("dev-5", tokens["dev-5"]!, "failed", "image too large", step: "firmware")
            try await event("dev-5", tokens["dev-5"]!, "installed", nil)
            try await event("beta-1", other, "failed", "another channel's release")

            let page = try await browser.get("/dashboard/channels/stable/releases/1.1.0")
            #expect(page.status == .ok && page.headers[.cacheControl] == "no-store")
            let html = page.text
            #expect(html.contains("<h1>Release 1.1.0 on stable</h1>"))
            let size = v2.files.reduce(0) { $0 + $1.bytes.count }
            #expect(html.contains("<td>2 files, \(ConsolePages.bytes(size))</td>"), "\(html)")
            #expect(html.contains("ESP32_GENERIC-OTA: MicroPython"), "its firmware image")
            #expect(html.contains(#"Failures by reason <span class="muted">(5 events)</span>"#))
            #expect(html.contains(#"<td class="bad">rolled_back</td><td>main.py raised &lt;OSError&gt;</td><td class="n">3</td><td class="n">2</td>"#), "\(html)")
            #expect(html.contains(#"<td class="bad">failed</td><td>no space</td><td class="n">1</td><td class="n">1</td>"#))
            #expect(html.contains(#"<td class="bad">failed <span class="muted">(firmware)</span></td><td>image too large</td>"#))
            #expect(!html.contains("another channel"), "beta's events are beta's release's")
            #expect(html.contains(#"Devices on it <span class="muted">(3)</span>"#))
            let onIt = html.matches(of: /<td><a href="\/dashboard\/devices\/([^"]+)">/).map { String($0.1) }
            #expect(onIt == ["dev-0", "dev-1", "dev-2"])
            #expect(html.contains(#"<input name="version" value="1.1.0""#), "its rollout form is filled in with it")

            let quiet = try await browser.get("/dashboard/channels/stable/releases/1.0.0")
            #expect(quiet.text.contains("No device reported a failure or a rollback of this release.") && quiet.text.contains("<td>2 files,"))
            Self.expectErrorPage(try await browser.get("/dashboard/channels/stable/releases/2.0.0"), .notFound, "has no release 2.0.0")
            Self.expectErrorPage(try await browser.get("/dashboard/channels/stable/releases/two"), .badRequest, "semantic version")
            Self.expectErrorPage(try await browser.get("/dashboard/channels/St_able/releases/1.0.0"), .badRequest, "channel")
            Self.expectErrorPage(try await fleet.send(.get, "/dashboard/channels/stable/releases/1.1.0", token: nil), .unauthorized, "an admin token as the password")
        }
    }

    @Test func formFieldsAreDecodedStrictly() throws {
        let form = try ConsoleForm(Array("a=x+y%2Cz&b=&c&a=second&d=%E2%9C%93".utf8))
        #expect(form["a"] == "x y,z" && form["b"] == "" && form["c"] == "" && form["missing"] == "" && form["d"] == "✓")
        for bad in ["a=%FF", "a=%4", "a=%ZZ", "%C3=1"] {
            #expect(throws: APIError.self, "\(bad)") { try ConsoleForm(Array(bad.utf8)) }
        }
        #expect(throws: APIError.self) { try ConsoleForm([0x61, 0x3d, 0xff]) }
        #expect(ConsoleAPI<FluentFleetStore>.list(" eu, lab  esp32,,") == ["eu", "lab", "esp32"])
        #expect(ConsoleAPI<FluentFleetStore>.list(" , ") == nil)
        let request = try ConsoleAPI<FluentFleetStore>.rolloutRequest(try ConsoleForm(Array("channel=stable&version=1.2.0&phases=5+25+100&soak=1h".utf8)))
        #expect(request == StartRolloutRequest(channel: "stable", version: "1.2.0", phases: [5, 25, 100], soak: 3600))
    }
}
