import AloftCore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Paths to the things end-to-end tests drive: the built `aloft` binary, MicroPython, the repo.
enum Paths {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var aloft: String {
        if let bin = ProcessInfo.processInfo.environment["ALOFT_BIN"] { return bin }
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("aloft").path
        if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
        return repo.appendingPathComponent(".build/debug/aloft").path
    }

    static var micropython: String {
        ProcessInfo.processInfo.environment["ALOFT_MICROPYTHON"] ?? repo.appendingPathComponent(".venv/bin/micropython").path
    }
}

struct CommandResult {
    var code: Int32
    var stdout: String
    var stderr: String
    var output: String { stdout + stderr }
}

/// Runs a command to completion with output captured in files (no pipe deadlocks), killing it after `timeout`.
@discardableResult
func runCommand(_ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Double = 120) throws -> CommandResult {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-cmd-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["ALOFT_SERVER"] = nil
    env["ALOFT_ADMIN_TOKEN"] = nil
    for (k, v) in environment { env[k] = v }
    process.environment = env
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning {
        kill(-process.processIdentifier, SIGKILL)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        Issue.record("\(executable) \(arguments.joined(separator: " ")) timed out after \(timeout) s")
    }
    process.waitUntilExit()
    return CommandResult(
        code: process.terminationStatus,
        stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
        stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self))
}

/// Starts `executable ARGUMENTS` in `process`, its stdout and stderr into `log` (`environment` instead of this process's
/// when given), and waits up to `seconds` for `ready` to find what it waits for in the log (the URL a server prints, the
/// port a board opens); stops the child and throws when it exits or takes longer.
func startChild(
    _ process: Process, _ executable: String, _ arguments: [String], environment: [String: String]? = nil, log: URL, within seconds: Double,
    ready: (String) -> String?
) throws -> String {
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let handle = try FileHandle(forWritingTo: log)
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if let found = ready((try? String(contentsOf: log, encoding: .utf8)) ?? "") { return found }
        guard process.isRunning else { break }
        usleep(50_000)
    }
    stopChild(process, within: 10)
    let command = ([URL(fileURLWithPath: executable).lastPathComponent] + arguments.prefix(2)).joined(separator: " ")
    throw AloftError("\(command) did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
}

