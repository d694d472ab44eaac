import AloftCore
import AloftTools
import ArgumentParser
import Foundation

struct DeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device", abstract: "Register devices and manage their tokens.", subcommands: [Provision.self, Image.self, Revoke.self, Token.self])

    struct Provision: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a device and write DEV/flash.img: a LittleFS image with the agent, its boot hook and its config.")

        @Option(help: "Device id (A-Z a-z 0-9 . _ -, up to 64).")
        var id: String

        @Option(help: "Channel the device follows.")
        var channel: String = "stable"

        @OptionGroup var image: ImageOptions

        @Option(help: "Server URL stored on the device (default: --server).")
        var deviceServer: String?

        @OptionGroup var server: ServerOptions
        @OptionGroup var micropython: MicroPythonOption

        func run() async throws {
            try Identifiers.validateDeviceID(id)
            try Identifiers.validateChannel(channel)
            let (keys, size) = try image.checked()
            let ca = try image.deviceCA(server)
            var config = SimulatedDevice.Config(server: "", id: id, token: "", keys: keys, threshold: image.threshold, board: image.board, ca: ca)
            try config.validate()
            let toolchain = try micropython.toolchain()
            let device = SimulatedDevice(folder: URL(fileURLWithPath: image.out))
            try device.checkFree()
            let client = try server.client()
            // Registration makes the token the image needs; everything that can be checked locally was checked first.
            let registered = try await client.registerDevice(id: id, channel: channel)
            config.server = deviceServer ?? client.server
            config.token = registered.token
            try device.createImage(config: config, flashSize: size, toolchain: toolchain)
            print("registered \(id) on channel \(channel); wrote \(device.image.path) (\(size) bytes)")
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

        @OptionGroup var image: ImageOptions
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
            let (keys, size) = try image.checked()
            let ca = try image.deviceCA(server)
            var base = url
            while base.hasSuffix("/") { base.removeLast() }
            let config = SimulatedDevice.Config(server: base, enrollmentSecret: secret, keys: keys, threshold: image.threshold, board: image.board, ca: ca)
            try config.validate()
            let device = SimulatedDevice(folder: URL(fileURLWithPath: image.out))
            try device.checkFree()
            try device.createImage(config: config, flashSize: size, toolchain: try micropython.toolchain())
            print("wrote the generic image \(device.image.path) (\(size) bytes); devices flashed with it enroll on first boot")
        }
    }
}

struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "What the fleet runs.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every device: installed version, agent version, last seen, last event.")

        @Flag(help: "JSON output.")
        var json = false

        @OptionGroup var server: ServerOptions

        func run() async throws {
            let devices = try await server.client().devices()
            if json { return try printJSON(devices) }
            var rows = [["ID", "CHANNEL", "VERSION", "SEQ", "BOARD", "AGENT", "LAST SEEN", "LAST EVENT"]]
            for d in devices {
                let event = d.lastEvent.map { e in [e.type, e.version ?? "", e.reason.map { "(\($0))" } ?? ""].filter { !$0.isEmpty }.joined(separator: " ") } ?? "-"
                rows.append([
                    d.id, d.channel, d.version ?? "-", String(d.sequence), d.board ?? "-", d.agent ?? "-", d.lastSeen ?? "never", event,
                ])
            }
            printTable(rows)
        }
    }
}

struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulated devices: the MicroPython unix port on a file-backed LittleFS flash.", subcommands: [Run.self, Ls.self, Cat.self])

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

    @Option(help: "Folder for the device (flash.img goes there).")
    var out: String

    @Option(help: "Board name the device reports (matched against release board globs).")
    var board: String = "sim"

    @Option(help: "Flash size, a multiple of 4096 (e.g. 2M, 512K).")
    var flashSize: String = "2M"

    /// The trusted keys and the flash size, after every local check.
    func checked() throws -> (keys: [ReleasePublicKey], flashSize: Int) {
        _ = try BoardPattern(board)
        guard let size = parseSize(flashSize) else { throw ValidationError("invalid --flash-size '\(flashSize)'") }
        try SimulatedDevice.validateFlashSize(size)
        guard !pubkey.isEmpty else { throw ValidationError("pass at least one --pubkey") }
        return (try pubkey.map { try ReleasePublicKey(pem: try readKeyFile($0)) }, size)
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
