import AloftCore
import Foundation
import TestSupport
import Testing

/// A real app on a board whose flash it nearly fills (issue 23): a web framework and an async library as packages with
/// empty `__init__.py` files, sensor drivers, static images, docs — 123 files, 1.1 MB — on a simulated board with
/// 2 MiB of flash beside the agent. A next release that changes most of it cannot fit: the server does not offer it, and
/// `devices list`, `release publish` and `rollout start` say which device is short and by how much; the device fetches
/// nothing for it however often it checks in. A release that only drops the docs fits; once it is confirmed the board has
/// the room, and the big release (without its docs) is offered and installed.
@Suite struct FlashShortageTests {
    /// The app at `version`: `changed` regenerates half the images, a third of the modules, the styles and scripts (and the
    /// docs, when it has them).
    static func app(version: Int, changed: Bool, docs: Bool) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        var random = SeededRandom(seed: 23)
        func text(_ size: Int, _ salt: UInt64, _ line: String) -> [UInt8] {
            var generator = SeededRandom(seed: salt)
            var out: [UInt8] = []
            while out.count < size { out += Array("\(line) \(generator.next() % 1_000_000)\n".utf8) }
            return Array(out.prefix(size))
        }
        let salt: UInt64 = changed ? 1000 : 0
        files["main.py"] = Array("print('garden v\(version) ok')\n".utf8)
        files["data/config.json"] = Array(#"{"interval": 60}"#.utf8)
        files["data/calibration.bin"] = []
        for package in ["lib/microdot", "lib/asyncio", "lib/sensors", "lib/sensors/bme280", "lib/sensors/sht4x"] {
            files[package + "/__init__.py"] = []
        }
        let modules = [
            ("lib/microdot", ["microdot", "websocket", "sse", "cors", "session", "utemplate", "auth", "login", "test_client", "helpers", "multipart", "wsgi", "asgi", "jinja", "cookies", "request", "response", "router"]),
            ("lib/asyncio", ["core", "event", "funcs", "lock", "stream", "task", "queue", "timeout", "barrier", "semaphore", "server", "client", "sleep", "gather"]),
            ("lib/sensors/bme280", ["driver", "compensate", "registers"]), ("lib/sensors/sht4x", ["driver", "crc"]),
        ]
        var index: UInt64 = 0
        for (folder, names) in modules {
            for name in names {
                index += 1
                let size = 1500 + Int(random.next() % 7000)
                files["\(folder)/\(name).py"] = text(size, index + (index % 3 == 0 ? salt : 0), "# \(name): def handler(request):")
            }
        }
        for (n, kind) in ["site", "chart", "gauge", "menu", "theme"].enumerated() { files["www/static/css/\(kind).css"] = text(2000 + n * 500, 500 + UInt64(n) + salt, ".\(kind) {}") }
        for (n, kind) in ["app", "charts", "ws", "forms", "util", "boot"].enumerated() { files["www/static/js/\(kind).js"] = text(3000 + n * 700, 600 + UInt64(n) + salt, "function \(kind)() {}") }
        files["www/index.html"] = text(4000, 700 + salt, "<div class=\"card\"></div>")
        for n in 0..<20 { files["www/static/img/photo\(n).png"] = seededBytes(count: 15_000 + Int(random.next() % 10_000), seed: 800 + UInt64(n) + (n % 2 == 0 ? salt : 0)) }
        for n in 0..<6 { files["www/static/img/icon\(n).svg"] = text(90 + n * 6, 850 + UInt64(n), "<svg/>") }  // kept in their folder's metadata
        for n in 0..<10 { files["lib/microdot/templates/page\(n).tpl"] = text(600 + n * 40, 870 + UInt64(n), "{% block body %}") }
        if docs {
            for n in 0..<30 { files["docs/chapter\(n).md"] = text(15_000 + Int(random.next() % 5000), 900 + UInt64(n) + salt, "## Wiring the sensor") }
        }
        return files
    }

