import AloftCore
import Foundation

/// mpremote, the MicroPython project's tool for boards on a serial port (PyPI `mpremote`): `ALOFT_MPREMOTE`, the
/// checkout's `.venv`, or PATH. Aloft drives boards only through it, never with a protocol of its own.
public struct Mpremote: Sendable {
    public let executable: String

    public static func locate() throws(AloftError) -> Mpremote {
        guard let found = CapturedProcess.find("mpremote", explicit: ProcessInfo.processInfo.environment["ALOFT_MPREMOTE"]) else {
            throw AloftError(DeviceToolchain.notFound("mpremote", variable: "ALOFT_MPREMOTE", package: "mpremote"))
        }
        return Mpremote(executable: found)
    }

    /// `mpremote connect PORT` and the commands, in one session. A failure is one line naming the port.
    /// `silence`: what it means when the board never finishes (default: it stopped answering).
    public func run(port: String, _ commands: [String], timeout: Double = 120, silence: String? = nil) throws(AloftError) -> CapturedProcess.Result {
        let result = try CapturedProcess.run(executable, ["connect", port] + commands, timeout: timeout)
        if result.timedOut {
            throw AloftError(silence ?? "the board at \(port) stopped answering (mpremote timed out after \(Int(timeout)) s)")
        }
        guard result.code == 0 else { throw Self.failure(port, result) }
        return result
    }

    /// What mpremote's last words mean for someone holding a USB cable.
    static func failure(_ port: String, _ result: CapturedProcess.Result) -> AloftError {
        let said = result.lastLine
        if said.contains("failed to access") || said.contains("No such file") || said.contains("could not open port") {
            return AloftError("no board at \(port): \(said)")
        }
        if said.contains("could not enter raw repl") || said.contains("could not enter raw REPL") {
            return AloftError(
                "the board at \(port) does not give its REPL: it is busy with a program that ignores Ctrl-C, or it is not MicroPython (\(said))")
        }
        if said.contains("Input/output error") || said.contains("device disconnected") || said.contains("Errno 5") || said.contains("SerialException") {
            return AloftError("the connection to the board at \(port) was lost (\(said)); plug it in again and run the same command: it starts over")
        }
        return AloftError("mpremote failed on \(port): \(said)")
    }

    /// The ports of `mpremote devs` output ("PORT SERIAL VID:PID MANUFACTURER PRODUCT" a line) that are USB devices:
    /// a serial port without a USB id (`0000:0000`, a PC's own UART) is no board.
    static func boards(devs output: String) -> [String] {
        output.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard let port = fields.first, fields.count >= 3, fields[2] != "0000:0000" else { return nil }
            return String(port)
        }
    }

    /// The one USB serial board attached (`mpremote devs`), for `--port auto`.
    public func onlyBoard() throws(AloftError) -> String {
        let result = try CapturedProcess.run(executable, ["devs"], timeout: 30)
        guard result.code == 0 else { throw AloftError("mpremote devs failed: \(result.lastLine)") }
        let ports = Self.boards(devs: result.stdout)
        switch ports.count {
        case 0: throw AloftError("no board found on a USB serial port (mpremote devs lists none): plug one in, or pass --port PORT")
        case 1: return ports[0]
        default: throw AloftError("\(ports.count) boards are attached (\(ports.joined(separator: ", "))): pass --port with the one to provision")
        }
    }
}

/// What a board says about itself, read with a short script over mpremote before anything is written to it.
public struct BoardFacts: Decodable, Sendable {
    public var name: String
    public var version: String
    public var mpy: Int?
    public var build: String?
    public var machine: String?
    public var blockSize: Int
    public var blocks: Int
    public var free: Int
    /// Whether file names are case-sensitive: LittleFS's are, FAT's are not. (A rename over an existing file tells them
    /// apart no better: MicroPython's FAT driver emulates that with a remove and a rename, which is the very thing that
    /// is not atomic.)
    public var caseSensitive: Bool
    /// The file system mounted at `/`, where the firmware can say (`vfs.mount()`).
    public var filesystem: String?
    /// SHA-256 of the files provisioning looks at, nil for those the board does not have.
    public var hashes: [String: String?]

