import AloftAPI
import AloftCore
import AloftTools
import ArgumentParser
import Foundation

struct DeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device", abstract: "Register devices and manage their tokens.", subcommands: [Provision.self, Image.self, Tag.self, Pin.self, Unpin.self, Retry.self, Revoke.self, Token.self])

    struct Provision: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a device and put Aloft on it: a board on a USB cable (--port), a folder of its files (--folder), "
                + "or a simulated board's flash image (--out).",
            discussion: """
                --port goes through mpremote (pip install mpremote): it asks the board what it is first and refuses one \
                that is not MicroPython 1.21 or later on LittleFS, or has too little flash; it keeps the board's main.py \
                and /lib/aloft_board.py, and its own boot.py unless --force; it reads every file back by SHA-256. \
                Running it again after a failure (a cable pulled) starts over.
                """)

        @Option(help: "Device id (A-Z a-z 0-9 . _ -, up to 64).")
        var id: String

        @Option(help: "Channel the device follows.")
        var channel: String = "stable"

        @Option(name: .customLong("tag"), help: "A tag for the device, for rollout targets (repeatable, or comma-separated).")
        var tags: [String] = []

        @Option(help: "The board's serial port (/dev/ttyUSB0, /dev/ttyACM0, COM3), or auto for the one USB board attached.")
        var port: String?

        @Option(help: "Write the files a board needs into this folder instead (boot.py, lib/aloft/, .aloft/config.json), for Thonny or another tool.")
        var folder: String?

        @Flag(help: "With --port: replace a boot.py of the board's own (kept as /boot.py.orig).")
        var force = false

        @Flag(help: "If the device is registered already (an earlier provision did not finish): give it a new token; the old one stops working.")
        var reissueToken = false

        @OptionGroup var image: ImageOptions
        @OptionGroup var agentForm: AgentFormOption

        @Option(help: "Server URL stored on the device (default: --server).")
        var deviceServer: String?

        @OptionGroup var server: ServerOptions
        @OptionGroup var micropython: MicroPythonOption

        func run() async throws {
            try Identifiers.validateDeviceID(id)
            try Identifiers.validateChannel(channel)
            _ = try tagList(tags.isEmpty ? nil : tags.joined(separator: ","))
            guard [port, folder, image.out].compactMap({ $0 }).count == 1 else {
                throw ValidationError("say where the device is: --port (a board on USB), --folder (its files) or --out (a simulated board), one of them")
            }
            let keys = try image.checkedKeys()
            let ca = try image.deviceCA(server)
            let profile = try image.checkedProfile()
            var config = SimulatedDevice.Config(server: "", id: id, token: "", keys: keys, threshold: image.threshold, board: image.board, ca: ca)
            config.build = image.build
            try config.validate()
            let staging = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-provision-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: staging) }
            let toolchain = try DeviceToolchain.locateDeviceDir()
            let agent = try AgentPackage(folder: toolchain.appendingPathComponent("aloft")).built(agentForm.form, into: staging.appendingPathComponent("agent"))
            let bootPy = try Self.read(toolchain.appendingPathComponent("boot.py"))
            let client = try server.client()
            if let port {
                let board = try BoardProvisioner(port: port == "auto" ? try Mpremote.locate().onlyBoard() : port, mpremote: try Mpremote.locate(), force: force)
                let files = try agent.files.map { BoardProvisioner.File(path: $0.path, bytes: try Self.read($0.url)) }
                let facts = try board.probe()
                if let why = board.refusal(facts, files: files, bootPy: bootPy) { throw AloftError("not provisioning the board at \(board.port): \(why)") }
                say("board at \(board.port): MicroPython \(facts.version) (\(facts.build ?? facts.machine ?? "?")), \(facts.free / 1024) KiB free of \(facts.blocks * facts.blockSize / 1024) KiB")
                if facts.build == nil, config.build == nil {
                    say("its firmware does not say its build (before 1.25): pass --build (e.g. ESP32_GENERIC-OTA) for it to take firmware updates")
                }
                try board.installAgent(files, bootPy: bootPy, staging: staging)
                say("agent (\(agentForm.form.rawValue), \(files.count) files, \(files.reduce(0) { $0 + $1.bytes.count }) bytes) and boot.py copied and read back")
                config.server = deviceServer ?? client.server
                config.token = try await register(client)
                try board.installConfig(Array(try config.json()), staging: staging)
                let kept = ["/main.py", "/lib/aloft_board.py"].filter { (facts.hashes[$0] ?? nil) != nil }
                say("registered \(id) on channel \(channel); /.aloft/config.json written and read back"
                    + (kept.isEmpty ? "" : "; kept \(kept.joined(separator: " and "))"))
                say("reset the board (press its reset button, or `mpremote reset`): it checks in with \(config.server) at boot")
            } else if let folder {
                let out = URL(fileURLWithPath: folder)
                guard !FileManager.default.fileExists(atPath: out.appendingPathComponent(".aloft/config.json").path) else {
                    throw AloftError("\(folder) already holds a device's files (.aloft/config.json); choose another --folder or delete it")
                }
                config.server = deviceServer ?? client.server
                config.token = try await register(client)
                try AgentCommand.write(agent: agent, bootPy: bootPy, to: out)
                try AtomicFile.write(Array(try config.json()), to: out.appendingPathComponent(".aloft/config.json").path, mode: 0o600)
                say("registered \(id) on channel \(channel); wrote boot.py, lib/aloft/ (\(agent.names.count) files) and .aloft/config.json to \(folder)")
                say("copy the folder's contents to the board's root as they are (e.g. `mpremote fs cp -r \(folder)/. :`), then reset it")
            } else {
                let size = try image.checkedFlashSize()
                config = image.simulated(config, profile: profile)
                let device = SimulatedDevice(folder: URL(fileURLWithPath: image.out!))
                try device.checkFree()
                let tools = try micropython.toolchain()
                config.server = deviceServer ?? client.server
                config.token = try await register(client)
                try device.createImage(
                    config: config, flashSize: size, toolchain: tools, agent: agent, profile: profile, firmware: image.simFirmware.map { URL(fileURLWithPath: $0) })
                let bytes = (try? FileManager.default.attributesOfItem(atPath: device.image.path)[.size] as? Int) ?? size
                say("registered \(id) on channel \(channel); wrote \(device.image.path) (\(bytes) bytes\(profile == .lfs ? "" : ", a simulated \(profile.rawValue)"))")
            }
        }

        /// Registers the device (everything that can be checked locally was checked first): its token. Written without
        /// `inout` and `catch where`: that form crashed the Swift 6.3.1 compiler's ownership checker.
        func register(_ client: AdminClient) async throws -> String {
            var refused = ""
            let tags = try tagList(tags.isEmpty ? nil : tags.joined(separator: ","))
            do {
                return try await client.registerDevice(id: id, channel: channel, tags: tags).token
            } catch {
                refused = error.message
            }
            guard refused.contains("already exists") else { throw AloftError(refused) }
            guard reissueToken else {
                throw AloftError("\(refused) (an earlier provision that did not finish?): pass --reissue-token to give it a new token")
            }
            return try await client.reissueDeviceToken(id: id).token
        }

        static func read(_ url: URL) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: url.path) else { throw AloftError("cannot read \(url.path)") }
            return Array(data)
        }
    }
}

