import AloftCore
import Foundation
import Testing

/// A release that carries the agent (`aloft release publish --include-agent`) updates the device's agent: installed
/// like any file, run on trial under the agent it replaces, confirmed, and reported at check-in; an agent that does not
/// import is rolled back by the previous one and reported. Real server, CLI and MicroPython devices.
@Suite(.serialized) struct AgentUpdateTests {
    /// This checkout's agent files, `name` → bytes.
    static func checkoutAgent() throws -> [String: [UInt8]] {
        let dir = Paths.repo.appendingPathComponent("device/aloft")
        var files: [String: [UInt8]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".py") {
            files[name] = Array(try Data(contentsOf: dir.appendingPathComponent(name)))
        }
        return files
    }

    /// The `VERSION = "..."` of an agent's `__init__.py`.
    static func version(of agent: [String: [UInt8]]) throws -> String {
        let text = String(decoding: try #require(agent["__init__.py"]), as: UTF8.self)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("VERSION = \"") })
        return String(line.split(separator: "\"")[1])
    }

    /// A copy of this checkout's agent in `scratch/name/aloft` (what `ALOFT_DEVICE_DIR` points at), reporting `version`,
    /// with `tail` appended to its `__init__.py`; returns its files.
    static func agentFolder(_ scratch: Scratch, _ name: String, version: String, tail: String = "") throws -> [String: [UInt8]] {
        var files = try checkoutAgent()
        let old = try Self.version(of: files)
        let text = String(decoding: files["__init__.py"]!, as: UTF8.self)
        files["__init__.py"] = Array((text.replacingOccurrences(of: "VERSION = \"\(old)\"", with: "VERSION = \"\(version)\"") + tail).utf8)
        _ = try scratch.release("\(name)/aloft", files)
        // A whole device folder, as `aloft agent export` reads one: the agent and the boot hook beside it.
        _ = try scratch.release(name, ["boot.py": Array(try Data(contentsOf: Paths.repo.appendingPathComponent("device/boot.py")))])
        return files
    }

    @Test func aReleaseCarriesANewAgentAndOneThatDoesNotImportIsRolledBack() throws {
        let fleet = try UpdateFlowTests.Fleet()
        defer { fleet.stop() }
        let shipped = try Self.checkoutAgent()
        try fleet.installV1()
        #expect(try fleet.deviceRecord()["agent"] as? String == Self.version(of: shipped))
        let afterV1 = try fleet.downloadedDigests().count

        // v2: new main.py and a new agent (only its __init__.py differs from the one on the device)
        let newAgent = try Self.agentFolder(fleet.scratch, "agent-2", version: "0.9.0-e2e")
        var v2 = UpdateFlowTests.v1
        v2["main.py"] = UpdateFlowTests.mainV2
        let folder = try fleet.scratch.release("release-2", v2)
        let env = ["ALOFT_DEVICE_DIR": fleet.scratch.path("agent-2")]
        let publish = try fleet.server.aloft(
            ["release", "publish", folder, "--version", "2.0.0", "--key", fleet.scratch.path("keys/release.key"), "--include-agent"], environment: env)
        try #require(publish.code == 0, "\(publish.output)")
        #expect(publish.stdout.contains("carries the device agent 0.9.0-e2e: 2 files under lib/aloft/"), "\(publish.stdout)")  // __init__.py and the pack
        // a folder with agent files of its own and --include-agent: refused, nothing published
        let both = try fleet.scratch.release("release-both", ["main.py": [1], "lib/aloft/__init__.py": [2]])
        let tmp = fleet.scratch.path("tmp-refused")  // where the CLI builds the agent it would ship: nothing may stay
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let refused = try fleet.server.aloft(
            ["release", "publish", both, "--version", "9.0.0", "--key", fleet.scratch.path("keys/release.key"), "--include-agent"], environment: ["TMPDIR": tmp])
        #expect(refused.code != 0 && refused.output.contains("already has agent files"), "\(refused.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp) == [], "a refused publish left its staging folder behind")

        // The agent's files are in the file list, read a line at a time: an agent update needs no more RAM than another.
        let boot = try fleet.boot(heap: "72K")
        try #require(boot.code == 0, "agent update failed: \(boot.output)")
        #expect(boot.output.contains("2.0.0 confirmed"), "\(boot.output)")
        #expect(try appFiles(fleet.device) == digests(v2))
        let onFlash = try flashContents(fleet.device)
        // the agent as it went (bytecode in one pack, __init__.py beside it), exactly what `aloft agent export` of that folder writes
        let newAgentOnDevice = try exportedAgent(deviceDir: fleet.scratch.path("agent-2"))
        #expect(onFlash.filter { ReleasePath.isAgentFile($0.key) && !$0.key.contains("#") } == digests(newAgentOnDevice))
        #expect(Set(newAgentOnDevice.keys) == ["lib/aloft/agent.pk", "lib/aloft/__init__.py"])
        #expect(!onFlash.keys.contains { $0.hasPrefix(".aloft/agent") || $0.contains("#") }, "\(onFlash.keys.sorted())")
        #expect(try fleet.deviceRecord()["agent"] as? String == "0.9.0-e2e")
        #expect(try fleet.deviceRecord()["version"] as? String == "2.0.0")
        let listed = try fleet.server.aloft(["devices", "list"])
        #expect(listed.stdout.contains("0.9.0-e2e"), "\(listed.output)")
        // only what changed travelled: main.py and the agent's __init__.py (and the file list)
        let all = try fleet.downloadedDigests()
        let list = fileListDigest(v2.merging(newAgentOnDevice) { $1 })
        #expect(Set(all.prefix(all.count - afterV1)) == [Digest.sha256Hex(UpdateFlowTests.mainV2), Digest.sha256Hex(newAgent["__init__.py"]!), list])

        // v3: an agent that does not import; the previous agent (0.9.0-e2e) takes it back at its trial boot
        _ = try Self.agentFolder(fleet.scratch, "agent-3", version: "0.9.1-e2e", tail: "\nraise ImportError('broken on purpose')\n")
        var v3 = v2
        v3["app.py"] = Array("VERSION = 'three'\n".utf8)
        let folder3 = try fleet.scratch.release("release-3", v3)
        let publish3 = try fleet.server.aloft(
            ["release", "publish", folder3, "--version", "3.0.0", "--key", fleet.scratch.path("keys/release.key"), "--include-agent"],
            environment: ["ALOFT_DEVICE_DIR": fleet.scratch.path("agent-3")])
        try #require(publish3.code == 0, "\(publish3.output)")
        let boot3 = try fleet.boot(heap: "80K")
        try #require(boot3.code == 0, "boot after the broken agent failed: \(boot3.output)")
        #expect(boot3.output.contains("rolling back 3.0.0: the new agent failed: ImportError: broken on purpose"), "\(boot3.output)")
        #expect(try appFiles(fleet.device) == digests(v2))
        #expect(try flashContents(fleet.device).filter { ReleasePath.isAgentFile($0.key) } == onFlash.filter { ReleasePath.isAgentFile($0.key) })
        let record = try fleet.deviceRecord()
        #expect(record["version"] as? String == "2.0.0" && record["agent"] as? String == "0.9.0-e2e", "\(record)")
        let rolledBack = try fleet.events().first { $0["type"] as? String == "rolled_back" }
        #expect(rolledBack?["sequence"] as? Int == 3, "\(String(describing: rolledBack))")
        #expect((rolledBack?["reason"] as? String)?.contains("the new agent failed: ImportError: broken on purpose") == true)
    }
}
