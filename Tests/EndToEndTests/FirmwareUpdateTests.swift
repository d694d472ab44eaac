import AloftCore
import Foundation
import Testing

/// Firmware updates through the real server and CLI, on simulated ESP32 boards (docs/firmware.md): a release with firmware
/// and files installs the firmware first (trial, confirmed), then the files; a 20-device rollout of a firmware that
/// crashes at boot halts at its canaries, each back on its old firmware and files and reported rolled back with the
/// reason; a good firmware then completes every phase.
@Suite(.serialized) struct FirmwareUpdateTests {
    static let phases = [10, 50, 100]
    static let v1 = ["main.py": Array("import sys\nprint('v1 runs on', sys.implementation.version[:3])\n".utf8)]
    static let v2 = ["main.py": Array("import sys\nprint('v2 runs on', sys.implementation.version[:3])\n".utf8), "lib/two.py": Array("X = 2\n".utf8)]

    /// An ESP32_GENERIC-OTA app image of MicroPython `version`, built by the simulator's builder (real format).
    static func image(_ scratch: Scratch, _ name: String, version: String = "1.26.0", behaviour: String = "boots", seed: Int) throws -> String {
        try FirmwareInspectTests.build(
            scratch, name, ["--chip", "esp32", "--build", "ESP32_GENERIC-OTA", "--micropython", version, "--behaviour", behaviour, "--size", "98304", "--seed", String(seed)])
    }

    static func events(_ server: ServerProcess, _ id: String) throws -> [(type: String, step: String?, reason: String?, sequence: Int?)] {
        let events = try server.get("/api/v1/admin/devices/\(id)/events")["events"] as! [[String: Any]]
        return events.reversed().map { ($0["type"] as! String, $0["step"] as? String, $0["reason"] as? String, $0["sequence"] as? Int) }
    }

    static func device(_ server: ServerProcess, _ id: String) throws -> [String: Any] { try server.get("/api/v1/admin/devices/\(id)") }

    static func firmware(_ record: [String: Any]) -> (version: String?, running: String?, state: String?) {
        let f = record["firmware"] as? [String: Any]
        return (f?["micropython"] as? String ?? record["micropython"] as? String, f?["running"] as? String, f?["state"] as? String)
    }

    @Test func aReleaseWithFirmwareGoesFirmwareFirstThenFiles() throws {
        let scratch = try Scratch("aloft-fw")
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        try #require(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let key = scratch.path("k/release.key"), dev = scratch.path("dev")
        let provision = try server.aloft(["device", "provision", "--id", "esp-1", "--pubkey", scratch.path("k/release.pub"), "--out", dev, "--profile", "esp32-ota"])
        try #require(provision.code == 0, "\(provision.output)")
        #expect(provision.stdout.contains("a simulated esp32-ota"), "\(provision.stdout)")
        try #require(try server.aloft(["release", "publish", try scratch.release("v1", Self.v1), "--version", "1.0.0", "--key", key]).code == 0)
        var run = try server.aloft(["sim", "run", dev, "--until-idle", "--timeout", "120"], timeout: 150)
        try #require(run.code == 0, "\(run.output.suffix(800))")
        var record = try Self.device(server, "esp-1")
        #expect(Self.firmware(record) == ("1.24.1", "ota_0", "valid"), "\(record)")
        #expect((record["firmware"] as? [String: Any])?["build"] as? String == "ESP32_GENERIC-OTA", "\(record)")

        let fw = try Self.image(scratch, "fw.app-bin", seed: 1)
        let publish = try server.aloft(["release", "publish", try scratch.release("v2", Self.v2), "--version", "2.0.0", "--key", key, "--firmware", "ESP32_GENERIC-OTA=" + fw])
        try #require(publish.code == 0, "\(publish.output)")
        #expect(publish.stdout.contains("carries firmware for ESP32_GENERIC-OTA: MicroPython 1.26.0"), "\(publish.stdout)")
        let listed = try server.json(["devices", "list", "--json"]) as! [[String: Any]]
        let decision = listed.first?["decision"] as? [String: Any]
        #expect(decision?["step"] as? String == "firmware", "\(listed)")
        #expect((decision?["why"] as? String)?.contains("firmware first (ESP32_GENERIC-OTA, MicroPython 1.26.0)") == true, "\(listed)")

        run = try server.aloft(["sim", "run", dev, "--until-idle", "--timeout", "120"], timeout: 150)
        try #require(run.code == 0, "\(run.output.suffix(1500))")
        #expect(run.output.contains("v2 runs on (1, 26, 0)"), "\(run.output.suffix(800))")
        let sequence = try Self.events(server, "esp-1").filter { $0.sequence == 2 }.map { "\($0.type)\($0.step.map { "/" + $0 } ?? "")" }
        #expect(sequence == ["downloading/firmware", "installed/firmware", "confirmed/firmware", "downloading", "installed", "confirmed"], "\(sequence)")
        record = try Self.device(server, "esp-1")
        #expect(Self.firmware(record) == ("1.26.0", "ota_1", "valid"), "\(record)")
        #expect((record["firmware"] as? [String: Any])?["rollback"] as? Bool == true, "learned at its trial boot: \(record)")
        #expect(record["version"] as? String == "2.0.0")
        #expect(try appFiles(dev)["lib/two.py"] == digests(Self.v2)["lib/two.py"])
        // The firmware image was served whole once (the device had nothing of it), zlib-packed or raw.
        let downloads = try server.get("/api/v1/admin/devices/esp-1/downloads")["downloads"] as! [[String: Any]]
        let sha = Digest.sha256Hex(Array(try Data(contentsOf: URL(fileURLWithPath: fw))))
        #expect(downloads.filter { $0["sha256"] as? String == sha }.count == 1, "\(downloads)")
    }