extension DeviceCommand {
    struct Image: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write DEV/flash.img for mass production: one generic image with an enrollment secret instead of an id and token.",
            discussion: "Every board flashed with it registers itself on first boot (docs/protocol.md, \"Enrollment\"). Nothing is sent to the server now.")

        @Option(help: "Enrollment secret from `aloft enrollment create` (or ALOFT_ENROLLMENT_SECRET).")
        var enrollmentSecret: String?

        @Option(name: .customLong("tag"), help: "A tag every device of this image asks for when it enrolls (repeatable, or comma-separated).")
        var tags: [String] = []

        @OptionGroup var image: ImageOptions
        @OptionGroup var agentForm: AgentFormOption
        @OptionGroup var server: ServerOptions
        @OptionGroup var micropython: MicroPythonOption

        func run() async throws {
            let env = ProcessInfo.processInfo.environment
            guard let secret = enrollmentSecret ?? env["ALOFT_ENROLLMENT_SECRET"], !secret.isEmpty else {
                throw ValidationError("no enrollment secret: pass --enrollment-secret or set ALOFT_ENROLLMENT_SECRET")
            }
            guard secret.hasPrefix("aloft_enr_") else { throw ValidationError("an enrollment secret starts with aloft_enr_ (see `aloft enrollment create`)") }
            guard let url = server.server ?? env["ALOFT_SERVER"], let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme), parsed.host != nil
            else { throw ValidationError("pass the server the devices use: --server http://HOST:PORT (or ALOFT_SERVER)") }
            guard let out = image.out else { throw ValidationError("pass --out, the folder for the image") }
            let keys = try image.checkedKeys()
            let size = try image.checkedFlashSize()
            let ca = try image.deviceCA(server)
            var base = url
            while base.hasSuffix("/") { base.removeLast() }
            let profile = try image.checkedProfile()
            var config = SimulatedDevice.Config(server: base, enrollmentSecret: secret, keys: keys, threshold: image.threshold, board: image.board, ca: ca)
            config.tags = try tagList(tags.isEmpty ? nil : tags.joined(separator: ","))
            config = image.simulated(config, profile: profile)
            try config.validate()
            let device = SimulatedDevice(folder: URL(fileURLWithPath: out))
            try device.checkFree()
            let staging = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-image-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: staging) }
            let tools = try micropython.toolchain()
            let agent = try tools.agent().built(agentForm.form, into: staging)
            try device.createImage(
                config: config, flashSize: size, toolchain: tools, agent: agent, profile: profile, firmware: image.simFirmware.map { URL(fileURLWithPath: $0) })
            print("wrote the generic image \(device.image.path)\(profile == .lfs ? " (\(size) bytes)" : " (a simulated \(profile.rawValue))"); devices flashed with it enroll on first boot")
        }
    }
}

