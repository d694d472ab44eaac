import AloftCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Real server on a free port, real CLI, real MicroPython devices on LittleFS flash images.
@Suite(.serialized) struct UpdateFlowTests {
    static let mainV1: [UInt8] = Array("import app\nprint('app says', app.VERSION)\n".utf8)
    static let mainV2: [UInt8] = Array("import app\nprint('app says', app.VERSION, 'and more')\n".utf8)

    static var v1: [String: [UInt8]] {
        [
            "main.py": mainV1,
            "app.py": Array("VERSION = 'one'\n".utf8),
            "lib/helpers.py": Array("def helper():\n    return 1\n".utf8),
            "lib/old.py": Array("OLD = True\n".utf8),
            // 200 KB: half pseudo-random, half repetitive text, so zlib has something to do and something it cannot.
            "assets/blob.bin": seededBytes(count: 100_000, seed: 7) + Array(String(repeating: "temperature=21.5;", count: 6_000).utf8.prefix(100_000)),
        ]
    }

    static var v2: [String: [UInt8]] {
        var files = v1
        files["main.py"] = mainV2                                   // changed
        files["lib/old.py"] = nil                                   // removed
        files["lib/new.py"] = Array("NEW = 2\n".utf8)               // added
        return files
    }

    /// Keys, a server and one provisioned device; everything removed afterwards.
    struct Fleet {
        let scratch: Scratch
        let server: ServerProcess
        let device: String
        /// `ALOFT_DEVICE_DIR` for provisioning and booting: the released 0.2.0 agent, or nil for this checkout's.
        let deviceDir: String?

        /// `releasedAgent`: the device runs the agent as released in 0.2.0 (device/tests/data/agent-0.2.0.tar.gz),
        /// which reads only format 1. `agentForm`: the form it is provisioned in (`--agent-form`), else the default.
        init(deviceID: String = "dev-1", serverArguments: [String] = [], releasedAgent: Bool = false, agentForm: String? = nil) throws {
            scratch = try Scratch()
            server = try ServerProcess(data: scratch.url.appendingPathComponent("server"), extraArguments: serverArguments)
            let keys = try server.aloft(["keys", "generate", "--out", scratch.path("keys")])
            try #require(keys.code == 0, "\(keys.output)")
            deviceDir = releasedAgent ? try releasedAgentDir(scratch) : nil
            device = scratch.path(deviceID)
            // The released agent as it was shipped: files (its __init__.py mounts no pack).
            let provision = try server.aloft(
                ["device", "provision", "--id", deviceID, "--pubkey", scratch.path("keys/release.pub"), "--out", device]
                    + (releasedAgent ? ["--agent-form", "mpy"] : agentForm.map { ["--agent-form", $0] } ?? []), environment: environment)
            try #require(provision.code == 0, "\(provision.output)")
        }

        var environment: [String: String] { deviceDir.map { ["ALOFT_DEVICE_DIR": $0] } ?? [:] }

        @discardableResult
        func publish(_ files: [String: [UInt8]], version: String, key: String? = nil, name: String? = nil) throws -> CommandResult {
            let folder = try scratch.release(name ?? "release-\(version)", files)
            let result = try server.aloft(["release", "publish", folder, "--version", version, "--key", key ?? scratch.path("keys/release.key")])
            try #require(result.code == 0, "\(result.output)")
            return result
        }

        func boot(heap: String? = nil, server override: String? = nil) throws -> CommandResult {
            var args = ["sim", "run", device, "--until-idle", "--timeout", "180"]
            if let heap { args += ["--heap", heap] }
            if let override { args += ["--server", override] }
            return try server.aloft(args, timeout: 200, environment: environment)
        }

        func deviceRecord() throws -> [String: Any] {
            try server.get("/api/v1/admin/devices/\(URL(fileURLWithPath: device).lastPathComponent)")
        }

        func events() throws -> [[String: Any]] {
            try server.get("/api/v1/admin/devices/\(URL(fileURLWithPath: device).lastPathComponent)/events")["events"] as! [[String: Any]]
        }

        /// Digests of the device's successful blob requests, newest first.
        func downloadedDigests() throws -> [String] {
            let downloads = try server.get("/api/v1/admin/devices/\(URL(fileURLWithPath: device).lastPathComponent)/downloads")["downloads"] as! [[String: Any]]
            return downloads.filter { ($0["status"] as? Int).map { (200..<300).contains($0) } ?? false }.map { $0["sha256"] as! String }
        }

