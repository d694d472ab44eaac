import AloftCore
import Foundation
import Testing

/// Staged rollouts with 20 real simulated devices: a bad release halts at its canaries, a good one completes every
/// phase, and what `aloft rollout status --json` counts is what the devices' flash holds.
@Suite(.serialized) struct RolloutTests {
    static let phases = [10, 50, 100]
    static let v1 = ["main.py": Array("print('v1 runs')\n".utf8)]
    static let bad = ["main.py": Array("raise RuntimeError('sensor bus stuck')\n".utf8)]
    static let good = ["main.py": Array("print('v2 runs')\n".utf8)]

    /// `/.aloft/installed.json` on the device's flash: the installed version and sequence, and the sequence it rejected.
    static func installed(_ server: ServerProcess, _ device: String) throws -> [String: Any] {
        let result = try server.aloft(["sim", "cat", device, "/.aloft/installed.json"])
        guard result.code == 0 else { throw AloftError("cannot read installed.json of \(device): \(result.output)") }
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
    }

    static func boot(_ server: ServerProcess, _ device: String) throws {
        let run = try server.aloft(["sim", "run", device, "--until-idle", "--timeout", "120"], timeout: 150)
        #expect(run.code == 0, "\(device): \(run.output.suffix(600))")
    }

    static func status(_ server: ServerProcess, _ id: Int) throws -> [String: Any] {
        try server.json(["rollout", "status", String(id), "--json"]) as! [String: Any]
    }

    /// The per-phase counts of `state`, summed.
    static func total(_ status: [String: Any], _ state: String) -> Int {
        (status["phases"] as? [[String: Any]] ?? []).reduce(0) { $0 + ($1[state] as? Int ?? 0) }
    }

