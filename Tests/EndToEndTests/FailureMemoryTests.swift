import AloftCore
import Foundation
import Testing

/// A release a real MicroPython device fails for a lasting reason is not offered again at every poll; `aloft device
/// retry` offers it again. Real `aloft serve`, CLI and a simulated board too small for the release.
@Suite(.serialized) struct FailureMemoryTests {
    @Test func aReleaseThatDoesNotFitIsNotTriedAgainUntilARetry() throws {
        let scratch = try Scratch()
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        #expect(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let device = scratch.path("small")  // 352K: room for the agent and one block more (TrialBootTests)
        let provision = try server.aloft(["device", "provision", "--id", "small", "--pubkey", scratch.path("k/release.pub"), "--out", device, "--flash-size", "352K"])
        try #require(provision.code == 0, "\(provision.output)")
        let files = ["main.py": Array("print('big')\n".utf8), "data.bin": seededBytes(count: 200_000, seed: 3)]
        let big = try scratch.release("big", files)
        #expect(try server.aloft(["release", "publish", big, "--version", "1.0.0", "--key", scratch.path("k/release.key")]).code == 0)
        func run() throws -> CommandResult { try server.aloft(["sim", "run", device, "--until-idle", "--timeout", "120"], timeout: 150) }
        func failedEvents() throws -> [[String: Any]] {
            (try server.get("/api/v1/admin/devices/small/events")["events"] as! [[String: Any]]).filter { $0["type"] as? String == "failed" }
        }
        func downloads() throws -> Int { (try server.get("/api/v1/admin/devices/small/downloads")["downloads"] as! [[String: Any]]).count }
        func decision() throws -> [String: Any] { try #require(try server.get("/api/v1/admin/devices/small")["decision"] as? [String: Any]) }

        // Offered, refused for lack of flash after fetching the file list alone.
        let first = try run()
        #expect(first.code == 2, "\(first.output)")
        #expect(try appFiles(device).isEmpty)
        #expect(try failedEvents().count == 1)
        #expect((try failedEvents().first?["reason"] as? String)?.hasPrefix("insufficient storage: need ") == true)
        #expect(try downloads() == 1)
        let withheld = try decision()
        #expect(withheld["reason"] as? String == "failed-lasting", "\(withheld)")
        let failure = try #require(withheld["failure"] as? [String: Any])
        #expect(failure["kind"] as? String == "no-flash" && failure["attempts"] as? Int == 1, "\(failure)")
        #expect((withheld["why"] as? String)?.contains("not offered again until it reports more than") == true, "\(withheld)")

        // Ten more boots: each check-in finds nothing to do (exit 0, idle), nothing is fetched and nothing fails again.
        for n in 0..<10 {
            let again = try run()
            #expect(again.code == 0, "boot \(n + 2): \(again.output)")
            #expect(!again.output.contains("insufficient storage"), "boot \(n + 2) tried the release again: \(again.output)")
        }
        #expect(try failedEvents().count == 1, "the device must not try the release again")
        #expect(try downloads() == 1, "the device must not fetch anything of the release again")

        // The operator sees why, and retries.
        let list = try server.aloft(["devices", "list"])
        #expect(list.code == 0 && list.stdout.contains("failed 1.0.0 (1×, lasting (no flash)): insufficient storage: need "), "\(list.output)")
        let retry = try server.aloft(["device", "retry", "--id", "small"])
        #expect(retry.code == 0, "\(retry.output)")
        #expect(retry.stdout.contains("small: forgot 1.0.0 (failed 1×, lasting (no flash): insufficient storage: need "), "\(retry.stdout)")
        #expect(retry.stdout.contains("offered 1.0.0, the newest release of the channel"), "\(retry.stdout)")
        #expect(try decision()["reason"] as? String == "newest")

        // Offered again: it tries (its staged file list is kept, so it plans at once) and fails again; withheld again.
        let retried = try run()
        #expect(retried.code == 2, "\(retried.output)")
        #expect(retried.output.contains("insufficient storage"), "\(retried.output)")
        #expect(try failedEvents().count == 2)
        #expect(((try decision()["failure"] as? [String: Any])?["attempts"] as? Int) == 1, "counted afresh after the retry")
        #expect(try run().code == 0)
        #expect(try failedEvents().count == 2)

        // A retry of a version the channel does not have: a clear refusal.
        expectClearFailure(try server.aloft(["device", "retry", "--id", "small", "--version", "9.9.9"]), mentions: "no release 9.9.9")
        expectClearFailure(try server.aloft(["device", "retry", "--id", "nobody"]), mentions: "no device 'nobody'")
    }
}