extension DeviceCommand {
    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forget a device's failures: a release it failed is offered at its next check-in (docs/protocol.md, \"Failures\").")

        @Option(help: "Device id.")
        var id: String

        @Option(help: "Only the failures with this version (default: every release's).")
        var version: String?

        @OptionGroup var server: ServerOptions

        func run() async throws {
            try Identifiers.validateDeviceID(id)
            if let version { _ = try SemanticVersion(parsing: version) }
            let answer = try await server.client().retryDevice(id: id, version: version)
            let forgot = answer.cleared.map { "\($0.version ?? "sequence \($0.sequence)") (\($0.summary))" }
            print("\(answer.device.id): " + (forgot.isEmpty ? "no failures to forget" : "forgot " + forgot.joined(separator: "; "))
                + (answer.device.decision.map { "; \($0.why)" } ?? ""))
        }
    }
}

struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "What the fleet runs.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every device: installed version, agent and firmware, last seen, last event, and why it is or is not offered a release.")

        @Option(help: "Only devices with this tag.")
        var tag: String?

        @Option(help: "Only devices of this channel.")
        var channel: String?

        @Option(help: "Only devices running this version.")
        var version: String?

        @Flag(help: "JSON output.")
        var json = false

        @OptionGroup var server: ServerOptions

        func run() async throws {
            if let tag { try Identifiers.validateTag(tag) }
            if let channel { try Identifiers.validateChannel(channel) }
            if let version { _ = try SemanticVersion(parsing: version) }
            let devices = try await server.client().devices(tag: tag, channel: channel, version: version)
            if json { return try printJSON(devices) }
            // FIRMWARE: what the device runs below its files (— for agents before 0.4.0, which do not say); WHY says the step of an offer.
            // FREE: its free flash at the last check-in, in decimal KB as WHY says a shortfall.
            var rows = [["ID", "CHANNEL", "VERSION", "SEQ", "BOARD", "AGENT", "FIRMWARE", "FREE", "TAGS", "LAST SEEN", "LAST EVENT", "WHY"]]
            for d in devices {
                let event = d.lastEvent.map { e in
                    [e.type, e.step.map { "(\($0))" } ?? "", e.version ?? "", e.reason.map { "(\($0))" } ?? ""].filter { !$0.isEmpty }.joined(separator: " ")
                } ?? "-"
                rows.append([
                    d.id, d.channel, d.version ?? "-", String(d.sequence), d.board ?? "-", d.agent ?? "-", d.firmware?.summary ?? "—",
                    d.free.map { "\($0 / 1000) KB" } ?? "-",
                    d.tags.isEmpty ? "-" : d.tags.joined(separator: ","), d.lastSeen ?? "never", event, d.decision.map(Self.why) ?? "-",
                ])
            }
            printTable(rows)
        }

        /// The decision's sentence; for an offer of a release the device failed before, with what it failed (a withheld
        /// release's sentence says it already).
        static func why(_ decision: DecisionView) -> String {
            guard decision.offer != nil, let failure = decision.failure else { return decision.why }
            return "\(decision.why) (\(failure.summary))"
        }
    }
}

struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulated devices: the MicroPython unix port on a file-backed LittleFS flash, or a simulated ESP32's whole flash.",
        subcommands: [Run.self, SimFleet.self, Ls.self, Cat.self, Firmware.self])

    struct Firmware: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a firmware image for simulated ESP32 boards: a real ESP-IDF app image (esptool reads it) whose MicroPython the simulator runs.",
            discussion: "For trying firmware updates on the simulator (`aloft release publish … --firmware BUILD=FILE`); a board needs a real .app-bin.")

        @Option(help: "The firmware build, as sys.implementation._build says it.")
        var build: String = "ESP32_GENERIC-OTA"

        @Option(help: "The chip: esp32, esp32s2, esp32s3, esp32c3, …")
        var chip: String = "esp32"

        @Option(name: .customLong("micropython-version"), help: "The MicroPython version it runs, X.Y.Z.")
        var version: String = "1.26.0"

        @Option(help: "What it does when it boots: boots, crash (panics before MicroPython starts) or hang (the watchdog resets it).")
        var behaviour: String = "boots"

        @Option(help: "Its size in bytes, a multiple of 16 (1.5 MiB is the OTA slot of ESP32_GENERIC-OTA).")
        var size: Int = 196_608

        @Option(help: "The image file to write.")
        var out: String

        @OptionGroup var micropython: MicroPythonOption

        func run() throws {
            try FirmwareImage.validateBuild(build)
            guard ESPChip(rawValue: chip) != nil else { throw ValidationError("--chip must be one of \(ESPChip.allCases.map(\.rawValue).joined(separator: ", "))") }
            guard ["boots", "crash", "hang"].contains(behaviour) else { throw ValidationError("--behaviour must be boots, crash or hang") }
            guard FirmwareImage.isPlainVersion(version) else { throw ValidationError("--micropython-version must be X.Y.Z, got '\(version.prefix(30))'") }
            guard size % 16 == 0, (4096...FirmwareImage.maxSize).contains(size) else {
                throw ValidationError("--size must be a multiple of 16 between 4096 and \(FirmwareImage.maxSize)")
            }
            let tools = try micropython.toolchain()
            let code = try tools.simTool(
                "espimage.py",
                ["build", "--chip", chip, "--build", build, "--micropython", version, "--behaviour", behaviour, "--size", String(size), "--out",
                 URL(fileURLWithPath: out).path])
            if code != 0 { throw ExitCode(code) }
            print("wrote \(out): MicroPython \(version) for \(build) (\(chip), \(size) bytes, \(behaviour))")
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Boot the device like a board (boot.py, then main.py); a reset restarts it. Killing this process group is a power cut.")

        @Argument(help: "Device folder (from `aloft device provision --out`).")
        var device: String

        @Option(help: "MicroPython heap, e.g. 64K.")
        var heap: String?

        @Flag(help: "Exit 0 once a check-in finds nothing to do; exit 2 if the device stops for another reason.")
        var untilIdle = false

        @Option(help: "Stop the device after this many seconds (exit 124).")
        var timeout: Double?

        @Option(help: "Server URL for this run instead of the one on the device.")
        var server: String?

        @OptionGroup var micropython: MicroPythonOption

        func run() throws {
            if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
            let options = SimulatedDevice.RunOptions(heap: heap, untilIdle: untilIdle, timeout: timeout.map { .milliseconds(Int($0 * 1000)) }, server: server)
            let code = try SimulatedDevice(folder: URL(fileURLWithPath: device)).run(options, toolchain: try micropython.toolchain(), log: printError)
            if code != 0 { throw ExitCode(code) }
        }
    }

    struct Ls: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the files on the device's flash (size and path).")

        @Argument(help: "Device folder.")
        var device: String

        @OptionGroup var micropython: MicroPythonOption

        func run() throws {
            let image = SimulatedDevice(folder: URL(fileURLWithPath: device)).image
            guard FileManager.default.fileExists(atPath: image.path) else { throw AloftError("no device image at \(image.path)") }
            let code = try micropython.toolchain().flashTool(["ls", image.path])
            if code != 0 { throw ExitCode(code) }
        }
    }

    struct Cat: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a file from the device's flash.")

        @Argument(help: "Device folder.")
        var device: String

        @Argument(help: "Path on the device, e.g. /main.py.")
        var path: String

        @OptionGroup var micropython: MicroPythonOption

        func run() throws {
            let image = SimulatedDevice(folder: URL(fileURLWithPath: device)).image
            guard FileManager.default.fileExists(atPath: image.path) else { throw AloftError("no device image at \(image.path)") }
            let code = try micropython.toolchain().flashTool(["cat", image.path, path])
            if code != 0 { throw ExitCode(code) }
        }
    }
}

