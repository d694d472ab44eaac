import AloftCore
import Foundation
import Testing

/// A release a real MicroPython device fails for a lasting reason is not offered again at every poll; `aloft device
/// retry` offers it again. Real `aloft serve`, CLI and a simulated board that does not trust the key the release is signed
/// with (a key rotation gone wrong: the same bytes fail at every attempt). A release that cannot fit the board's flash is
/// not offered at all (FlashShortageTests); the no-flash failures the server could not foresee are FailureAPITests'.
@Suite(.serialized) struct FailureMemoryTests {
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