    @Test func aReleaseThatCannotFitIsNotOfferedUntilTheBoardHasRoom() throws {
        let v1 = Self.app(version: 1, changed: false, docs: true)
        #expect(v1.count >= 120 && v1.values.filter(\.isEmpty).count == 6, "\(v1.count) files")
        let fleet = try UpdateFlowTests.Fleet(deviceID: "garden")  // a 2 MiB board, the agent as .mpy
        defer { fleet.stop() }
        try fleet.publish(v1, version: "1.0.0")
        let first = try fleet.boot()
        #expect(first.code == 0 && first.output.contains("garden v1 ok"), "\(first.output)")
        #expect(try appFiles(fleet.device) == digests(v1))
        let free = try #require(fleet.deviceRecord()["free"] as? Int, "the device reports its free flash")

        // The next release changes the images, the docs and a third of the modules: more than the board has free.
        let v2 = Self.app(version: 2, changed: true, docs: true)
        let entries = { (files: [String: [UInt8]]) in
            files.map { FileEntry(path: $0.key, sha256: Digest.sha256Hex($0.value), size: $0.value.count) }
                .sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        }
        let need = FlashNeed.atCheckIn(from: entries(v1), to: entries(v2), agentOnBoard: [])
        try #require(need > free, "the test's data: v2 needs \(need) bytes, the board has \(free) free")
        let published = try fleet.publish(v2, version: "2.0.0")
        let shortfall = FlashNeed.shortfall(need: need, free: free)
        #expect(published.output.contains("1 device of stable cannot take 2.0.0 for lack of flash: garden \(shortfall)"), "\(published.output)")
        let downloads = try fleet.downloadedDigests().count
        for _ in 0..<3 {
            let idle = try fleet.boot()
            #expect(idle.code == 0 && idle.output.contains("garden v1 ok"), "\(idle.output)")
        }
        #expect(try fleet.downloadedDigests().count == downloads, "nothing of 2.0.0 may be fetched: it cannot fit")
        #expect(!(try fleet.events()).contains { $0["type"] as? String == "failed" })
        let list = try fleet.server.aloft(["devices", "list"])
        #expect(list.output.contains("2.0.0 does not fit it: \(shortfall)"), "\(list.output)")
        let held = try fleet.server.aloft(["rollout", "start", "--channel", "stable", "--version", "2.0.0", "--phases", "50,100"])
        #expect(held.output.contains("1 device of its target cannot take 2.0.0 for lack of flash: garden \(shortfall)"), "\(held.output)")
        #expect(try fleet.server.aloft(["rollout", "abort", "1"]).code == 0)

        // A release that only drops the docs fits (it frees flash once confirmed); then the big one without its docs fits too.
        var trimmed = v1
        for path in trimmed.keys where path.hasPrefix("docs/") { trimmed[path] = nil }
        try fleet.publish(trimmed, version: "2.0.1")
        let lighter = try fleet.boot()
        #expect(lighter.code == 0 && lighter.output.contains("garden v1 ok"), "\(lighter.output)")
        #expect(try appFiles(fleet.device) == digests(trimmed))
        let roomier = try #require(fleet.deviceRecord()["free"] as? Int)
        #expect(roomier > free + 450_000, "dropping the docs gave back their blocks: \(free) → \(roomier)")

        let v3 = Self.app(version: 3, changed: true, docs: false)
        let needed = FlashNeed.atCheckIn(from: entries(trimmed), to: entries(v3), agentOnBoard: [])
        try #require(needed <= roomier, "the test's data: v3 needs \(needed), the board has \(roomier)")
        try fleet.publish(v3, version: "2.1.0")
        let big = try fleet.boot()
        #expect(big.code == 0 && big.output.contains("garden v3 ok"), "\(big.output)")
        #expect(try appFiles(fleet.device) == digests(v3))
        #expect(try fleet.deviceRecord()["version"] as? String == "2.1.0")
    }
}