    /// `sim fleet` over the same 20 ESP32 boards, until each is idle.
    static func fleetRun(_ server: ServerProcess, _ args: [String]) throws -> CommandResult {
        let run = try server.aloft(args, timeout: 900)
        #expect(run.code == 0, "\(run.output.suffix(1500))")
        return run
    }

    @Test func aCrashingFirmwareHaltsItsRolloutAtTheCanariesAndAGoodOneCompletesEveryPhase() throws {
        let scratch = try Scratch("aloft-fw-rollout")
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        try #require(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let key = scratch.path("k/release.key"), fleet = scratch.path("fleet")
        let ids = (1...20).map { String(format: "sim-%03d", $0) }
        let args = ["sim", "fleet", fleet, "--count", "20", "--parallel", "2", "--pubkey", scratch.path("k/release.pub"), "--profile", "esp32-ota"]
        try #require(try server.aloft(["release", "publish", try scratch.release("v1", Self.v1), "--version", "1.0.0", "--key", key]).code == 0)
        _ = try Self.fleetRun(server, args)
        for id in ids { #expect(try RolloutTests.installed(server, fleet + "/" + id)["sequence"] as? Int == 1, "\(id)") }

        // A firmware that crashes before MicroPython starts, with files that need it.
        let crash = try Self.image(scratch, "crash.app-bin", behaviour: "crash", seed: 2)
        let held = try server.aloft([
            "release", "publish", try scratch.release("v2", Self.v2), "--version", "2.0.0", "--key", key, "--firmware", "ESP32_GENERIC-OTA=" + crash,
            "--min-micropython", "1.26", "--held",
        ])
        try #require(held.code == 0, "\(held.output)")
        let started = try server.json(["rollout", "start", "--version", "2.0.0", "--phases", "10,50,100", "--max-failures", "0", "--json"]) as! [String: Any]
        let badRollout = try #require(started["id"] as? Int)
        let canaries = Set(ids.filter { Cohort.phase(rollout: badRollout, device: $0, phases: Self.phases) == 0 })
        try #require(!canaries.isEmpty, "these device ids give rollout \(badRollout) no canary")
        _ = try Self.fleetRun(server, args)

        var status = try RolloutTests.status(server, badRollout)
        #expect(status["status"] as? String == "halted", "\(status)")
        #expect((status["haltReason"] as? String)?.contains("crashed or hung at boot") == true, "\(status)")
        var rejected: Set<String> = []
        for id in ids {
            let installed = try RolloutTests.installed(server, fleet + "/" + id)
            #expect(installed["sequence"] as? Int == 1, "\(id) runs \(installed)")
            #expect(try appFiles(fleet + "/" + id) == digests(Self.v1), "\(id): back on its old files")
            let record = try Self.device(server, id)
            #expect(Self.firmware(record) == ("1.24.1", "ota_0", "valid"), "\(id): back on its old firmware: \(record)")
            guard installed["rejected"] as? Int == 2 else { continue }
            rejected.insert(id)
            let last = try Self.events(server, id).last { $0.sequence == 2 }
            #expect(last?.type == "rolled_back" && last?.step == "firmware", "\(id): \(String(describing: last))")
            #expect(last?.reason?.contains("the bootloader rolled it back") == true, "\(id): \(String(describing: last))")
            #expect((record["firmware"] as? [String: Any])?["rejected"] != nil, "\(id) reports the image it rolled back: \(record)")
        }
        #expect(!rejected.isEmpty && rejected.isSubset(of: canaries), "rolled back: \(rejected.sorted()), canaries: \(canaries.sorted())")
        #expect(RolloutTests.total(status, "rolledBack") == rejected.count, "\(status)")

        // A good firmware (and the same files) completes every phase; a device is never ahead of its phase.
        let good = try Self.image(scratch, "good.app-bin", seed: 3)
        let v3 = try scratch.release("v3", Self.v2)
        let publish = try server.aloft([
            "release", "publish", v3, "--version", "2.0.1", "--key", key, "--firmware", "ESP32_GENERIC-OTA=" + good, "--min-micropython", "1.26", "--held",
        ])
        try #require(publish.code == 0, "\(publish.output)")
        let second = try server.json(["rollout", "start", "--version", "2.0.1", "--phases", "10,50,100", "--max-failures", "0", "--json"]) as! [String: Any]
        let goodRollout = try #require(second["id"] as? Int)
        for _ in 1...4 {
            _ = try Self.fleetRun(server, args)
            status = try RolloutTests.status(server, goodRollout)
            let current = (status["phase"] as? Int ?? 1) - 1
            for id in ids where (Cohort.phase(rollout: goodRollout, device: id, phases: Self.phases) ?? 99) > current {
                #expect(try RolloutTests.installed(server, fleet + "/" + id)["sequence"] as? Int == 1, "\(id) took 2.0.1 before its phase")
            }
            if status["status"] as? String == "completed" { break }
        }
        #expect(status["status"] as? String == "completed", "\(status)")
        _ = try Self.fleetRun(server, args)
        for id in ids {
            #expect(try RolloutTests.installed(server, fleet + "/" + id)["sequence"] as? Int == 3, "\(id)")
            #expect(Self.firmware(try Self.device(server, id)) == ("1.26.0", "ota_1", "valid"), "\(id)")
        }
        status = try RolloutTests.status(server, goodRollout)
        #expect(RolloutTests.total(status, "confirmed") == 20, "\(status)")
        #expect(RolloutTests.total(status, "failed") + RolloutTests.total(status, "rolledBack") + RolloutTests.total(status, "firmware") == 0, "\(status)")
    }

    @Test func badFirmwareOptionsAreOneLine() throws {
        let scratch = try Scratch("aloft-fw-bad")
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
        defer { server.stop() }
        try #require(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        let app = try scratch.release("app", Self.v1)
        let base = ["release", "publish", app, "--version", "1.0.0", "--key", scratch.path("k/release.key")]
        let made = try server.aloft(["sim", "firmware", "--micropython-version", "1.26.0", "--out", scratch.path("fw.app-bin")])
        try #require(made.code == 0 && made.stdout.contains("MicroPython 1.26.0 for ESP32_GENERIC-OTA"), "\(made.output)")
        let fw = scratch.path("fw.app-bin")
        let full = try FirmwareInspectTests.build(scratch, "full.bin", ["--chip", "esp32", "--build", "ESP32_GENERIC-OTA", "--micropython", "1.26.0", "--full-flash"])
        let s3 = try FirmwareInspectTests.build(scratch, "s3.app-bin", ["--chip", "esp32s3", "--build", "ESP32_GENERIC_S3", "--micropython", "1.26.0"])
        expectClearFailure(try server.aloft(base + ["--firmware", fw]), mentions: "--firmware takes BUILD=VALUE")
        expectClearFailure(try server.aloft(base + ["--firmware", "ESP32_GENERIC-OTA=" + scratch.path("missing.bin")]), mentions: "cannot read firmware image")
        expectClearFailure(try server.aloft(base + ["--firmware", "ESP32_GENERIC-OTA=" + full]), mentions: "full flash image")
        expectClearFailure(try server.aloft(base + ["--firmware", "ESP32_GENERIC-OTA=" + s3]), mentions: "chip esp32s3 is not what ESP32_GENERIC-OTA runs (esp32)")
        expectClearFailure(try server.aloft(base + ["--firmware", "MY_BOARD=" + fw]), mentions: "unknown firmware build 'MY_BOARD'")
        expectClearFailure(try server.aloft(base + ["--firmware", "ESP32_GENERIC-OTA=" + fw, "--firmware", "ESP32_GENERIC-OTA=" + fw]), mentions: "given twice")
        expectClearFailure(try server.aloft(base + ["--firmware", "ESP32_GENERIC-OTA=" + fw, "--firmware-version", "OTHER=1.26.0"]), mentions: "no --firmware OTHER=FILE")
        expectClearFailure(try server.aloft(base + ["--firmware", "ESP32_GENERIC-OTA=" + fw, "--firmware-version", "ESP32_GENERIC-OTA=1.25.0"]), mentions: "1.25.0")
        expectClearFailure(try server.aloft(base + ["--firmware-without-rollback"]), mentions: "pass --firmware BUILD=FILE too")
        expectClearFailure(try server.aloft(["sim", "firmware", "--chip", "esp8266", "--out", scratch.path("x")]), mentions: "--chip must be one of")
        expectClearFailure(
            try server.aloft(["device", "provision", "--id", "x", "--pubkey", scratch.path("k/release.pub"), "--out", scratch.path("d"), "--profile", "esp64"]),
            mentions: "unknown simulated board profile 'esp64'")
        // A custom board's build with its chip given, and the version given when the banner says none: accepted.
        let custom = try server.aloft(base + ["--firmware", "MY_BOARD=" + fw, "--firmware-chip", "MY_BOARD=esp32", "--dry-run"])
        #expect(custom.code == 0 && custom.stdout.contains("firmware MY_BOARD: fw.app-bin"), "\(custom.output)")
        #expect(try (server.json(["release", "list", "--json"]) as? [Any])?.isEmpty == true, "nothing was published")
    }
}