        /// Installs v1 and checks it landed exactly.
        func installV1() throws {
            try publish(UpdateFlowTests.v1, version: "1.0.0")
            let boot = try boot(heap: "64K")
            try #require(boot.code == 0, "first boot failed: \(boot.output)")
            #expect(try appFiles(device) == digests(UpdateFlowTests.v1))
            #expect(boot.output.contains("app says one"), "v1 main.py did not run: \(boot.output)")
        }

        func stop() { server.stop() }
    }

    @Test func updatesOnlyWhatChangedAndReportsIt() throws {
        let fleet = try Fleet()
        defer { fleet.stop() }
        try fleet.installV1()
        #expect(try fleet.deviceRecord()["version"] as? String == "1.0.0")
        let afterV1 = try fleet.downloadedDigests().count
        #expect(afterV1 == Set(digests(Self.v1).values).count + 1)  // and the file list

        try fleet.publish(Self.v2, version: "2.0.0")
        let boot = try fleet.boot(heap: "64K")
        try #require(boot.code == 0, "update boot failed: \(boot.output)")
        #expect(try appFiles(fleet.device) == digests(Self.v2))
        #expect(boot.output.contains("app says one and more"), "v2 main.py did not run: \(boot.output)")

        // Exactly the changed and added files travelled for v2.
        let all = try fleet.downloadedDigests()  // newest first
        let fetched = Array(all.prefix(all.count - afterV1))
        #expect(Set(fetched) == [Digest.sha256Hex(Self.mainV2), Digest.sha256Hex(Self.v2["lib/new.py"]!), fileListDigest(Self.v2)])
        #expect(fetched.count == 3)

        let record = try fleet.deviceRecord()
        #expect(record["version"] as? String == "2.0.0")
        #expect(record["sequence"] as? Int == 2)
        let listed = try fleet.server.json(["devices", "list", "--json"]) as! [[String: Any]]
        #expect(listed.first?["version"] as? String == "2.0.0")
        #expect(try fleet.events().contains { $0["type"] as? String == "installed" && $0["version"] as? String == "2.0.0" })
        // Both releases also have a legacy envelope, for agents before 0.3.0; this device's agent read format 2.
        let releases = try fleet.server.json(["release", "list", "--json"]) as! [[String: Any]]
        #expect(releases.map { $0["legacy"] as? Bool } == [true, true])
        #expect(try fleet.deviceRecord()["agent"] as? String == "0.4.0")
    }

