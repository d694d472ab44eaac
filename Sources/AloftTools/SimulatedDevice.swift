import AloftCore
import Foundation

/// A simulated board: a folder holding `flash.img`, a LittleFS v2 image (or the whole flash of a simulated ESP32, a
/// ``Profile``) booted by the MicroPython unix port.
public struct SimulatedDevice: Sendable {
    /// The kinds of simulated board (docs/firmware.md, "The simulator's ESP32"): a plain LittleFS image, or the whole flash
    /// of an ESP32 as `device/sim/flashtool.py mkflash` lays it out (its PROFILES, which this list names: SimulatorTests
    /// checks the two agree).
    public enum Profile: String, Sendable, CaseIterable {
        /// A LittleFS image and no `esp32` module: no firmware slots. LittleFS as the esp32 port mounts it (read and
        /// program size 32: files over 128 bytes leave their folder's metadata for blocks of their own).
        case lfs
        /// A Raspberry Pi Pico W's filesystem: 848 KiB of LittleFS mounted as the rp2 port's `_boot.py` does, with program
        /// size 256 (files up to 512 bytes stay in their folder's metadata; every open file takes 1 KiB of heap).
        case picoW = "pico-w"
        /// ESP32_GENERIC's OTA variant: two 1.5 MiB slots, a bootloader that rolls back.
        case esp32OTA = "esp32-ota"
        /// The same table with a bootloader built without rollback.
        case esp32OTANoRollback = "esp32-ota-norollback"
        /// ESP32_GENERIC: a factory app, no OTA table.
        case esp32
        /// The Arduino Nano ESP32: 3 MiB slots, and board code that confirms every image at boot.
        case nanoESP32 = "nano-esp32"

        /// The firmware build its boards run (what `sys.implementation._build` says from 1.25 on); nil for ``lfs``.
        public var build: String? {
            switch self {
            case .lfs, .picoW: nil
            case .esp32OTA, .esp32OTANoRollback: "ESP32_GENERIC-OTA"
            case .esp32: "ESP32_GENERIC"
            case .nanoESP32: "ARDUINO_NANO_ESP32"
            }
        }

        /// Whether the image is the whole flash of an ESP32, with firmware slots; otherwise it is a LittleFS image.
        public var isESP32: Bool { build != nil }

        /// The flash size of its image when `--flash-size` does not say (an ESP32's is its board's).
        public var defaultFlashSize: Int { self == .picoW ? 848 * 1024 : SimulatedDevice.defaultFlashSize }

        /// The LittleFS program size its port mounts with.
        public var progsize: Int { self == .picoW ? 256 : 32 }

        /// The board name its firmware reports when the config does not say one.
        public var boardName: String { self == .picoW ? "RPI_PICO_W" : build ?? "sim" }