    @Test func aBadReleaseHaltsAtItsCanariesAndAGoodOneCompletesEveryPhase() throws {
        let scratch = try Scratch()
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        try #require(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let key = scratch.path("k/release.key")
        let ids = (0..<20).map { String(format: "ro-%02d", $0) }
        var folder: [String: String] = [:]
        for id in ids {
            folder[id] = scratch.path(id)
            let provision = try server.aloft(["device", "provision", "--id", id, "--tag", "field", "--pubkey", scratch.path("k/release.pub"), "--out", folder[id]!])
            try #require(provision.code == 0, "\(provision.output)")
        }
        let v1 = try scratch.release("v1", Self.v1)
        try #require(try server.aloft(["release", "publish", v1, "--version", "1.0.0", "--key", key]).code == 0)
        for id in ids { try Self.boot(server, folder[id]!) }
        for id in ids { #expect(try Self.installed(server, folder[id]!)["sequence"] as? Int == 1, "\(id)") }

        // The bad release, held: nobody is offered it until the rollout starts.
        let bad = try scratch.release("bad", Self.bad)
        let held = try server.aloft(["release", "publish", bad, "--version", "2.0.0", "--key", key, "--held"])
        try #require(held.code == 0, "\(held.output)")
        let listed = try server.json(["devices", "list", "--tag", "field", "--json"]) as! [[String: Any]]
        #expect(listed.count == 20)
        #expect(listed.allSatisfy { ($0["decision"] as? [String: Any])?["reason"] as? String == "held" }, "\(listed.first ?? [:])")
        try Self.boot(server, folder[ids[0]]!)
        #expect(try Self.installed(server, folder[ids[0]]!)["sequence"] as? Int == 1)

        let started = try server.json(
            ["rollout", "start", "--channel", "stable", "--version", "2.0.0", "--phases", "10,50,100", "--max-failures", "0", "--json"]) as! [String: Any]
        let badRollout = try #require(started["id"] as? Int)
        let canaries = Set(ids.filter { Cohort.phase(rollout: badRollout, device: $0, phases: Self.phases) == 0 })
        try #require(!canaries.isEmpty, "this test's device ids give rollout \(badRollout) no canary")
        for id in ids { try Self.boot(server, folder[id]!) }

        var status = try Self.status(server, badRollout)
        #expect(status["status"] as? String == "halted", "\(status)")
        #expect(status["phase"] as? Int == 1)
        #expect((status["haltReason"] as? String)?.contains("sensor bus stuck") == true, "\(status)")
        // Only canaries installed it, every one of them rolled back, and the flash says so.
        var rejected: Set<String> = []
        for id in ids {
            let record = try Self.installed(server, folder[id]!)
            #expect(record["sequence"] as? Int == 1, "\(id) runs \(record)")
            #expect(try appFiles(folder[id]!) == digests(Self.v1), "\(id)")
            if record["rejected"] as? Int == 2 { rejected.insert(id) }
            let events = try server.get("/api/v1/admin/devices/\(id)/events")["events"] as! [[String: Any]]
            let installedBad = events.contains { $0["type"] as? String == "installed" && $0["sequence"] as? Int == 2 }
            #expect(!installedBad || canaries.contains(id), "\(id) is no canary but installed the bad release")
            #expect(installedBad == (record["rejected"] as? Int == 2), "\(id): installed it exactly when it rolled it back")
        }
        #expect(!rejected.isEmpty)
        #expect(rejected.isSubset(of: canaries))
        #expect(Self.total(status, "rolledBack") == rejected.count, "\(status)")
        #expect(Self.total(status, "installed") + Self.total(status, "confirmed") == 0)
        #expect(Self.total(status, "failed") == 0)
        let halted = try server.json(["devices", "list", "--json"]) as! [[String: Any]]
        for device in halted where !rejected.contains(device["id"] as! String) {
            #expect((device["decision"] as? [String: Any])?["reason"] as? String == "halted", "\(device)")
        }
        // A halted rollout offers nothing, to canaries and others alike.
        for id in ids.filter({ canaries.contains($0) && !rejected.contains($0) }) + [ids[0]] { try Self.boot(server, folder[id]!) }
        for id in ids { #expect(try Self.installed(server, folder[id]!)["sequence"] as? Int == 1, "\(id)") }

        // The good release completes every phase; a device is never ahead of the phase the rollout is in.
        let good = try scratch.release("good", Self.good)
        try #require(try server.aloft(["release", "publish", good, "--version", "2.0.1", "--key", key, "--held"]).code == 0)
        let second = try server.json(["rollout", "start", "--version", "2.0.1", "--phases", "10,50,100", "--max-failures", "0", "--json"]) as! [String: Any]
        let goodRollout = try #require(second["id"] as? Int)
        for _ in 1...4 {
            for id in ids { try Self.boot(server, folder[id]!) }
            status = try Self.status(server, goodRollout)
            let current = (status["phase"] as? Int ?? 1) - 1
            for id in ids where (Cohort.phase(rollout: goodRollout, device: id, phases: Self.phases) ?? 99) > current {
                #expect(try Self.installed(server, folder[id]!)["sequence"] as? Int == 1, "\(id) took 2.0.1 before its phase")
            }
            if status["status"] as? String == "completed" { break }
        }
        #expect(status["status"] as? String == "completed", "\(status)")
        // The last phase is done once the devices of it that checked in since it began are confirmed: one that ran
        // before it began takes the release at its next check-in, from the completed rollout.
        for id in ids { try Self.boot(server, folder[id]!) }
        status = try Self.status(server, goodRollout)
        #expect(status["phase"] as? Int == 3)
        var confirmed = 0
        for id in ids {
            let record = try Self.installed(server, folder[id]!)
            if record["sequence"] as? Int == 3, try appFiles(folder[id]!) == digests(Self.good) { confirmed += 1 }
        }
        #expect(confirmed == 20)
        #expect(Self.total(status, "confirmed") == confirmed, "\(status)")
        #expect(Self.total(status, "devices") == 20)
        #expect(Self.total(status, "failed") + Self.total(status, "rolledBack") + Self.total(status, "installed") == 0)
        let list = try server.aloft(["rollout", "list"])
        #expect(list.code == 0 && list.stdout.contains("halted") && list.stdout.contains("completed"), "\(list.output)")
    }

    @Test func badInputGivesOneClearLine() throws {
        let scratch = try Scratch()
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        try #require(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let key = scratch.path("k/release.key")
        let app = try scratch.release("app", ["main.py": Array("print(1)\n".utf8)])
        let other = try scratch.release("other", ["main.py": Array("print(2)\n".utf8)])
        #expect(try server.aloft(["release", "publish", app, "--version", "1.0.0", "--key", key]).code == 0)
        let again = try server.aloft(["release", "publish", app, "--version", "1.0.0", "--key", key])
        #expect(again.code == 0 && again.stdout.contains("already published"), "\(again.output)")
        expectClearFailure(try server.aloft(["release", "publish", other, "--version", "1.0.0", "--key", key]), mentions: "has version 1.0.0 already")
        let provision = try server.aloft(["device", "provision", "--id", "d1", "--tag", "lab", "--pubkey", scratch.path("k/release.pub"), "--out", scratch.path("d1")])
        #expect(provision.code == 0, "\(provision.output)")
        expectClearFailure(try server.aloft(["device", "provision", "--id", "d2", "--tag", "no tag", "--pubkey", scratch.path("k/release.pub"), "--out", scratch.path("d2")]),
                           mentions: "invalid tag")

        let start = ["rollout", "start", "--version", "1.0.0"]
        expectClearFailure(try server.aloft(start + ["--phases", "50,10"]), mentions: "cumulative percentages")
        expectClearFailure(try server.aloft(start + ["--phases", "ten"]), mentions: "invalid --phases")
        expectClearFailure(try server.aloft(start + ["--max-failures", "lots"]), mentions: "invalid failure limit")
        expectClearFailure(try server.aloft(start + ["--window", "Mon-Fry 01:00-05:00 UTC"]), mentions: "invalid maintenance window")
        expectClearFailure(try server.aloft(start + ["--soak", "1y"]), mentions: "invalid duration")
        expectClearFailure(try server.aloft(start + ["--tag", "a b"]), mentions: "invalid tag")
        expectClearFailure(try server.aloft(start + ["--min-devices", "0"]), mentions: "min-devices")
        expectClearFailure(try server.aloft(["rollout", "start", "--version", "9.9.9"]), mentions: "has no release 9.9.9")
        expectClearFailure(try server.aloft(["rollout", "status"]), mentions: "no rollout")
        expectClearFailure(try server.aloft(["rollout", "status", "7"]), mentions: "no rollout 7")
        expectClearFailure(try server.aloft(["rollout", "pause", "7"]), mentions: "no rollout 7")
        let started = try server.aloft(start + ["--manual"])
        #expect(started.code == 0 && started.stdout.contains("started rollout 1"), "\(started.output)")
        expectClearFailure(try server.aloft(start), mentions: "abort it first")
        expectClearFailure(try server.aloft(["rollout", "resume", "1"]), mentions: "nothing to resume")
        #expect(try server.aloft(["rollout", "abort", "1"]).code == 0)
        expectClearFailure(try server.aloft(["rollout", "abort", "1"]), mentions: "aborted already")

        expectClearFailure(try server.aloft(["device", "tag", "--id", "d1"]), mentions: "--add or --remove")
        expectClearFailure(try server.aloft(["device", "tag", "--id", "d1", "--add", "a b"]), mentions: "invalid tag")
        expectClearFailure(try server.aloft(["device", "tag", "--id", "nobody", "--add", "a"]), mentions: "no device")
        let tagged = try server.aloft(["device", "tag", "--id", "d1", "--add", "greenhouse,eu", "--remove", "lab"])
        #expect(tagged.code == 0 && tagged.stdout.contains("tags eu, greenhouse"), "\(tagged.output)")
        expectClearFailure(try server.aloft(["device", "pin", "--id", "d1", "--version", "3.0.0"]), mentions: "has no release 3.0.0")
        expectClearFailure(try server.aloft(["device", "pin", "--id", "d1", "--version", "3.0"]), mentions: "invalid version")
        #expect(try server.aloft(["device", "pin", "--id", "d1", "--version", "1.0.0"]).stdout.contains("pinned to 1.0.0"))
        #expect(try server.aloft(["device", "unpin", "--id", "d1"]).code == 0)
        expectClearFailure(try server.aloft(["devices", "list", "--tag", "a b"]), mentions: "invalid tag")

        expectClearFailure(try server.aloft(["release", "promote", "--version", "1.0.0", "--from", "stable", "--to", "stable", "--key", key]), mentions: "same channel")
        expectClearFailure(try server.aloft(["release", "promote", "--version", "5.0.0", "--from", "stable", "--to", "beta", "--key", key]), mentions: "has no release 5.0.0")
        expectClearFailure(try server.aloft(["release", "promote", "--version", "1.0.0", "--from", "stable", "--to", "beta"]), mentions: "--key")
        let promoted = try server.aloft(["release", "promote", "--version", "1.0.0", "--from", "stable", "--to", "beta", "--key", key, "--held"])
        #expect(promoted.code == 0 && promoted.stdout.contains("none uploaded"), "\(promoted.output)")
        let beta = try server.json(["release", "list", "--channel", "beta", "--json"]) as! [[String: Any]]
        #expect(beta.count == 1 && beta.first?["held"] as? Bool == true && beta.first?["version"] as? String == "1.0.0")
        let promotedAgain = try server.aloft(["release", "promote", "--version", "1.0.0", "--from", "stable", "--to", "beta", "--key", key])
        #expect(promotedAgain.code == 0 && promotedAgain.stdout.contains("already published"), "\(promotedAgain.output)")
    }

    @Test func anEnrolledDeviceGetsTheTagsOfItsEnrollmentAndItsImage() throws {
        let scratch = try Scratch()
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        try #require(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let created = try server.aloft(["enrollment", "create", "--name", "batch-1", "--tag", "batch-1"])
        try #require(created.code == 0, "\(created.output)")
        let secret = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let image = try server.aloft(
            ["device", "image", "--enrollment-secret", secret, "--tag", "greenhouse,eu", "--pubkey", scratch.path("k/release.pub"), "--out", scratch.path("g")])
        try #require(image.code == 0, "\(image.output)")
        expectClearFailure(
            try server.aloft(["device", "image", "--enrollment-secret", secret, "--tag", "x y", "--pubkey", scratch.path("k/release.pub"), "--out", scratch.path("h")]),
            mentions: "invalid tag")
        try Self.boot(server, scratch.path("g"))
        let devices = try server.json(["devices", "list", "--tag", "greenhouse", "--json"]) as! [[String: Any]]
        #expect(devices.count == 1)
        #expect(devices.first?["tags"] as? [String] == ["batch-1", "eu", "greenhouse"], "\(devices)")
        #expect(devices.first?["enrollment"] as? String == "batch-1")
    }
}
