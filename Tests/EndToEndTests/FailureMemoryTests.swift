import AloftCore
import Foundation
import Testing

/// A release a real MicroPython device fails for a lasting reason is not offered again at every poll; `aloft device
/// retry` offers it again. Real `aloft serve`, CLI and a simulated board that does not trust the key the release is signed
/// with (a key rotation gone wrong: the same bytes fail at every attempt). A release that cannot fit the board's flash is
/// not offered at all (FlashShortageTests); a device that fails for lack of flash the server could not foresee is offered
/// the release again once it reports the room, and not before (below, and FailureAPITests at the HTTP level).
@Suite(.serialized) struct FailureMemoryTests {
    /// The server reckons a board's agent to be the one its installed release carries, else the new release's: a board
    /// provisioned with the agent as `.mpy` files, taking its first release that carries the agent as a pack, needs room for
    /// the copy of ~60 files the server does not count (the pack's copy is its header). That device fails its own flash
    /// check, is not offered the release at its next check-ins, and is offered it again as soon as its application has freed
    /// flash (a log removed), then installs it.
    @Test func aDeviceShortOfFlashIsOfferedTheReleaseAgainOnceItHasRoomAndNotBefore() throws {
        let fleet = try UpdateFlowTests.Fleet(deviceID: "garden", agentForm: "mpy")  // a 2 MiB board
        defer { fleet.stop() }
        // A real app (FlashShortageTests': packages with empty __init__.py files, images, 93 files without its docs).
        let v1 = FlashShortageTests.app(version: 1, changed: false, docs: false)
        try fleet.publish(v1, version: "1.0.0")
        let first = try fleet.boot()
        try #require(first.code == 0 && first.output.contains("garden v1 ok"), "\(first.output)")
        let free = try #require(fleet.deviceRecord()["free"] as? Int)

        // The next release: main.py and two modules changed, and the agent as a pack (what `aloft agent export` writes,
        // byte for byte).
        var v2 = v1
        v2["main.py"] = Array("print('garden v2 ok')\n".utf8)
        for module in ["lib/asyncio/core.py", "lib/microdot/router.py"] { v2[module] = Array("# v2\n".utf8) + (v1[module] ?? []) }
        let exported = fleet.scratch.path("agent-pack")
        try #require(try fleet.server.aloft(["agent", "export", exported]).code == 0)
        let mpyAgent = fleet.scratch.path("agent-mpy")
        try #require(try fleet.server.aloft(["agent", "export", mpyAgent, "--agent-form", "mpy"]).code == 0)
        func agentFiles(_ folder: String) throws -> [FileEntry] {
            let dir = folder + "/lib/aloft"
            return try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { name in
                let bytes = Array(try #require(FileManager.default.contents(atPath: dir + "/" + name)))
                return FileEntry(path: "lib/aloft/" + name, sha256: Digest.sha256Hex(bytes), size: bytes.count)
            }
        }
        let pack = try agentFiles(exported)
        let entries = { (files: [String: [UInt8]]) in files.map { FileEntry(path: $0.key, sha256: Digest.sha256Hex($0.value), size: $0.value.count) } }
        let installed = entries(v1).sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        let new = (entries(v2) + pack).sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        let reckoned = FlashNeed.atCheckIn(from: installed, to: new, agentOnBoard: pack)  // the server's figure
        let board = try agentFiles(mpyAgent)
        let needed = FlashNeed.atCheckIn(from: installed, to: new, agentOnBoard: board)  // the board's
        try #require(needed - reckoned > 100_000, "the test's data: \(reckoned) against \(needed)")

        // The application logs until the board has room for what the server reckons, not for what it needs.
        let log = free - (reckoned + needed) / 2
        try #require(needed < free, "the test's data: the board has \(free) free, needs \(needed) for v2")
        let tool = Paths.repo.appendingPathComponent("device/sim/flashtool.py").path
        let fill = try runCommand(Paths.micropython, [tool, "fill", fleet.device + "/flash.img", "/log.bin", String(log)])
        try #require(fill.code == 0, "\(fill.output)")
        let publish = try fleet.server.aloft(["release", "publish", try fleet.scratch.release("v2", v2), "--version", "2.0.0",
                                              "--key", fleet.scratch.path("keys/release.key"), "--include-agent"])
        try #require(publish.code == 0, "\(publish.output)")
        #expect(!publish.output.contains("lack of flash"), "the server cannot foresee this shortage: \(publish.output)")

        let short = try fleet.boot()
        // The board's own figure is FlashNeed's with its real agent, to the byte.
        let install = FlashNeed.install(from: installed, to: new, agentOnBoard: board)
        #expect(short.code == 2 && short.output.contains("insufficient storage: need \(install) bytes"), "FlashNeed \(install): \(short.output.split(separator: "\n").filter { $0.contains("needs") })")
        func failed() throws -> [[String: Any]] { try fleet.events().filter { $0["type"] as? String == "failed" } }
        #expect(try failed().count == 1 && (try failed().first?["reason"] as? String)?.hasPrefix("insufficient storage") == true)
        let decision = try #require(try fleet.deviceRecord()["decision"] as? [String: Any])
        #expect(decision["reason"] as? String == "failed-lasting", "\(decision)")
        let fetched = try fleet.downloadedDigests().count

        // Not before: the same free flash at each check-in, nothing fetched, nothing failed again.
        for n in 0..<4 {
            let again = try fleet.boot()
            #expect(again.code == 0 && !again.output.contains("insufficient storage"), "boot \(n + 2): \(again.output)")
        }
        #expect(try failed().count == 1 && (try fleet.downloadedDigests().count) == fetched)
        #expect(try fleet.deviceRecord()["sequence"] as? Int == 1)

        // The application removes its log: the next check-in reports the room, the release is offered and installed.
        let rm = try runCommand(Paths.micropython, [tool, "rm", fleet.device + "/flash.img", "/log.bin"])
        try #require(rm.code == 0, "\(rm.output)")
        let roomy = try fleet.boot()
        #expect(roomy.code == 0 && roomy.output.contains("garden v2 ok"), "\(roomy.output)")
        #expect(try fleet.deviceRecord()["sequence"] as? Int == 2)
        #expect(try appFiles(fleet.device) == digests(v2))
        #expect(try flashContents(fleet.device).keys.filter { $0.hasPrefix("lib/aloft/") }.sorted() == ["lib/aloft/__init__.py", "lib/aloft/agent.pk"])
        #expect(try failed().count == 1)
    }

    @Test func aReleaseItCannotTrustIsNotTriedAgainUntilARetry() throws {
        let scratch = try Scratch()
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        #expect(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        #expect(try server.aloft(["keys", "generate", "--out", scratch.path("other")]).code == 0)
        let device = scratch.path("small")
        let provision = try server.aloft(["device", "provision", "--id", "small", "--pubkey", scratch.path("k/release.pub"), "--out", device])
        try #require(provision.code == 0, "\(provision.output)")
        let files = ["main.py": Array("print('other')\n".utf8), "data.bin": seededBytes(count: 20_000, seed: 3)]
        let release = try scratch.release("other", files)
        #expect(try server.aloft(["release", "publish", release, "--version", "1.0.0", "--key", scratch.path("other/release.key")]).code == 0)
        func run() throws -> CommandResult { try server.aloft(["sim", "run", device, "--until-idle", "--timeout", "120"], timeout: 150) }
        func failedEvents() throws -> [[String: Any]] {
            (try server.get("/api/v1/admin/devices/small/events")["events"] as! [[String: Any]]).filter { $0["type"] as? String == "failed" }
        }
        func downloads() throws -> Int { (try server.get("/api/v1/admin/devices/small/downloads")["downloads"] as! [[String: Any]]).count }
        func decision() throws -> [String: Any] { try #require(try server.get("/api/v1/admin/devices/small")["decision"] as? [String: Any]) }

        // Offered, refused before anything is fetched: no key it trusts signed it.
        let first = try run()
        #expect(first.code == 2, "\(first.output)")
        #expect(try appFiles(device).isEmpty)
        #expect(try failedEvents().count == 1)
        let reason = "signed by 0 trusted key(s), 1 needed"
        let events = try failedEvents()
        #expect((events.first?["reason"] as? String)?.contains(reason) == true, "\(events)")
        let fetched = try downloads()
        let withheld = try decision()
        #expect(withheld["reason"] as? String == "failed-lasting", "\(withheld)")
        let failure = try #require(withheld["failure"] as? [String: Any])
        #expect(failure["kind"] as? String == "lasting" && failure["attempts"] as? Int == 1, "\(failure)")
        #expect((withheld["why"] as? String)?.contains("not offered again until a newer release comes or `aloft device retry --id small`") == true, "\(withheld)")

        // Ten more boots: each check-in finds nothing to do (exit 0, idle), nothing is fetched and nothing fails again.
        for n in 0..<10 {
            let again = try run()
            #expect(again.code == 0, "boot \(n + 2): \(again.output)")
            #expect(!again.output.contains("trusted key"), "boot \(n + 2) tried the release again: \(again.output)")
        }
        #expect(try failedEvents().count == 1, "the device must not try the release again")
        #expect(try downloads() == fetched, "the device must not fetch anything of the release again")

        // The operator sees why, and retries.
        let list = try server.aloft(["devices", "list"])
        #expect(list.code == 0 && list.stdout.contains("failed 1.0.0 (1×, lasting): \(reason)"), "\(list.output)")
        let retry = try server.aloft(["device", "retry", "--id", "small"])
        #expect(retry.code == 0, "\(retry.output)")
        #expect(retry.stdout.contains("small: forgot 1.0.0 (failed 1×, lasting: \(reason)"), "\(retry.stdout)")
        #expect(retry.stdout.contains("offered 1.0.0, the newest release of the channel"), "\(retry.stdout)")
        #expect(try decision()["reason"] as? String == "newest")

        // Offered again: it tries, and fails again; withheld again.
        let retried = try run()
        #expect(retried.code == 2, "\(retried.output)")
        #expect(retried.output.contains("trusted key"), "\(retried.output)")
        #expect(try failedEvents().count == 2)
        #expect(((try decision()["failure"] as? [String: Any])?["attempts"] as? Int) == 1, "counted afresh after the retry")
        #expect(try run().code == 0)
        #expect(try failedEvents().count == 2)

        // A retry of a version the channel does not have: a clear refusal.
        expectClearFailure(try server.aloft(["device", "retry", "--id", "small", "--version", "9.9.9"]), mentions: "no release 9.9.9")
        expectClearFailure(try server.aloft(["device", "retry", "--id", "nobody"]), mentions: "no device 'nobody'")
    }
}