    /// The script: prints `ALOFT-PROBE <json>`. It writes a small file at the root and removes it again.
    public static let script = "import sys, os, json\n" + BoardProvisioner.sha256Function + """
        def _h(p):
            try:
                return _sha(p)
            except OSError:
                return None
        v = sys.implementation.version
        o = {"name": sys.implementation.name, "version": "%d.%d.%d" % (v[0], v[1], v[2]), "mpy": getattr(sys.implementation, "_mpy", None), "build": getattr(sys.implementation, "_build", None)}
        try:
            o["machine"] = os.uname().machine
        except Exception:
            o["machine"] = None
        s = os.statvfs("/")
        o["blockSize"], o["blocks"] = s[0], s[2]
        o["free"] = s[1] * s[4] if s[4] <= s[2] else 0
        with open("/.aloft-Probe", "w") as f:
            f.write("x")
        try:
            os.stat("/.aloft-probe")
            o["caseSensitive"] = False
        except OSError:
            o["caseSensitive"] = True
        os.remove("/.aloft-Probe")
        o["filesystem"] = None
        try:
            import vfs
            for m in vfs.mount():
                if m[1] == "/":
                    o["filesystem"] = type(m[0]).__name__
                    break
        except Exception:
            pass
        o["hashes"] = dict((p, _h(p)) for p in ("/boot.py", "/main.py", "/lib/aloft_board.py", "/.aloft/config.json", "/lib/aloft/__init__.py"))
        print("ALOFT-PROBE " + json.dumps(o))
        """

    static func parse(_ output: String, port: String) throws(AloftError) -> BoardFacts {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("ALOFT-PROBE ") }) else {
            throw AloftError("the board at \(port) did not answer the probe like MicroPython: \(output.split(separator: "\n").last ?? "no output")")
        }
        do { return try JSONDecoder().decode(BoardFacts.self, from: Data(line.dropFirst(12).utf8)) } catch {
            throw AloftError("the board at \(port) answered the probe with something unexpected: \(line.prefix(120))")
        }
    }

    /// Why the agent cannot go on this board, or nil. `need` is the flash the files need, beyond what they replace.
    public func refusal(need: Int) -> String? {
        guard name == "micropython" else { return "the board runs \(name), not MicroPython" }
        if let have = MicroPythonVersion(version), let minimum = MicroPythonVersion("1.21"), have < minimum {
            return "the board runs MicroPython \(version); the agent needs 1.21 or later: flash a newer firmware (micropython.org/download)"
        }
        guard caseSensitive, filesystem == nil || filesystem!.hasPrefix("VfsLfs") else {
            let fs = filesystem ?? "FAT: its file names ignore case"
            return "the board's file system is not LittleFS (\(fs)): the agent's power-cut safety rests on LittleFS's atomic "
                + "renames (reformat the flash with os.VfsLfs2, see docs/boards.md)"
        }
        if need > free {
            return "the agent needs \(need / 1024) KiB of flash, the board has \(free / 1024) KiB free"
        }
        return nil
    }
}

/// Puts Aloft on a board over its USB serial port, through mpremote: the agent in `/lib/aloft`, `boot.py`, and then
/// `/.aloft/config.json`. Nothing is written before ``probe()`` found the board fit; the agent goes in beside the one
/// there and takes its place by renames; each file is read back by SHA-256. A board's `main.py` and its
/// `/lib/aloft_board.py` hooks are never touched, its own `boot.py` only with `force`.
public struct BoardProvisioner: Sendable {
    public let port: String
    public let mpremote: Mpremote
    public let force: Bool

    public init(port: String, mpremote: Mpremote, force: Bool) {
        self.port = port
        self.mpremote = mpremote
        self.force = force
    }

    /// A file as it goes on the board: its path there (no leading slash) and its bytes.
    public struct File: Sendable {
        public var path: String
        public var bytes: [UInt8]