/// Starts `aloft serve ARGUMENTS` (``startChild``) and returns the URL it listens on once it prints it.
func startServe(_ process: Process, _ arguments: [String], environment: [String: String]? = nil, log: URL) throws -> String {
    try startChild(process, Paths.aloft, ["serve"] + arguments, environment: environment, log: log, within: 60) { text in
        text.range(of: #"https?://127\.0\.0\.1:[0-9]+"#, options: .regularExpression).map { String(text[$0]) }
    }
}

/// SIGTERM, as systemd stops a server (and a board lets go of its image); SIGKILL if it has not stopped within `seconds`.
func stopChild(_ process: Process, within seconds: Double) {
    if process.isRunning {
        process.terminate()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }
    process.waitUntilExit()
}

/// A real `aloft serve` on a free loopback port with its own data folder; stopped and removed by `stop()`.
final class ServerProcess: @unchecked Sendable {
    let data: URL
    let adminToken = "test-admin-\(UUID().uuidString)"
    private(set) var url = ""
    private let process = Process()
    private let log: URL

    init(data: URL, extraArguments: [String] = []) throws {
        self.data = data
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        log = data.appendingPathComponent("server.log")
        url = try startServe(process, ["--data", data.path, "--host", "127.0.0.1", "--port", "0", "--admin-token", adminToken] + extraArguments, log: log)
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    func stop() {
        stopChild(process, within: 10)
    }

    /// SIGKILL: the server stops at once, as in a power cut or a crash.
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Runs `aloft` with this server's URL and admin token in the environment.
    @discardableResult
    func aloft(_ arguments: [String], timeout: Double = 120, environment: [String: String] = [:]) throws -> CommandResult {
        let base = ["ALOFT_SERVER": url, "ALOFT_ADMIN_TOKEN": adminToken, "ALOFT_MICROPYTHON": Paths.micropython]
        return try runCommand(Paths.aloft, arguments, environment: base.merging(environment) { $1 }, timeout: timeout)
    }

    func json(_ arguments: [String]) throws -> Any {
        let result = try aloft(arguments)
        guard result.code == 0 else { throw AloftError("aloft \(arguments.joined(separator: " ")) failed: \(result.output)") }
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    }

    /// GET on the management API, decoded as a JSON object.
    func get(_ path: String) throws -> [String: Any] {
        let result = try runCommand("/usr/bin/env", ["python3", "-c", """
            import sys, urllib.request
            r = urllib.request.urlopen(urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]}))
            sys.stdout.write(r.read().decode())
            """, url + path, adminToken])
        guard result.code == 0 else { throw AloftError("GET \(path) failed: \(result.output)") }
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
    }
}

/// A temporary folder removed when the test is done.
final class Scratch: @unchecked Sendable {
    let url: URL

    init(_ name: String = "aloft-e2e") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ component: String) -> String { url.appendingPathComponent(component).path }

    /// Writes a release folder: path → contents.
    func release(_ name: String, _ files: [String: [UInt8]]) throws -> String {
        let root = url.appendingPathComponent(name)
        for (path, bytes) in files {
            let file = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: file)
        }
        return root.path
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Deterministic pseudo-random bytes, so every run tests the same data.
func seededBytes(count: Int, seed: UInt64) -> [UInt8] {
    var generator = SeededRandom(seed: seed)
    var out: [UInt8] = []
    out.reserveCapacity(count + 8)
    while out.count < count {
        withUnsafeBytes(of: generator.next()) { out.append(contentsOf: $0) }
    }
    return Array(out.prefix(count))
}

/// Files on a device's flash: path → sha256, read with the flash tool.
func flashContents(_ device: String) throws -> [String: String] {
    let result = try runCommand(Paths.micropython, [Paths.repo.appendingPathComponent("device/sim/flashtool.py").path, "hash", device + "/flash.img"])
    guard result.code == 0 else { throw AloftError("flashtool hash failed: \(result.output)") }
    var files: [String: String] = [:]
    for line in result.stdout.split(separator: "\n") {
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count == 3 else { continue }
        var path = String(parts[2])
        if path.hasPrefix("/") { path.removeFirst() }
        files[path] = String(parts[0])
    }
    return files
}

/// The release's own files on the device: the agent's files and state left out, and so are the agent's
/// `path#new` / `path#old` install copies ('#' never occurs in a release path).
func appFiles(_ device: String) throws -> [String: String] {
    try flashContents(device).filter { ReleasePath.reservedOwner($0.key) == nil && !ReleasePath.isAgentFile($0.key) && !$0.key.contains("#") }
}

func digests(_ files: [String: [UInt8]]) -> [String: String] {
    files.mapValues { Digest.sha256Hex($0) }
}

/// The SHA-256 of the file list of a release of these files: the one blob a device fetches besides the files.
func fileListDigest(_ files: [String: [UInt8]]) -> String {
    Digest.sha256Hex(Array(FileList.encode(files.map { FileEntry(path: $0.key, sha256: Digest.sha256Hex($0.value), size: $0.value.count) }).utf8))
}

/// The device folder of the agent as released in 0.2.0 (`aloft/` and `boot.py` from device/tests/data/agent-0.2.0.tar.gz,
/// and this checkout's simulator), unpacked under scratch: what `ALOFT_DEVICE_DIR` points at for a device that runs it.
func releasedAgentDir(_ scratch: Scratch) throws -> String {
    let root = scratch.path("released-0.2.0")
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let archive = Paths.repo.appendingPathComponent("device/tests/data/agent-0.2.0.tar.gz").path
    let untar = try runCommand("/usr/bin/env", ["tar", "-xzf", archive, "-C", root])
    guard untar.code == 0 else { throw AloftError("cannot unpack \(archive): \(untar.output)") }
    try FileManager.default.createSymbolicLink(atPath: root + "/device/sim", withDestinationPath: Paths.repo.appendingPathComponent("device/sim").path)
    return root + "/device"
}

/// The agent files a device gets from this aloft, `lib/aloft/<name>` → bytes: `aloft agent export` of the agent in
/// `deviceDir` (an `ALOFT_DEVICE_DIR`), else of the one built in, in `form`.
func exportedAgent(deviceDir: String? = nil, form: String = "pack") throws -> [String: [UInt8]] {
    let scratch = try Scratch("aloft-export")
    let export = try runCommand(Paths.aloft, ["agent", "export", scratch.path("out"), "--agent-form", form],
                                environment: deviceDir.map { ["ALOFT_DEVICE_DIR": $0] } ?? [:])
    guard export.code == 0 else { throw AloftError("aloft agent export failed: \(export.output)") }
    var files: [String: [UInt8]] = [:]
    let folder = scratch.url.appendingPathComponent("out/lib/aloft")
    for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
        files["lib/aloft/" + name] = Array(try Data(contentsOf: folder.appendingPathComponent(name)))
    }
    return files
}


/// A command failed the way a user should see it: a non-zero exit and one line naming the problem, never a crash.
func expectClearFailure(_ result: CommandResult, mentions text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.code != 0, "expected failure: \(result.output)", sourceLocation: sourceLocation)
    #expect(result.stderr.lowercased().contains(text.lowercased()), "stderr should mention '\(text)': \(result.output)", sourceLocation: sourceLocation)
    #expect(!result.output.contains("Fatal error") && !result.output.contains("Stack dump") && result.code != 132 && result.code != 134,
            "crashed: \(result.output)", sourceLocation: sourceLocation)
}

