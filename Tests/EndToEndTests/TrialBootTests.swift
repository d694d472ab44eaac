import AloftCore
import Foundation
import Testing

/// Trial boot and pre-flight against the real server: what a user sees in `aloft devices list`.
@Suite(.serialized) struct TrialBootTests {
    @Test func aReleaseWhoseMainRaisesIsRolledBackAndNotRetried() throws {
        let fleet = try UpdateFlowTests.Fleet(deviceID: "trial-1")
        defer { fleet.stop() }
        try fleet.installV1()
        var broken = UpdateFlowTests.v2
        broken["main.py"] = Array("import app\nraise RuntimeError('sensor bus stuck')\n".utf8)
        try fleet.publish(broken, version: "2.0.0")

        let boot = try fleet.boot()
        #expect(boot.code == 0, "after the rollback the device is idle again: \(boot.output)")
        #expect(boot.output.contains("sensor bus stuck"), "the exception should be shown: \(boot.output)")
        #expect(try appFiles(fleet.device) == digests(UpdateFlowTests.v1), "exactly v1 again")
        #expect(boot.output.contains("app says one"), "v1 runs again: \(boot.output)")

        let record = try fleet.deviceRecord()
        #expect(record["version"] as? String == "1.0.0")
        #expect(record["sequence"] as? Int == 1)
        let rolledBack = try fleet.events().first { $0["type"] as? String == "rolled_back" }
        #expect((rolledBack?["reason"] as? String)?.contains("sensor bus stuck") == true, "\(String(describing: rolledBack))")
        #expect(rolledBack?["sequence"] as? Int == 2)

        // Left alone, it does not try the bad release again...
        let downloads = try fleet.downloadedDigests().count
        let again = try fleet.boot()
        #expect(again.code == 0, "\(again.output)")
        #expect(try appFiles(fleet.device) == digests(UpdateFlowTests.v1))
        #expect(try fleet.downloadedDigests().count == downloads, "the rejected release must not be fetched again")

        // ...but takes the next one.
        try fleet.publish(UpdateFlowTests.v2, version: "2.0.1", name: "fixed")
        let fixed = try fleet.boot()
        #expect(fixed.code == 0, "\(fixed.output)")
        #expect(try appFiles(fleet.device) == digests(UpdateFlowTests.v2))
        #expect(try fleet.deviceRecord()["sequence"] as? Int == 3)
        #expect(try fleet.events().contains { $0["type"] as? String == "confirmed" && $0["sequence"] as? Int == 3 })
    }

    @Test func aReleaseThatDoesNotFitIsNotOfferedAndTheDeviceListSaysByHowMuch() throws {
        let scratch = try Scratch()
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        #expect(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let device = scratch.path("small")  // 352K: room for the agent (62 files) and one block more
        let provision = try server.aloft(["device", "provision", "--id", "small", "--pubkey", scratch.path("k/release.pub"), "--out", device, "--flash-size", "352K"])
        try #require(provision.code == 0, "\(provision.output)")
        let big = try scratch.release("big", ["main.py": Array("print('big')\n".utf8), "data.bin": seededBytes(count: 200_000, seed: 3)])
        #expect(try server.aloft(["release", "publish", big, "--version", "1.0.0", "--key", scratch.path("k/release.key")]).code == 0)

        // The free flash the board reports at check-in is short of what the server works out the update needs: nothing is
        // offered, so nothing is fetched, not even the file list (the agent's own pre-flight check is test_preflight.py's).
        let boot = try server.aloft(["sim", "run", device, "--until-idle", "--timeout", "120"], timeout: 150)
        #expect(boot.code == 0, "\(boot.output)")
        #expect(try appFiles(device).isEmpty, "nothing may be installed")
        let events = try server.get("/api/v1/admin/devices/small/events")["events"] as! [[String: Any]]
        #expect(!events.contains { $0["type"] as? String == "failed" }, "\(events)")
        let downloads = try server.get("/api/v1/admin/devices/small/downloads")["downloads"] as! [[String: Any]]
        #expect(downloads.isEmpty, "nothing may be fetched: \(downloads)")
        let list = try server.aloft(["devices", "list"])
        #expect(list.output.contains("1.0.0 does not fit it: needs ") && list.output.contains(" KB of flash, has "), "\(list.output)")

        // Now that the server has heard the board's free flash, publishing and starting a rollout name it.
        let bigger = try scratch.release("bigger", ["main.py": Array("print('bigger')\n".utf8), "data.bin": seededBytes(count: 210_000, seed: 4)])
        let published = try server.aloft(["release", "publish", bigger, "--version", "1.1.0", "--key", scratch.path("k/release.key"), "--held"])
        #expect(published.code == 0, "\(published.output)")
        #expect(published.output.contains("1 device of stable cannot take 1.1.0 for lack of flash: small needs "), "\(published.output)")
        let started = try server.aloft(["rollout", "start", "--channel", "stable", "--version", "1.1.0"])
        #expect(started.code == 0, "\(started.output)")
        #expect(started.output.contains("1 device of its target cannot take 1.1.0 for lack of flash: small needs "), "\(started.output)")
    }
}