        public init(path: String, bytes: [UInt8]) {
            self.path = path
            self.bytes = bytes
        }
    }

    /// How long the first contact may take: a soft reset, the board's boot.py, and the probe script (a second or two).
    static let probeTimeout: Double = 30

    public func probe() throws(AloftError) -> BoardFacts {
        // On a USB serial port mpremote gives up on a board that does not give its raw REPL after 10 s ("could not enter
        // raw repl"); on a pseudo-terminal (/dev/pts/N, QEMU's or a test board's) it waits for as long as the board talks.
        let result = try mpremote.run(port: port, ["exec", BoardFacts.script], timeout: Self.probeTimeout, silence:
            "the board at \(port) does not give its REPL within \(Int(Self.probeTimeout)) s: it is busy with a program that ignores Ctrl-C, or it is not MicroPython")
        return try BoardFacts.parse(result.stdout, port: port)
    }

    /// Flash the files take: whole blocks each, plus room for the state an update writes (16 blocks).
    public static func flashNeeded(_ files: [File], blockSize: Int) -> Int {
        let block = max(blockSize, 512)
        return files.reduce(16 * block) { $0 + max(1, ($1.bytes.count + block - 9) / (block - 8)) * block }
    }

    /// Why the board must not be provisioned with these files, or nil: its own refusal, or a `boot.py` of its own.
    public func refusal(_ facts: BoardFacts, files: [File], bootPy: [UInt8]) -> String? {
        let replaced = facts.hashes["/lib/aloft/__init__.py"] ?? nil != nil ? Self.flashNeeded(files, blockSize: facts.blockSize) / 2 : 0
        if let why = facts.refusal(need: Self.flashNeeded(files, blockSize: facts.blockSize) - replaced) { return why }
        if let theirs = facts.hashes["/boot.py"] ?? nil, theirs != Digest.sha256Hex(bootPy), !force {
            return "the board has a boot.py of its own: pass --force to replace it (it is kept as /boot.py.orig). Aloft's boot.py "
                + "runs the agent at every boot; set up Wi-Fi in /lib/aloft_board.py instead (docs/boards.md)"
        }
        return nil
    }

    /// The agent and `boot.py`, copied beside what is there (`/lib/aloft.new`, `/boot.py.new`), read back, then moved
    /// into place. A cable pulled at any point leaves a board that still boots its application; run it again to finish.
    public func installAgent(_ agent: [File], bootPy: [UInt8], staging: URL) throws(AloftError) {
        let local = staging.appendingPathComponent("board")
        let fm = FileManager.default
        do {
            try? fm.removeItem(at: local)
            for file in agent {
                let url = local.appendingPathComponent("aloft.new").appendingPathComponent(String(file.path.dropFirst(ReleasePath.agentFolder.count + 1)))
                try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(file.bytes).write(to: url)
            }
            try Data(bootPy).write(to: local.appendingPathComponent("boot.py"))
        } catch {
            throw AloftError("cannot stage the agent's files in \(local.path): \(error.localizedDescription)")
        }
        let prepare = Self.helpers + """
            for p in ("/lib/aloft.new", "/lib/aloft.old", "/boot.py.new"):
                _rm(p)
            for p in ("/lib", "/.aloft"):
                try:
                    os.mkdir(p)
                except OSError:
                    pass
            """
        _ = try mpremote.run(
            port: port, ["exec", prepare, "+", "fs", "cp", "-r", local.appendingPathComponent("aloft.new").path, ":lib/", "+",
                         "fs", "cp", local.appendingPathComponent("boot.py").path, ":boot.py.new"], timeout: 300)
        var staged = agent.map { File(path: "lib/aloft.new/" + $0.path.dropFirst(ReleasePath.agentFolder.count + 1), bytes: $0.bytes) }
        staged.append(File(path: "boot.py.new", bytes: bootPy))
        try verify(staged)
        // Into place: renames within /lib and within /, each atomic on LittleFS.
        let commit = Self.helpers + """
            try:
                os.stat("/boot.py")
                _same = _sha("/boot.py") == _sha("/boot.py.new")
            except OSError:
                _same = True
            if not _same:
                _rm("/boot.py.orig")
                os.rename("/boot.py", "/boot.py.orig")
            os.rename("/boot.py.new", "/boot.py")
            try:
                os.rename("/lib/aloft", "/lib/aloft.old")
            except OSError:
                pass
            os.rename("/lib/aloft.new", "/lib/aloft")
            _rm("/lib/aloft.old")
            """
        _ = try mpremote.run(port: port, ["exec", commit], timeout: 120)
        try verify(agent + [File(path: "boot.py", bytes: bootPy)], exactFolder: ReleasePath.agentFolder)
    }

