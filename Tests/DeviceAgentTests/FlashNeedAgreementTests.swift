@testable import AloftCore
import Foundation
import TestSupport
import Testing

/// AloftCore's ``FlashNeed`` and the agent's pre-flight check (plan.py on a real LittleFS, run by the MicroPython unix port
/// through `device/tests/flashneed.py`) give the same figure, to the byte, for updates shaped like real apps: packages
/// with empty `__init__.py` files, assets of hundreds of KB, small configs kept inline, a module that becomes a package, a
/// file that becomes a folder, folders dropped whole, releases that carry the agent (changed, unchanged, or first carried; as .mpy files or as a pack, and from one form to the other).
@Suite struct FlashNeedAgreementTests {
    struct Case: Sendable {
        var name: String
        var installed: [FileEntry]
        var new: [FileEntry]
        /// The agent's files on the board: name and size.
        var agent: [(String, Int)]
    }

    /// The agent as it is on boards: `__init__.py` and sixty modules of 200 bytes to 3 KB.
    static func agentFiles(_ random: inout SeededRandom, count: Int = 60) -> [(String, Int)] {
        [("__init__.py", 5600)] + (0..<count).map { (String(format: "m%02d.mpy", $0), 200 + Int(random.next() % 2800)) }
    }

    static func sha(_ random: inout SeededRandom) -> String {
        (0..<4).map { _ in String(format: "%016llx", random.next()) }.joined()
    }

    /// An app like the field's: a web framework and an async library as packages, their empty `__init__.py`, modules,
    /// static assets, small configs, docs.
    static func app(_ random: inout SeededRandom, files: Int) -> [String: FileEntry] {
        var app: [String: FileEntry] = [:]
        func add(_ path: String, _ size: Int) { app[path] = FileEntry(path: path, sha256: sha(&random), size: size) }
        add("main.py", 1800)
        add("boot_config.json", 40)
        for package in ["lib/microdot", "lib/asyncio", "lib/sensors/bme280", "lib/sensors/sht4x"] {
            add(package + "/__init__.py", 0)
        }
        let folders = ["lib/microdot", "lib/asyncio", "lib/sensors/bme280", "lib/sensors/sht4x", "www/static/img", "www/static/css", "docs", "data"]
        while app.count < files {
            let folder = folders[Int(random.next() % UInt64(folders.count))]
            let kind = random.next() % 10
            let size =
                kind < 2 ? Int(random.next() % 65) : kind < 8 ? 65 + Int(random.next() % 12_000) : 12_000 + Int(random.next() % 250_000)
            add("\(folder)/f\(random.next() % 100_000).\(folder.hasPrefix("www") ? "png" : "py")", size)
        }
        return app
    }

    static func sorted(_ files: [String: FileEntry]) -> [FileEntry] {
        files.values.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
    }