        /// The profile named `name`, or a one-line refusal that lists them.
        public static func named(_ name: String) throws(AloftError) -> Profile {
            guard let profile = Profile(rawValue: name) else {
                throw AloftError("unknown simulated board profile '\(name.prefix(40))': one of \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return profile
        }
    }

    public static let blockSize = 4096
    public static let defaultFlashSize = 2 * 1024 * 1024
    /// The exit code with which `device/sim/run.py` asks for a reset.
    static let resetExitCode: Int32 = 75
    /// Exit code when the boot's last check-in was not "nothing to do".
    static let notIdleExitCode: Int32 = 2

    public let folder: URL
    public var image: URL { folder.appendingPathComponent("flash.img") }

    public init(folder: URL) {
        self.folder = folder
    }

    /// What goes into the device's `/.aloft/config.json`.
    public struct Config: Sendable {
        public var server: String
        public var id: String
        public var token: String
        public var keys: [ReleasePublicKey]
        /// How many of `keys` must sign a release (docs/protocol.md, "Trust and key rotation").
        public var threshold: Int
        /// The board name it reports (matched against release board globs); nil: the firmware's own (a real board).
        public var board: String?
        /// PEM text of the CA certificate(s) an `https://` server's certificate must chain to.
        public var ca: String?
        /// A fleet enrollment secret, in a generic image instead of `id` and `token` (docs/protocol.md, "Enrollment").
        public var enroll: String?
        /// Tags a generic image's devices ask for when they enroll.
        public var tags: [String] = []
        /// The firmware build, for a firmware that does not say it (`sys.implementation._build` is there from 1.25 on).
        public var build: String?

        public init(server: String, id: String, token: String, keys: [ReleasePublicKey], threshold: Int = 1, board: String?, ca: String? = nil) {
            self.server = server
            self.id = id
            self.token = token
            self.keys = keys
            self.threshold = threshold
            self.board = board
            self.ca = ca
        }

        /// A generic image's config: the same for every device of a batch, which registers itself on first boot.
        public init(server: String, enrollmentSecret: String, keys: [ReleasePublicKey], threshold: Int = 1, board: String?, ca: String? = nil) {
            self.init(server: server, id: "", token: "", keys: keys, threshold: threshold, board: board, ca: ca)
            self.enroll = enrollmentSecret
        }

        /// The device's starting trust follows the rules of a manifest's `trust`.
        public func validate() throws(AloftError) {
            let distinct = Set(keys).count
            guard (1...ReleaseTrust.maxKeys).contains(distinct) else {
                throw AloftError("a device trusts 1-\(ReleaseTrust.maxKeys) release keys, not \(distinct)")
            }
            guard (1...distinct).contains(threshold) else {
                throw AloftError("the threshold must be between 1 and the number of distinct keys (\(distinct)), got \(threshold)")
            }
            try ReleaseTrust(keys: keys, threshold: threshold).validate()
        }

        public func json() throws(AloftError) -> Data {
            var object: [String: Any] = ["server": server, "keys": ReleaseTrust(keys: keys).keys, "threshold": threshold]
            if let board { object["board"] = board }
            if let enroll {
                object["enroll"] = enroll
            } else {
                object["id"] = id
                object["token"] = token
            }
            if let ca { object["ca"] = ca }
            if let build { object["build"] = build }
            if enroll != nil, !tags.isEmpty { object["tags"] = tags }
            do { return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) } catch {
                throw AloftError("cannot encode the device config")
            }
        }
    }

    /// Checks a flash size before anything is registered or written.
    public static func validateFlashSize(_ size: Int) throws(AloftError) {
        guard size % blockSize == 0, (64 * 1024...256 * 1024 * 1024).contains(size) else {
            throw AloftError("flash size must be a multiple of \(blockSize) bytes between 64K and 256M, got \(size)")
        }
    }

    /// Refuses to replace an existing device.
    public func checkFree() throws(AloftError) {
        if FileManager.default.fileExists(atPath: image.path) {
            throw AloftError("\(image.path) already exists; choose another --out folder or delete it")
        }
    }