    /// `config.json` into `/.aloft` (a temporary name, then a rename), read back.
    public func installConfig(_ json: [UInt8], staging: URL) throws(AloftError) {
        let local = staging.appendingPathComponent("config.json")
        do { try Data(json).write(to: local) } catch { throw AloftError("cannot stage config.json: \(error.localizedDescription)") }
        let commit = "import os\nos.rename('/.aloft/config.json.new', '/.aloft/config.json')\n"
        _ = try mpremote.run(port: port, ["fs", "cp", local.path, ":.aloft/config.json.new", "+", "exec", commit], timeout: 120)
        try verify([File(path: ".aloft/config.json", bytes: json)])
    }

    /// Reads back the SHA-256 and size of every file from the board and compares; with `exactFolder`, that folder must
    /// hold exactly the given files (nothing of an older agent left in it).
    func verify(_ files: [File], exactFolder: String? = nil) throws(AloftError) {
        let paths = files.map { "/" + $0.path }.filter { exactFolder == nil || !$0.hasPrefix("/\(exactFolder!)/") }
        let walk = exactFolder.map { "_walk('/\($0)')" } ?? ""
        let script = Self.helpers + """
            def _walk(d):
                for e in os.ilistdir(d):
                    p = d + "/" + e[0]
                    if e[1] & 0x4000:
                        _walk(p)
                    else:
                        print("ALOFT-HASH", _sha(p), os.stat(p)[6], p)
            for p in [\(paths.map { "'\($0)'" }.joined(separator: ", "))]:
                try:
                    print("ALOFT-HASH", _sha(p), os.stat(p)[6], p)
                except OSError:
                    print("ALOFT-HASH - 0", p)
            \(walk)
            """
        let result = try mpremote.run(port: port, ["exec", script], timeout: 180)
        var found: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") where line.hasPrefix("ALOFT-HASH ") {
            let parts = line.split(separator: " ", maxSplits: 3)
            if parts.count == 4 { found[String(parts[3].trimmingCharacters(in: .whitespacesAndNewlines).dropFirst())] = String(parts[1]) }
        }
        for file in files {
            guard let sha = found.removeValue(forKey: file.path), sha == Digest.sha256Hex(file.bytes) else {
                throw AloftError("\(file.path) on the board is not what was copied (read back: \(found[file.path] ?? "missing")); run the command again")
            }
        }
        if let stray = found.keys.sorted().first {
            throw AloftError("the board's \(exactFolder ?? "") holds \(stray), which this agent does not have; run the command again")
        }
    }

    /// MicroPython helpers the scripts above share: remove a tree, hash a file.
    static let helpers = """
        import os
        def _rm(p):
            try:
                st = os.stat(p)
            except OSError:
                return
            if st[0] & 0x4000:
                for e in os.ilistdir(p):
                    _rm(p + "/" + e[0])
                os.rmdir(p)
            else:
                os.remove(p)

        """ + sha256Function

    /// `_sha(path)`: a file's SHA-256 in hex, read 512 bytes at a time (OSError if it is not there).
    static let sha256Function = """
        def _sha(p):
            import hashlib, binascii
            h = hashlib.sha256()
            with open(p, "rb") as f:
                while True:
                    b = f.read(512)
                    if not b:
                        break
                    h.update(b)
            return binascii.hexlify(h.digest()).decode()

        """
}
