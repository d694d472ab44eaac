import AloftCore
import AloftTools
import Foundation
import Testing

/// A temporary folder tree, removed when the test ends.
final class Scratch {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-tools-test-\(UUID().uuidString)")

    /// Writes `files` (path → text) below `name` and returns that folder.
    @discardableResult
    func folder(_ name: String, _ files: [String: String]) throws -> URL {
        let root = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for (path, text) in files {
            let file = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: file)
        }
        return root
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

@Suite struct AgentPackageTests {
    @Test func takesOnlyThePackagesModules() throws {
        let scratch = Scratch()
        let folder = try scratch.folder("aloft", [
            "__init__.py": "VERSION = '9.9.9'\n", "update.py": "u\n", "fast.mpy": "M\n",
            ".secret.py": "hidden\n", "notes.txt": "no\n", "update.py~": "backup\n",
            "__pycache__/update.cpython-312.pyc": "cache\n", "sub/inner.py": "not directly in the folder\n", "dir.py/x": "a folder\n",
        ])
        let agent = try AgentPackage(folder: folder)
        #expect(agent.names == ["__init__.py", "fast.mpy", "update.py"])
        #expect(agent.files.map(\.path) == ["lib/aloft/__init__.py", "lib/aloft/fast.mpy", "lib/aloft/update.py"])
        #expect(agent.files.map(\.url.lastPathComponent) == agent.names)
    }

    @Test func needsTheInitModule() throws {
        let scratch = Scratch()
        let folder = try scratch.folder("aloft", ["update.py": "u\n"])
        #expect(throws: AloftError("\(folder.path) is not the agent package: it has no __init__.py")) { try AgentPackage(folder: folder) }
        #expect(throws: AloftError.self) { try AgentPackage(folder: scratch.url.appendingPathComponent("missing")) }
    }

    @Test func findsTheAgentThatShipsWithThisBuild() throws {
        let agent = try AgentPackage.locate()
        #expect(agent.folder.lastPathComponent == "aloft")
        // Without ALOFT_DEVICE_DIR it is the copy compiled into this build: byte for byte the checkout's device/aloft.
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("device/aloft")
        if ProcessInfo.processInfo.environment["ALOFT_DEVICE_DIR"] == nil {
            let names = try FileManager.default.contentsOfDirectory(atPath: checkout.path).filter { $0.hasSuffix(".py") }.sorted()
            #expect(agent.names.sorted() == names)
            for name in names {
                #expect(FileManager.default.contentsEqual(atPath: checkout.appendingPathComponent(name).path,
                                                          andPath: agent.folder.appendingPathComponent(name).path), "\(name)")
            }
        }
        #expect(agent.names.contains("__init__.py"))
        #expect(agent.names.allSatisfy { $0.hasSuffix(".py") || $0.hasSuffix(".mpy") })
        let source = try String(contentsOf: agent.folder.appendingPathComponent("__init__.py"), encoding: .utf8)
        #expect(AgentPackage.version(ofInit: source)?.isEmpty == false)
    }

    /// The agent's modules import one another without a circle (docs/device.md, "The agent's modules"): a stage reads
    /// from the API down, and unloading a module never leaves one that needs it half loaded. Where two modules need each
    /// other's code, the one that loads the other passes what it needs.
    @Test func theAgentsModulesImportNoCircle() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("device/aloft")
        let graph = try Self.imports(in: folder)
        #expect(graph.count > 40)
        #expect(Self.circle(in: graph) == nil, "an import circle: \(Self.circle(in: graph)?.joined(separator: " -> ") ?? "")")
        #expect(Self.circle(in: ["a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]]) == ["a", "b", "c", "a"])
    }

    /// Each module of the package in folder (but `__init__`) and the package's modules it imports (`from . import x, y`,
    /// `from .x import name`), at any depth of the file.
    static func imports(in folder: URL) throws -> [String: Set<String>] {
        var graph: [String: Set<String>] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".py") && name != "__init__.py" {
            let module = String(name.dropLast(3))
            var targets: Set<String> = []
            let source = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            for line in source.split(separator: "\n") {
                let words = line.split(separator: "#", maxSplits: 1).first.map { $0.split(whereSeparator: { $0 == " " || $0 == "," }) } ?? []
                guard words.count >= 4, words[0] == "from", words[2] == "import", words[1].hasPrefix(".") else { continue }
                if words[1] == "." {
                    targets.formUnion(words[3...].filter { $0 != "as" }.map(String.init))
                } else {
                    targets.insert(String(words[1].dropFirst()))
                }
            }
            graph[module] = targets.subtracting([module])
        }
        return graph.mapValues { $0.filter { graph[$0] != nil } }
    }

    /// A circle in graph, its first module repeated at the end; nil when there is none.
    static func circle(in graph: [String: Set<String>]) -> [String]? {
        var done: Set<String> = []
        func visit(_ node: String, _ path: [String]) -> [String]? {
            if let start = path.firstIndex(of: node) { return Array(path[start...]) + [node] }
            if done.contains(node) { return nil }
            for next in (graph[node] ?? []).sorted() {
                if let found = visit(next, path + [node]) { return found }
            }
            done.insert(node)
            return nil
        }
        for node in graph.keys.sorted() {
            if let found = visit(node, []) { return found }
        }
        return nil
    }

    @Test func readsTheVersionAnAgentDeclares() {
        #expect(AgentPackage.version(ofInit: "import time\n\nVERSION = \"1.2.3-rc1\"  # reported\n") == "1.2.3-rc1")
        #expect(AgentPackage.version(ofInit: "import time\n") == nil)
        #expect(AgentPackage.version(ofInit: "  VERSION = \"indented, not the module's\"\n") == nil)
    }
}