    /// A release of more than 256 files has no format-1 manifest: agents before 0.3.0 are not offered it, and stay
    /// where they are; the next release that fits format 1 reaches them again.
    @Test func aReleaseTooLargeForFormat1IsNotOfferedToOldAgents() throws {
        let fleet = try Fleet(releasedAgent: true)
        defer { fleet.stop() }
        try fleet.installV1()
        var large = Self.v2
        for index in 0..<300 { large["lib/many/m\(index).py"] = Array("N = \(index)\n".utf8) }
        let published = try fleet.publish(large, version: "2.0.0")
        #expect(published.stdout.contains("\(large.count) files") && published.stdout.contains("not offered to devices with agents before 0.3.0"),
                "\(published.output)")
        let table = try fleet.server.aloft(["release", "list"])
        #expect(table.stdout.contains("LEGACY") && table.stdout.split(separator: "\n").contains { $0.contains("2.0.0") && $0.hasSuffix("no") },
                "\(table.output)")

        let boot = try fleet.boot()
        #expect(boot.code == 0, "\(boot.output)")
        #expect(try appFiles(fleet.device) == digests(Self.v1), "the device stays on v1")
        #expect(try fleet.deviceRecord()["sequence"] as? Int == 1)

        let fits = try fleet.publish(Self.v2, version: "2.1.0")
        #expect(fits.stdout.contains("also signed in format 1"), "\(fits.output)")
        let update = try fleet.boot()
        #expect(update.code == 0, "\(update.output)")
        #expect(try appFiles(fleet.device) == digests(Self.v2))
        #expect(try fleet.deviceRecord()["sequence"] as? Int == 3)
    }

    @Test func tamperedBlobIsRefused() throws {
        let fleet = try Fleet()
        defer { fleet.stop() }
        try fleet.installV1()
        // Incompressible, so the server keeps only the raw form and the device fetches exactly the file we corrupt.
        var v2 = Self.v2
        let payload = seededBytes(count: 4096, seed: 99)
        v2["lib/new.py"] = payload
        try fleet.publish(v2, version: "2.0.0")
        let sha = Digest.sha256Hex(payload)
        let blobs = try FileManager.default.subpathsOfDirectory(atPath: fleet.server.data.path).filter { $0.contains(sha) }
        try #require(!blobs.isEmpty, "blob \(sha) not found under the server's data folder")
        for blob in blobs {
            let url = fleet.server.data.appendingPathComponent(blob)
            var bytes = [UInt8](try Data(contentsOf: url))
            bytes[bytes.count / 2] ^= 0x01
            try Data(bytes).write(to: url)
        }
        try expectRefused(fleet, reasonContains: "sha256")
    }

    @Test func releaseSignedByAnotherKeyIsRefused() throws {
        let fleet = try Fleet()
        defer { fleet.stop() }
        try fleet.installV1()
        let other = try fleet.server.aloft(["keys", "generate", "--out", fleet.scratch.path("other-keys")])
        try #require(other.code == 0)
        try fleet.publish(Self.v2, version: "2.0.0", key: fleet.scratch.path("other-keys/release.key"))
        try expectRefused(fleet, reasonContains: "signature", "trusted key")
        #expect(try fleet.downloadedDigests().count == Set(digests(Self.v1).values).count + 1, "nothing may be downloaded for an unsigned release")
    }

    @Test func truncatedDownloadIsRefused() throws {
        let fleet = try Fleet()
        defer { fleet.stop() }
        try fleet.installV1()
        var v2 = Self.v2
        v2["lib/new.py"] = seededBytes(count: 20_000, seed: 5)
        try fleet.publish(v2, version: "2.0.0")

        let port = String(fleet.server.url.split(separator: ":").last!)
        let proxy = Process()
        proxy.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proxy.arguments = ["python3", Paths.repo.appendingPathComponent("Tests/EndToEndTests/Fixtures/cutting_proxy.py").path, port, "1000"]
        let stdin = Pipe(), stdout = Pipe()
        proxy.standardInput = stdin
        proxy.standardOutput = stdout
        try proxy.run()
        defer {
            try? stdin.fileHandleForWriting.close()
            proxy.waitUntilExit()
        }
        // Read up to the end of the "port N" line: a pipe may deliver it in pieces.
        var line = ""
        while !line.hasSuffix("\n") {
            let chunk = stdout.fileHandleForReading.availableData
            try #require(!chunk.isEmpty, "the proxy ended before saying its port")
            line += String(decoding: chunk, as: UTF8.self)
        }
        let proxyPort = try #require(line.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        let boot = try fleet.boot(server: "http://127.0.0.1:\(proxyPort)")
        #expect(boot.code == 2, "device should stop short of idle: \(boot.output)")
        #expect(try appFiles(fleet.device) == digests(Self.v1))
        let failed = try fleet.events().first { $0["type"] as? String == "failed" }
        #expect(failed != nil, "no failure event")

        // A passing failure (the connection was cut): the release backs off before it is offered again
        // (docs/protocol.md, "Failures")...
        let decision = try #require(try fleet.deviceRecord()["decision"] as? [String: Any])
        #expect(decision["reason"] as? String == "backing-off", "\(decision)")
        #expect((decision["failure"] as? [String: Any])?["kind"] as? String == "passing", "\(decision)")
        let waiting = try fleet.boot()
        #expect(waiting.code == 0, "backing off, the check-in has nothing to do: \(waiting.output)")
        #expect(try appFiles(fleet.device) == digests(Self.v1))
        // ...or at once after `aloft device retry`: straight to the server, the same release installs cleanly.
        let id = URL(fileURLWithPath: fleet.device).lastPathComponent
        #expect(try fleet.server.aloft(["device", "retry", "--id", id]).code == 0)
        let retry = try fleet.boot()
        #expect(retry.code == 0, "\(retry.output)")
        #expect(try appFiles(fleet.device) == digests(v2))
    }

    /// The device stays on v1, says why, and the server hears of the failure.
    func expectRefused(_ fleet: Fleet, reasonContains texts: String...) throws {
        let boot = try fleet.boot()
        #expect(boot.code == 2, "device should stop short of idle: \(boot.output)")
        #expect(try appFiles(fleet.device) == digests(Self.v1))
        #expect(boot.output.contains("app says one"), "v1 must still run: \(boot.output)")
        let record = try fleet.deviceRecord()
        #expect(record["version"] as? String == "1.0.0")
        let failed = try fleet.events().first { $0["type"] as? String == "failed" }
        let reason = (failed?["reason"] as? String) ?? ""
        #expect(failed != nil && texts.contains { reason.lowercased().contains($0) },
                "expected a failed event mentioning one of \(texts), got \(String(describing: failed))")
    }
}
