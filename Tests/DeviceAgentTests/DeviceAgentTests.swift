import Foundation
import Testing

/// The device agent's own tests: every `device/tests/test_*.py`, run by the MicroPython unix port.
///
/// Each script prints one line per check and a closing `N passed, N failed` line and exits non-zero on a failure;
/// see `device/tests/harness.py`. The end-to-end scripts also start `device/tests/fake_server.py` with `python3`
/// (needs the `cryptography` package; `ALOFT_PYTHON` picks another interpreter). `test_powercut.py` (the files) and
/// `test_fwpowercut.py` (the firmware) cut the power at a few hundred flash operations on two worker processes and get
/// longer deadlines.
@Suite struct DeviceAgentTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let testsDir = repo.appendingPathComponent("device/tests")
    static let scripts: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: testsDir.path)) ?? [])
        .filter { $0.hasPrefix("test_") && $0.hasSuffix(".py") }
        .sorted()

    /// `ALOFT_MICROPYTHON`, else the repository's `.venv/bin/micropython`.
    static var micropython: String {
        ProcessInfo.processInfo.environment["ALOFT_MICROPYTHON"] ?? repo.appendingPathComponent(".venv/bin/micropython").path
    }

    @Test func scriptsAreFound() {
        #expect(Self.scripts.count >= 8, "expected the device test scripts in \(Self.testsDir.path), found \(Self.scripts)")
    }

    @Test(arguments: scripts)
    func script(_ name: String) throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-device-\(UUID().uuidString).log")
        // A file rather than a pipe: a child the script leaves running cannot keep the read end open.
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let output = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.micropython)
        // A large heap for the script itself: the host side of a test holds whole releases (a thousand files) and hashes
        // the flash after every boot. The simulated devices it starts get the heap the test gives them.
        process.arguments = ["-X", "heapsize=64M", Self.testsDir.appendingPathComponent(name).path]
        process.currentDirectoryURL = Self.repo
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let limit: TimeInterval = ["test_powercut.py": 1200, "test_fwpowercut.py": 900, "test_shapes.py": 900][name] ?? 300
        let deadline = Date().addingTimeInterval(limit)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        let timedOut = process.isRunning
        if timedOut {
            process.terminate()
            process.waitUntilExit()
        }
        try output.close()
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(!timedOut, "\(name) did not finish within \(Int(limit)) s:\n\(text)")
        #expect(process.terminationReason == .exit && process.terminationStatus == 0,
                "\(name) exited with \(process.terminationStatus):\n\(text)")
    }
}