    /// Seeded cases: each a release and the next, changed the ways releases change.
    static func cases() -> [Case] {
        var random = SeededRandom(seed: 2026_12_07)
        var cases: [Case] = []
        for index in 0..<10 {
            let agent = agentFiles(&random)
            var installed = app(&random, files: 20 + Int(random.next() % 110))
            var new = installed
            // Changed, added and dropped files.
            for path in new.keys.sorted() {
                switch random.next() % 10 {
                case 0, 1, 2: new[path] = FileEntry(path: path, sha256: sha(&random), size: max(0, new[path]!.size + Int(random.next() % 4000) - 1000))
                case 3: new[path] = nil
                default: break
                }
            }
            for extra in 0..<Int(random.next() % 15) {
                let path = "lib/extra\(index)/sub\(extra % 3)/n\(extra).py"
                new[path] = FileEntry(path: path, sha256: sha(&random), size: Int(random.next() % 9000))
            }
            switch index % 5 {
            case 0:  // a module becomes a package
                installed["lib/util.py"] = FileEntry(path: "lib/util.py", sha256: sha(&random), size: 3000)
                new["lib/util/__init__.py"] = FileEntry(path: "lib/util/__init__.py", sha256: sha(&random), size: 0)
                new["lib/util/core.py"] = FileEntry(path: "lib/util/core.py", sha256: sha(&random), size: 5000)
            case 1:  // a file becomes a folder
                installed["data/log"] = FileEntry(path: "data/log", sha256: sha(&random), size: 300)
                new["data/log/today.csv"] = FileEntry(path: "data/log/today.csv", sha256: sha(&random), size: 6000)
            case 2:  // a folder dropped whole
                for path in new.keys where path.hasPrefix("docs/") { new[path] = nil }
            default: break
            }
            cases.append(Case(name: "app \(index)", installed: sorted(installed), new: sorted(new), agent: agent))
        }
        // Releases that carry the agent: a new agent (modules changed, one gone), the same agent, the agent carried first.
        var base = app(&random, files: 40)
        let agent = agentFiles(&random)
        var carried: [String: FileEntry] = [:]
        // The bytes flashneed.py writes for an installed file (zeros): the board's agent is the installed release's.
        for (name, size) in agent {
            carried["lib/aloft/" + name] = FileEntry(path: "lib/aloft/" + name, sha256: Digest.sha256Hex([UInt8](repeating: 0, count: size)), size: size)
        }
        var newer = carried
        for (offset, path) in carried.keys.sorted().enumerated() where offset % 3 == 0 {
            newer[path] = FileEntry(path: path, sha256: sha(&random), size: carried[path]!.size + 100)
        }
        newer["lib/aloft/m59.mpy"] = nil
        newer["lib/aloft/z_new.mpy"] = FileEntry(path: "lib/aloft/z_new.mpy", sha256: sha(&random), size: 1500)
        let withAgent = base.merging(carried) { a, _ in a }
        cases.append(Case(name: "a new agent", installed: sorted(withAgent), new: sorted(base.merging(newer) { a, _ in a }), agent: agent))
        base["main.py"] = FileEntry(path: "main.py", sha256: sha(&random), size: 2100)
        cases.append(Case(name: "the same agent", installed: sorted(withAgent), new: sorted(base.merging(carried) { a, _ in a }), agent: agent))
        cases.append(Case(name: "the agent carried first", installed: sorted(base), new: sorted(base.merging(carried) { a, _ in a }), agent: agent))
        // The agent as a pack (__init__.py and agent.pk): a new pack, a pack replacing an agent of .mpy files, and back.
        let pack: [(String, Int)] = [("__init__.py", 3900), ("agent.pk", 54_000)]
        var packed: [String: FileEntry] = [:]
        for (name, size) in pack {
            packed["lib/aloft/" + name] = FileEntry(path: "lib/aloft/" + name, sha256: Digest.sha256Hex([UInt8](repeating: 0, count: size)), size: size)
        }
        var newPack = packed
        newPack["lib/aloft/agent.pk"] = FileEntry(path: "lib/aloft/agent.pk", sha256: sha(&random), size: 54_300)
        let withPack = base.merging(packed) { a, _ in a }
        cases.append(Case(name: "a new pack", installed: sorted(withPack), new: sorted(base.merging(newPack) { a, _ in a }), agent: pack))
        cases.append(Case(name: "a pack replacing .mpy files", installed: sorted(withAgent), new: sorted(base.merging(newPack) { a, _ in a }), agent: agent))
        cases.append(Case(name: ".mpy files replacing a pack", installed: sorted(withPack), new: sorted(base.merging(newer) { a, _ in a }), agent: pack))
        cases.append(Case(name: "a first release", installed: [], new: sorted(app(&random, files: 120)), agent: agent))
        return cases
    }

    @Test(arguments: cases())
    func theServersFigureIsTheAgents(_ update: Case) throws {
        var text = update.agent.map { "a \($0.1) \($0.0)\n" }.joined()
        // On the board, the installed release's agent files are the agent.
        let boardAgent: [FileEntry]
        if update.installed.contains(where: { $0.path.hasPrefix("lib/aloft/") }) {
            boardAgent = update.installed.filter { $0.path.hasPrefix("lib/aloft/") }
            text = ""
        } else {
            boardAgent = update.agent.map { FileEntry(path: "lib/aloft/" + $0.0, sha256: String(repeating: "0", count: 64), size: $0.1) }
        }
        text += "installed\n" + FileList.encode(update.installed) + "new\n" + FileList.encode(update.new)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-flashneed-\(UUID().uuidString)")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: DeviceAgentTests.micropython)
        process.arguments = ["-X", "heapsize=64M", DeviceAgentTests.testsDir.appendingPathComponent("flashneed.py").path, file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        func figure(_ key: String) -> Int? {
            output.split(separator: "\n").first { $0.hasPrefix(key + " ") }.flatMap { Int($0.dropFirst(key.count + 1)) }
        }
        let plan = FlashNeed.plan(from: update.installed, to: update.new, agentOnBoard: boardAgent)
        #expect(figure("need") == plan.need, "\(update.name): the agent says \(output), AloftCore \(plan.need)")
        #expect(figure("plan") == plan.planBytes, "\(update.name): the agent's plan \(output), AloftCore \(plan.planBytes)")
    }
}

extension FlashNeedAgreementTests.Case: CustomTestStringConvertible {
    var testDescription: String { name }
}
