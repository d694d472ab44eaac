import AloftCore
import Foundation
import Testing

/// The console in a real browser: headless Chromium (Debian's `chromium`, which `make test` installs) loads each page of
/// a real `aloft serve` whose rollout halted, logged in with the admin token as the Basic password. What the browser
/// built (its DOM) is checked, and a screenshot of each page is left in `.build/console-screenshots/` to look at.
@Suite struct ConsoleBrowserTests {
    static var chromium: String? {
        let candidates = [ProcessInfo.processInfo.environment["ALOFT_CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser"]
        return candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let screenshots = Paths.repo.appendingPathComponent(".build/console-screenshots")

    /// The page as Chromium renders it: its DOM after load, and a screenshot written to `png`.
    static func load(_ url: String, screenshot png: URL, profile: String) throws -> String {
        let browser = try #require(chromium, "no Chromium: apt-get install chromium (make test does, as root)")
        let common = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
            "--user-data-dir=\(profile)", "--window-size=1280,1400",
        ]
        let shot = try runCommand(browser, common + ["--screenshot=\(png.path)", url], timeout: 120)
        #expect(shot.code == 0, "chromium --screenshot: \(shot.output.suffix(2000))")
        let dom = try runCommand(browser, common + ["--dump-dom", url], timeout: 120)
        #expect(dom.code == 0, "chromium --dump-dom: \(dom.output.suffix(2000))")
        return dom.stdout
    }

    @Test func chromiumShowsTheFleetAHaltedRolloutTheDevicesAndADevice() throws {
        let scratch = try Scratch("aloft-console-browser")
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        #expect(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let key = scratch.path("k/release.key")
        let v1 = try scratch.release("v1", ["main.py": Array("print(1)\n".utf8)])
        let v2 = try scratch.release("v2", ["main.py": Array("raise OSError(5)\n".utf8)])
        #expect(try server.aloft(["release", "publish", v1, "--version", "1.0.0", "--key", key]).code == 0)
        #expect(try server.aloft(["release", "publish", v2, "--version", "1.1.0", "--key", key, "--held"]).code == 0)

        // Eight devices on 1.0.0, then a rollout of 1.1.0 whose canaries roll it back.
        var tokens: [String: String] = [:]
        for index in 0..<8 {
            let id = "orchard-\(index)"
            let created = try server.post("/api/v1/admin/devices", token: server.adminToken, json: #"{"id":"\#(id)","channel":"stable","tags":["orchard"]}"#)
            tokens[id] = try #require(created.body["token"] as? String, "\(created)")
            let checkIn = #"{"id":"\#(id)","version":"1.0.0","sequence":1,"board":"esp32","micropython":"1.22.0","agent":"0.5.0","format":2}"#
            #expect(try server.post("/api/v1/device/checkin", token: tokens[id]!, json: checkIn).status == 200)
            let confirmed = #"{"id":"\#(id)","type":"confirmed","version":"1.0.0","sequence":1}"#
            #expect(try server.post("/api/v1/device/events", token: tokens[id]!, json: confirmed).status == 204)
        }
        let started = try server.aloft(["rollout", "start", "--channel", "stable", "--version", "1.1.0", "--phases", "25,100", "--max-failures", "0"])
        #expect(started.code == 0, "\(started.output)")
        var canaries: [String] = []
        for (id, token) in tokens.sorted(by: { $0.key < $1.key }) {
            let answer = try server.post(
                "/api/v1/device/checkin", token: token, json: #"{"id":"\#(id)","version":"1.0.0","sequence":1,"board":"esp32","micropython":"1.22.0","format":2}"#)
            if answer.body["release"] != nil { canaries.append(id) }
        }
        let canary = try #require(canaries.first, "a 25% phase of 8 devices has a canary")
        for type in ["downloading", "installed", "rolled_back"] {
            let event = #"{"id":"\#(canary)","type":"\#(type)","version":"1.1.0","sequence":2,"reason":"main.py raised OSError: 5"}"#
            #expect(try server.post("/api/v1/device/events", token: tokens[canary]!, json: event).status == 204)
        }

        try FileManager.default.createDirectory(at: Self.screenshots, withIntermediateDirectories: true)
        let base = server.url.replacingOccurrences(of: "://", with: "://admin:\(server.adminToken)@")
        let profile = scratch.path("chromium-profile")

        let fleet = try Self.load(base + "/dashboard", screenshot: Self.screenshots.appendingPathComponent("fleet.png"), profile: profile)
        #expect(fleet.contains("<h1>Fleet</h1>"), "\(fleet.prefix(2000))")
        #expect(fleet.contains(#"<div class="card bad" id="rollout-1">"#), "the halted rollout is red: \(fleet)")
        #expect(fleet.contains("Halted: 1 of 1 device that tried failed or rolled back (limit 0): 1× main.py raised OSError: 5"), "\(fleet)")
        #expect(fleet.contains(#"action="/dashboard/rollouts/1/abort""#) && !fleet.contains(#"action="/dashboard/rollouts/1/pause""#))
        #expect(fleet.contains("Channel stable") && fleet.contains("1.0.0</a>: 8"), "devices per release: \(fleet)")

        let list = try Self.load(
            base + "/dashboard/devices?tag=orchard&state=rolled_back", screenshot: Self.screenshots.appendingPathComponent("devices.png"), profile: profile)
        #expect(list.contains("1–1 of 1 devices"), "\(list)")
        #expect(list.contains(#"<a href="/dashboard/devices/\#(canary)">\#(canary)</a>"#))

        let device = try Self.load(
            base + "/dashboard/devices/\(canary)", screenshot: Self.screenshots.appendingPathComponent("device.png"), profile: profile)
        #expect(device.contains("<h1>Device \(canary)</h1>"))
        #expect(device.contains(#"<td class="bad">rolled_back</td><td>1.1.0</td><td>main.py raised OSError: 5</td>"#), "\(device)")
        #expect(device.contains("nothing: rollout 1 halted"), "why it is offered nothing: \(device)")

        for name in ["fleet", "devices", "device"] {
            let png = try Data(contentsOf: Self.screenshots.appendingPathComponent("\(name).png"))
            #expect(png.starts(with: [0x89, 0x50, 0x4e, 0x47]) && png.count > 10_000, "\(name).png: \(png.count) bytes")
        }
    }

    /// Submits a form of a console page in headless Chromium (Fixtures/cdp_submit_form.py drives it over the DevTools
    /// pipe) and returns the HTML of the page the browser lands on. The submission is the browser's own: its
    /// Sec-Fetch-Site and the form token of the page it loaded are what the server checks.
    static func submit(
        _ url: String, form: String, fields: [String: String], basic: String, screenshot png: URL, profile: String
    ) throws -> String {
        let browser = try #require(chromium, "no Chromium: apt-get install chromium (make test does, as root)")
        let script = Paths.repo.appendingPathComponent("Tests/EndToEndTests/Fixtures/cdp_submit_form.py").path
        let json = String(decoding: try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
        let run = try runCommand(
            "/usr/bin/env",
            ["python3", script, "--chromium", browser, "--profile", profile, "--url", url, "--form", form, "--fields", json, "--screenshot", png.path],
            environment: ["ALOFT_CONSOLE_AUTH": basic], timeout: 150)
        try #require(run.code == 0, "cdp_submit_form.py: \(run.output.suffix(2000))")
        return run.stdout
    }

    @Test func chromiumStartsARolloutFromTheFleetPagesFormAndItsFirstPhaseIsOffered() throws {
        let scratch = try Scratch("aloft-console-form")
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        #expect(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let key = scratch.path("k/release.key")
        let v1 = try scratch.release("v1", ["main.py": Array("print(1)\n".utf8)])
        let v2 = try scratch.release("v2", ["main.py": Array("print(2)\n".utf8)])
        #expect(try server.aloft(["release", "publish", v1, "--version", "1.0.0", "--key", key]).code == 0)
        #expect(try server.aloft(["release", "publish", v2, "--version", "1.1.0", "--key", key, "--held"]).code == 0)

        // Twenty devices on 1.0.0, checking in over HTTP as the agent does; the held 1.1.0 is offered to none of them.
        var tokens: [String: String] = [:]
        func checkIn(_ id: String) throws -> Bool {
            let body = #"{"id":"\#(id)","version":"1.0.0","sequence":1,"board":"esp32","micropython":"1.22.0","agent":"0.5.0","format":2}"#
            let answer = try server.post("/api/v1/device/checkin", token: tokens[id]!, json: body)
            try #require(answer.status == 200, "\(answer)")
            return answer.body["release"] != nil
        }
        for index in 0..<20 {
            let id = String(format: "vine-%02d", index)
            let created = try server.post("/api/v1/admin/devices", token: server.adminToken, json: #"{"id":"\#(id)","channel":"stable"}"#)
            tokens[id] = try #require(created.body["token"] as? String, "\(created)")
            #expect(try checkIn(id) == false)
        }

        // The form, filled in and submitted by the browser.
        try FileManager.default.createDirectory(at: Self.screenshots, withIntermediateDirectories: true)
        let png = Self.screenshots.appendingPathComponent("rollout-form.png")
        let basic = "Basic " + Data("admin:\(server.adminToken)".utf8).base64EncodedString()
        let landed = try Self.submit(
            server.url + "/dashboard", form: #"form[action="/dashboard/rollouts"]"#,
            fields: ["channel": "stable", "version": "1.1.0", "phases": "25, 100", "maxFailures": "0", "soak": "1h"], basic: basic, screenshot: png,
            profile: scratch.path("chromium-profile"))
        #expect(landed.contains(#"<p class="notice">Rollout 1 (1.1.0 on stable) is running, in phase 1 of 2.</p>"#), "\(landed.prefix(4000))")
        #expect(landed.contains(#"<div class="card run" id="rollout-1">"#))
        let shot = try Data(contentsOf: png)
        #expect(shot.starts(with: [0x89, 0x50, 0x4e, 0x47]) && shot.count > 10_000, "rollout-form.png: \(shot.count) bytes")

        // The rollout the API shows is the form's, and its first phase is what the devices are offered.
        let rollout = try server.get("/api/v1/admin/rollouts/1")
        #expect(rollout["soak"] as? Int == 3600 && rollout["maxFailures"] as? String == "0")
        let phases = try #require(rollout["phases"] as? [[String: Any]])
        #expect(phases.compactMap { $0["percent"] as? Int } == [25, 100])
        // A device's phase is its cohort number's (a hash of rollout and id), so 25% of 20 is about 5, not exactly.
        let firstPhase = tokens.keys.sorted().filter { Cohort.phase(rollout: 1, device: $0, phases: [25, 100]) == 0 }
        #expect(phases.first?["devices"] as? Int == firstPhase.count && (2...9).contains(firstPhase.count), "\(firstPhase)")
        var offered: [String] = []
        for id in tokens.keys.sorted() where try checkIn(id) { offered.append(id) }
        #expect(offered == firstPhase, "offered: \(offered)")
        let listed = try #require(try server.get("/api/v1/admin/devices")["devices"] as? [[String: Any]])
        for device in listed {
            let id = try #require(device["id"] as? String)
            let reason = (device["decision"] as? [String: Any])?["reason"] as? String
            #expect(offered.contains(id) ? reason != "not-in-phase" : reason == "not-in-phase", "\(id): \(device)")
        }

        // One of them fails; the release's page (linked from the fleet page) says so, by reason.
        let failing = try #require(offered.first)
        let failed = #"{"id":"\#(failing)","type":"failed","version":"1.1.0","sequence":2,"reason":"no space left"}"#
        #expect(try server.post("/api/v1/device/events", token: tokens[failing]!, json: failed).status == 204)
        #expect(landed.contains(#"<a href="/dashboard/channels/stable/releases/1.1.0">1.1.0</a>"#))
        let base = server.url.replacingOccurrences(of: "://", with: "://admin:\(server.adminToken)@")
        let release = try Self.load(
            base + "/dashboard/channels/stable/releases/1.1.0", screenshot: Self.screenshots.appendingPathComponent("release.png"),
            profile: scratch.path("chromium-profile-2"))
        #expect(release.contains("<h1>Release 1.1.0 on stable <span class=\"warn\">held</span></h1>"), "\(release.prefix(3000))")
        #expect(release.contains(#"<td class="bad">failed</td><td>no space left</td><td class="n">1</td><td class="n">1</td>"#), "\(release)")
        #expect(release.contains("<td>1 file, 9 B</td>") && release.contains("rollout 1</a> (halted)"), "\(release)")
    }
}
