import AloftCore
import Foundation
import Testing

/// `aloft sim fleet`: devices provisioned once, booted a few at a time, some of them unable to run a release, which they
/// roll back; what the table says is what their flash and the server hold.
@Suite struct SimFleetTests {
    @Test func aFleetUpdatesAndThoseThatCannotRunTheReleaseRollBack() throws {
        let scratch = try Scratch("aloft-fleet")
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        #expect(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let key = scratch.path("k/release.key"), fleet = scratch.path("fleet")
        let v1 = try scratch.release("v1", ["main.py": Array("print('fleet app 1')\n".utf8)])
        let v2 = try scratch.release("v2", ["main.py": Array("print('fleet app 2')\n".utf8), "lib/extra.py": Array("X = 2\n".utf8)])
        #expect(try server.aloft(["release", "publish", v1, "--version", "1.0.0", "--key", key]).code == 0)
        let args = ["sim", "fleet", fleet, "--count", "6", "--parallel", "3", "--pubkey", scratch.path("k/release.pub"), "--agent-form", "py"]

        let first = try server.aloft(args + ["--tag", "orchard,row-1"], timeout: 600)
        try #require(first.code == 0, "\(first.output)")
        #expect(first.stdout.contains("provisioned 6 devices") && first.stdout.contains("6 devices in") && first.stdout.contains("6 on 1.0.0"), "\(first.stdout)")

        #expect(try server.aloft(["release", "publish", v2, "--version", "2.0.0", "--key", key]).code == 0)
        let second = try server.aloft(args + ["--fail-on", "2.0.0", "--fail-share", "50"], timeout: 600)
        try #require(second.code == 0, "\(second.output)")
        #expect(!second.stdout.contains("provisioned"), "the devices are there already: \(second.stdout)")
        let rows = second.stdout.split(separator: "\n").filter { $0.hasPrefix("sim-") }
        #expect(rows.count == 6, "\(second.stdout)")
        let failing = rows.filter { $0.split(separator: " ").dropFirst().first == "*" }
        #expect(!failing.isEmpty && failing.count < 6, "with --fail-share 50 some devices fail and some do not: \(second.stdout)")
        let devices = try #require(try server.json(["devices", "list", "--json"]) as? [[String: Any]])
        #expect(devices.allSatisfy { $0["tags"] as? [String] == ["orchard", "row-1"] }, "the fleet's devices carry --tag: \(devices)")
        for row in rows {
            let id = String(row.split(separator: " ")[0])
            let fails = failing.contains(row)
            let flash = try flashContents(fleet + "/" + id)
            let device = try #require(devices.first { $0["id"] as? String == id })
            let last = device["lastEvent"] as? [String: Any]
            if fails {
                #expect(row.contains("1.0.0") && row.contains("rolling back 2.0.0"), "\(row)")
                #expect(flash["main.py"] == Digest.sha256Hex(Array("print('fleet app 1')\n".utf8)) && flash["lib/extra.py"] == nil, "\(id): \(flash)")
                #expect(last?["type"] as? String == "rolled_back" && device["version"] as? String == "1.0.0", "\(id): \(device)")
            } else {
                #expect(row.contains("2.0.0") && row.contains("2.0.0 confirmed"), "\(row)")
                #expect(flash["main.py"] == Digest.sha256Hex(Array("print('fleet app 2')\n".utf8)) && flash["lib/extra.py"] != nil, "\(id): \(flash)")
                #expect(last?["type"] as? String == "confirmed" && device["version"] as? String == "2.0.0", "\(id): \(device)")
            }
        }
        #expect(second.stdout.contains("\(failing.count) on 1.0.0, \(6 - failing.count) on 2.0.0 (* cannot run 2.0.0)"), "\(second.stdout)")
    }

    @Test func badFleetArgumentsAreOneLine() throws {
        let scratch = try Scratch("aloft-fleet-bad")
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        let base = ["sim", "fleet", scratch.path("f"), "--pubkey", scratch.path("none.pub")]
        expectClearFailure(try server.aloft(base + ["--count", "0"]), mentions: "--count must be 1 to 10000")
        expectClearFailure(try server.aloft(base + ["--count", "2", "--parallel", "0"]), mentions: "--parallel must be 1 to 64")
        expectClearFailure(try server.aloft(base + ["--count", "2", "--fail-on", "two"]), mentions: "is not a version")
        expectClearFailure(try server.aloft(base + ["--count", "2", "--fail-share", "101"]), mentions: "--fail-share must be a percentage")
        expectClearFailure(try server.aloft(base + ["--count", "2", "--out", scratch.path("o")]), mentions: "--out does not apply")
        expectClearFailure(try server.aloft(base + ["--count", "2", "--tag", "no spaces"]), mentions: "tag")
        expectClearFailure(try server.aloft(base + ["--count", "2"]), mentions: "none.pub")
        #expect(try (server.json(["devices", "list", "--json"]) as? [Any])?.isEmpty == true, "nothing registered")
    }
}