@Suite struct ReleaseFolderTests {
    static let app = ["main.py": "print('app')\n", "lib/util.py": "x = 1\n"]
    static let agentFiles = ["__init__.py": "VERSION = \"9.9.9\"\n", "update.py": "u\n"]

    func manifest(_ folder: ReleaseFolder) throws -> ReleaseManifest {
        try folder.manifest(version: SemanticVersion("1.0.0")!, sequence: 1, channel: "stable", compat: Compatibility())
    }

    @Test func withoutTheAgentOnlyTheFolder() throws {
        let scratch = Scratch()
        let folder = try ReleaseFolder(root: scratch.folder("app", Self.app))
        #expect(folder.files.map(\.entry.path) == ["lib/util.py", "main.py"])
        #expect(!folder.carriesAgent && folder.agentVersion == nil)
    }

    @Test func includingTheAgentAddsItUnderLibAloft() throws {
        let scratch = Scratch()
        let agent = try AgentPackage(folder: scratch.folder("aloft", Self.agentFiles))
        let folder = try ReleaseFolder(root: scratch.folder("app", Self.app), agent: agent)
        #expect(folder.files.map(\.entry.path) == ["lib/aloft/__init__.py", "lib/aloft/update.py", "lib/util.py", "main.py"])
        #expect(folder.carriesAgent)
        #expect(folder.agentVersion == "9.9.9")
        let entry = try #require(folder.files.first { $0.entry.path == "lib/aloft/__init__.py" }?.entry)
        #expect(entry.sha256 == Digest.sha256Hex(Array(Self.agentFiles["__init__.py"]!.utf8)))
        #expect(entry.size == Self.agentFiles["__init__.py"]!.utf8.count)
        #expect(try manifest(folder).files.filter { ReleasePath.isAgentFile($0.path) }.count == 2)
    }

    @Test func refusesASecondAgent() throws {
        let scratch = Scratch()
        let agent = try AgentPackage(folder: scratch.folder("aloft", Self.agentFiles))
        let root = try scratch.folder("app", Self.app.merging(["lib/aloft/extra.py": "mine\n"]) { a, _ in a })
        #expect(throws: AloftError(
            "release folder \(root.path) already has agent files (lib/aloft/extra.py); drop --include-agent to publish them, "
                + "or remove lib/aloft from the folder to ship the agent of this aloft build")
        ) { try ReleaseFolder(root: root, agent: agent) }
    }

    @Test func anAgentInTheFolderIsPublishedAsItIsWhenWhole() throws {
        let scratch = Scratch()
        let whole = try scratch.folder("whole", Self.app.merging(["lib/aloft/__init__.py": "v\n", "lib/aloft/update.py": "u\n"]) { a, _ in a })
        let folder = try ReleaseFolder(root: whole)
        #expect(folder.carriesAgent)
        #expect(try manifest(folder).files.count == 4)

        let partial = try ReleaseFolder(root: scratch.folder("partial", Self.app.merging(["lib/aloft/update.py": "u\n"]) { a, _ in a }))
        #expect(throws: AloftError("a release that carries the agent must carry all of it: lib/aloft/__init__.py is missing")) {
            try manifest(partial)
        }
    }

    @Test func theAgentFolderItselfCannotBeAFile() throws {
        let scratch = Scratch()
        let root = try scratch.folder("app", Self.app.merging(["lib/aloft": "not a folder\n"]) { a, _ in a })
        #expect(throws: AloftError("invalid path 'lib/aloft': reserved for the Aloft agent ('lib/aloft') (in \(root.appendingPathComponent("lib").path))")) {
            try ReleaseFolder(root: root)
        }
    }

    @Test func aReleaseHasUpTo4096Files() throws {
        let scratch = Scratch()
        var files: [String: String] = [:]
        for index in 0..<4096 { files["lib/m\(index / 512)/f\(index).py"] = "N = \(index)\n" }
        let root = try scratch.folder("many", files)
        let folder = try ReleaseFolder(root: root)
        let manifest = try manifest(folder)
        #expect(manifest.files.count == 4096)
        // Format 2 names the list by its hash; format 1 cannot hold it, so such a release has no legacy envelope.
        #expect(manifest.header.files == FileListReference(of: manifest.files))
        #expect(throws: AloftError("a format-1 manifest lists at most 256 files, this release has 4096")) { try manifest.legacyCanonicalJSON() }

        try Data("print(1)\n".utf8).write(to: root.appendingPathComponent("main.py"))
        #expect(throws: AloftError("the release would have 4097 files; a release has at most 4096")) { try ReleaseFolder(root: root) }
    }
}