/// What every device image needs, for `device provision` and `device image` alike.
struct ImageOptions: ParsableArguments {
    @Option(help: "Release public key(s) the device trusts (PEM from `aloft keys generate`; repeatable, up to 8).")
    var pubkey: [String]

    @Option(help: "How many of the --pubkey keys must sign a release.")
    var threshold: Int = 1

    @Option(help: "Folder for a simulated board (flash.img goes there).")
    var out: String?

    @Option(help: "Board name the device reports, matched against release board globs (default: the firmware's name; sim for a simulated board).")
    var board: String?

    @Option(help: "A simulated board's flash size, a multiple of 4096 (e.g. 2M, 512K; default 2M, 848K for pico-w); an ESP32 profile has its own.")
    var flashSize: String?

    @Option(help: ArgumentHelp(
        "The kind of simulated board: lfs (a LittleFS image as the esp32 port mounts it), pico-w (848 KiB of LittleFS as the rp2 port "
            + "mounts it), or the whole flash of an ESP32 with firmware slots: esp32-ota, esp32-ota-norollback, esp32 (no OTA table), "
            + "nano-esp32 (docs/firmware.md).", valueName: "profile"))
    var profile: String = SimulatedDevice.Profile.lfs.rawValue

    @Option(help: "A simulated ESP32's firmware: an app image file for its first slot (default: MicroPython 1.24.1 for its build).")
    var simFirmware: String?

    @Option(help: "The firmware build the board runs (ESP32_GENERIC-OTA), for a firmware before 1.25, which does not say it; firmware updates need it.")
    var build: String?

    /// The simulated board's profile, after the local checks.
    func checkedProfile(simulated: Bool? = nil) throws -> SimulatedDevice.Profile {
        let profile = try SimulatedDevice.Profile.named(profile)
        if profile != .lfs || simFirmware != nil || flashSize != nil, !(simulated ?? (out != nil)) {
            throw ValidationError("--profile and --sim-firmware are for a simulated board (--out)")
        }
        if let build { try FirmwareImage.validateBuild(build) }
        return profile
    }

    /// The config of a simulated board of `profile`: the firmware build and the board name its firmware would give.
    func simulated(_ config: SimulatedDevice.Config, profile: SimulatedDevice.Profile) -> SimulatedDevice.Config {
        var config = config
        config.build = build ?? profile.build
        if config.board == nil { config.board = profile.boardName }
        return config
    }

    /// The trusted keys, after every local check.
    func checkedKeys() throws -> [ReleasePublicKey] {
        if let board { _ = try BoardPattern(board) }
        guard !pubkey.isEmpty else { throw ValidationError("pass at least one --pubkey") }
        return try pubkey.map { try ReleasePublicKey(pem: try readKeyFile($0)) }
    }

    func checkedFlashSize() throws -> Int {
        guard let flashSize else { return try SimulatedDevice.Profile.named(profile).defaultFlashSize }
        guard let size = parseSize(flashSize) else { throw ValidationError("invalid --flash-size '\(flashSize)'") }
        try SimulatedDevice.validateFlashSize(size)
        return size
    }

    /// The CA the device checks an https server against: the same one this command trusts (none: the device cannot check).
    func deviceCA(_ server: ServerOptions) throws -> String? {
        let ca = try server.caCertificates()
        // MicroPython's ssl takes one DER certificate as its trust anchor.
        if let ca, try AdminClient.certificates(pem: ca).count != 1 {
            throw AloftError("a device holds one CA certificate; the --ca-cert file has several (give the one that signed the server's)")
        }
        return ca
    }
}