    /// Writes `flash.img` with the agent (`agent`, else the toolchain's as source), its boot hook and `config`; the
    /// image appears whole or not at all. With an ESP32 `profile`, the image is the board's whole flash (its size is the
    /// profile's), running `firmware` (an app image file) or the simulator's default MicroPython 1.24.1 for its build.
    public func createImage(
        config: Config, flashSize: Int, toolchain: DeviceToolchain, agent: AgentPackage? = nil, profile: Profile = .lfs, firmware: URL? = nil
    ) throws(AloftError) {
        try Self.validateFlashSize(flashSize)
        if firmware != nil, !profile.isESP32 { throw AloftError("a firmware image needs a simulated ESP32 (--profile esp32-ota, …)") }
        try config.validate()
        try checkFree()
        let fm = FileManager.default
        let staging = fm.temporaryDirectory.appendingPathComponent("aloft-provision-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: staging) }
        let temp = folder.appendingPathComponent(".flash.img.tmp-\(getpid())")
        defer { try? fm.removeItem(at: temp) }
        do {
            try fm.createDirectory(at: folder, withIntermediateDirectories: true)
            try fm.createDirectory(at: staging.appendingPathComponent(ReleasePath.agentFolder), withIntermediateDirectories: true)
            try fm.createDirectory(at: staging.appendingPathComponent(".aloft"), withIntermediateDirectories: true)
            try fm.copyItem(at: toolchain.deviceDir.appendingPathComponent("boot.py"), to: staging.appendingPathComponent("boot.py"))
            // The same files a release carries with --include-agent.
            for file in try (agent ?? toolchain.agent()).files {
                try fm.copyItem(at: file.url, to: staging.appendingPathComponent(file.path))
            }
        } catch let error as AloftError {
            throw error
        } catch {
            throw AloftError("cannot prepare the device files: \(error.localizedDescription)")
        }
        try AtomicFile.write(Array(try config.json()), to: staging.appendingPathComponent(".aloft/config.json").path, mode: 0o600)
        let code = try !profile.isESP32
            ? toolchain.flashTool(["mkfs", temp.path, String(flashSize), staging.path, "--progsize", String(profile.progsize)])
            : toolchain.flashTool(["mkflash", temp.path, profile.rawValue, staging.path] + (firmware.map { ["--app", $0.path] } ?? []))
        guard code == 0 else { throw AloftError("could not build the flash image (flash tool exit code \(code))") }
        guard rename(temp.path, image.path) == 0 else { throw AloftError("cannot create \(image.path): \(String(cString: strerror(errno)))") }
    }

    public struct RunOptions: Sendable {
        public var heap: String?
        public var untilIdle: Bool
        public var timeout: Duration?
        /// Overrides the server URL in the device's config (the device still stores the old one).
        public var server: String?
        public var maxBoots: Int
        /// A file the device's output (stdout and stderr) is appended to, instead of this process's.
        public var output: URL?
        /// A release this board cannot run: its main.py raises whenever that version is installed (`ALOFT_SIM_FAIL_ON`).
        public var failOn: String?

        public init(heap: String? = nil, untilIdle: Bool = false, timeout: Duration? = nil, server: String? = nil, maxBoots: Int = 50,
                    failOn: String? = nil) {
            self.heap = heap
            self.untilIdle = untilIdle
            self.timeout = timeout
            self.server = server
            self.maxBoots = maxBoots
            self.failOn = failOn
        }
    }

    /// Boots the device until it stops by itself; a reset restarts it. Returns the exit code for `aloft sim run`.
    public func run(_ options: RunOptions, toolchain: DeviceToolchain, log: (String) -> Void) throws(AloftError) -> Int32 {
        guard FileManager.default.fileExists(atPath: image.path) else {
            throw AloftError("no device at \(folder.path): \(image.path) does not exist (create one with `aloft device provision`)")
        }
        var arguments: [String] = []
        if let heap = options.heap {
            guard Self.isHeapSize(heap) else { throw AloftError("invalid heap size '\(heap)': use a number with an optional K or M, e.g. 64K") }
            arguments += ["-X", "heapsize=\(heap)"]
        }
        // run.py by that name, in its folder: the simulator's modules load by short names then, so what they hold in
        // the device's heap is the same wherever the checkout (or the unpacked copy) is.
        arguments += ["run.py", image.path]
        var environment: [String: String] = [:]
        if let server = options.server { environment["ALOFT_SIM_SERVER"] = server }
        if let failOn = options.failOn { environment["ALOFT_SIM_FAIL_ON"] = failOn }
        let deadline = options.timeout.map { ContinuousClock.now + $0 }
        for boot in 1...options.maxBoots {
            log("[sim] boot \(boot)")
            switch try ChildProcess.run(
                toolchain.micropython, arguments, environment: environment, deadline: deadline, output: options.output?.path,
                directory: toolchain.simDir)
            {
            case .exited(Self.resetExitCode):
                log("[sim] reset")
            case .exited(Self.notIdleExitCode):
                return options.untilIdle ? Self.notIdleExitCode : 0
            case .exited(let code):
                return code
            case .signalled(let signal):
                log("[sim] device killed by signal \(signal)")
                return 128 + signal
            case .timedOut:
                log("[sim] timed out; device stopped")
                return 124
            }
        }
        log("[sim] gave up after \(options.maxBoots) boots in a row")
        return 3
    }

    /// A file's bytes from the device's flash (the flash tool's `cat`), nil when it has no such file.
    public func read(_ path: String, toolchain: DeviceToolchain) throws(AloftError) -> [UInt8]? {
        let result = try CapturedProcess.run(toolchain.micropython, [toolchain.flashTool, "cat", image.path, path], timeout: 60)
        return result.code == 0 ? Array(result.stdout.utf8) : nil
    }

    static func isHeapSize(_ text: String) -> Bool {
        var digits = Substring(text)
        if let last = digits.last, "KkMm".contains(last) { digits = digits.dropLast() }
        return !digits.isEmpty && digits.count <= 6 && digits.allSatisfy(\.isNumber) && Int(digits)! > 0
    }
}
