import AloftCore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Power cuts against the real stack: `aloft sim run` is started as its own process group and the whole
/// group is SIGKILLed at seeded moments of a v1 -> v2 update; the device must then recover by itself and end on v2.
/// The all-old-or-all-new check after every cut is the device suite's job (device/tests/test_powercut.py cuts at
/// exact flash writes and inspects each boot); this one checks the same promise end to end, with real timing.
@Suite(.serialized) struct PowerCutTests {
    @Test func killingTheDeviceAnywhereStillEndsOnTheNewRelease() throws {
        // No device rate limit: the cuts make the device check in again and again within a minute.
        let fleet = try UpdateFlowTests.Fleet(deviceID: "cut-1", serverArguments: ["--device-rate", "0"])
        defer { fleet.stop() }
        try fleet.installV1()
        try fleet.publish(UpdateFlowTests.v2, version: "2.0.0")
        let image = URL(fileURLWithPath: fleet.device).appendingPathComponent("flash.img")
        let snapshot = URL(fileURLWithPath: fleet.scratch.path("v1-flash.img"))
        try FileManager.default.copyItem(at: image, to: snapshot)

        // How long an uninterrupted update takes, to spread the cuts over all of it.
        let started = Date()
        let clean = try fleet.boot()
        try #require(clean.code == 0, "clean update failed: \(clean.output)")
        let duration = Date().timeIntervalSince(started)
        #expect(try appFiles(fleet.device) == digests(UpdateFlowTests.v2))

        let v2 = digests(UpdateFlowTests.v2)
        var generator = SeededRandom(seed: 2026)
        let cuts = 16
        for cut in 0..<cuts {
            try FileManager.default.removeItem(at: image)
            try FileManager.default.copyItem(at: snapshot, to: image)
            // Seeded moments spread over the whole run, a little past its end too.
            let delay = duration * 1.1 * (Double(cut) + generator.unit()) / Double(cuts)
            try killGroup(after: delay, fleet: fleet)
            // Booted again and left alone, the device recovers from its journal, finishes the update and runs v2.
            let after = try fleet.boot()
            #expect(after.code == 0, "cut \(cut) at \(String(format: "%.3f", delay)) s: device did not recover: \(after.output)")
            let files = try appFiles(fleet.device)
            #expect(files == v2, "cut \(cut): not exactly v2 after recovery: \(files)")
            #expect(after.output.contains("app says one and more"), "cut \(cut): v2 main.py did not run: \(after.output)")
        }
        #expect(try fleet.deviceRecord()["sequence"] as? Int == 2)
        print("power cuts end to end: \(cuts) cuts, all recovered to v2")
    }

    /// Starts `aloft sim run` and kills its whole process group after `delay` seconds.
    /// (Foundation's `Process` makes the child a process group leader; the device stays in that group.)
    func killGroup(after delay: Double, fleet: UpdateFlowTests.Fleet) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.aloft)
        process.arguments = ["sim", "run", fleet.device, "--until-idle", "--timeout", "120"]
        var env = ProcessInfo.processInfo.environment
        env["ALOFT_MICROPYTHON"] = Paths.micropython
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(delay)
        while process.isRunning && Date() < deadline { usleep(2_000) }
        kill(-process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // The group may outlive its leader for a moment; wait until no member is left.
        for _ in 0..<500 where kill(-process.processIdentifier, 0) == 0 {
            kill(-process.processIdentifier, SIGKILL)
            usleep(2_000)
        }
    }
}
