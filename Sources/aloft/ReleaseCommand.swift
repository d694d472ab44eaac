import AloftCore
import AloftTools
import ArgumentParser
import Foundation

struct Release: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Publish and list releases.", subcommands: [Publish.self, Promote.self, List.self])

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign a folder of MicroPython files here and publish it.")

        @Argument(help: "Folder whose files land on the device at the same paths (main.py -> /main.py).")
        var source: String

        @Option(help: "Semantic version, e.g. 1.2.0.")
        var version: String

        @Option(name: .customLong("key"), help: "Private key (PKCS#8 PEM) from `aloft keys generate`; repeatable: each key signs (up to 8).")
        var keys: [String] = []

        @Option(help: "Channel.")
        var channel: String = "stable"

        @Option(name: .customLong("board"), help: "Board glob this release is for (repeatable; default: every board).")
        var boards: [String] = []

        @Option(help: "Minimum MicroPython version, e.g. 1.21.")
        var minMicropython: String?

        @Option(help: "Sequence number (default: the channel's next: above its latest release and above what its devices reported).")
        var sequence: Int?

        @Option(help: "Devices with a clock refuse the release after this long: a number with s, m, h or d, e.g. 30d.")
        var expiresIn: String?

        @Option(help: "Devices with a clock refuse the release from this UTC time on, e.g. 2027-01-01T00:00:00Z.")
        var expires: String?

        @Option(
            name: .customLong("trust"),
            help: "Public key (PEM) devices trust once they have confirmed this release; repeatable, up to 8. Replaces their current keys.")
        var trust: [String] = []

        @Option(help: "With --trust: how many of those keys must sign later releases.")
        var threshold: Int?

        @Flag(help: "Also ship the device agent of this aloft build under lib/aloft/, so devices update their agent too (in --agent-form).")
        var includeAgent = false

        @OptionGroup var agentForm: AgentFormOption

        @Flag(help: "Compile the application's .py files (all but main.py) to .mpy with mpy-cross: devices import them without compiling.")
        var compile = false

        @Flag(help: "Do all but talk to the server (no --server needed): list what would be published and what is left out, and why.")
        var dryRun = false

        @Flag(help: "Offer it to no device until `aloft rollout start` starts it, so none slips in between publish and rollout.")
        var held = false

        @Option(
            name: .customLong("firmware"),
            help: ArgumentHelp(
                "A MicroPython firmware image for one build, BUILD=FILE: an ESP32 app image (micropython.org's .app-bin), BUILD as "
                    + "sys.implementation._build says (ESP32_GENERIC-OTA); repeatable, one per build. Devices of that build take it first.",
                valueName: "build=file"))
        var firmware: [String] = []

        @Option(name: .customLong("firmware-version"), help: ArgumentHelp("BUILD=X.Y.Z: that image's MicroPython version, when its banner does not say it.", valueName: "build=version"))
        var firmwareVersions: [String] = []

        @Option(name: .customLong("firmware-chip"), help: ArgumentHelp("BUILD=CHIP: the chip of a build MicroPython does not make (a custom board).", valueName: "build=chip"))
        var firmwareChips: [String] = []

        @Flag(help: "Offer the firmware to boards whose bootloader does not roll back a failed firmware too (one that does not boot then needs a USB cable).")
        var firmwareWithoutRollback = false

        @OptionGroup var server: ServerOptions

        func run() async throws {
            // the agent it ships and compiled files, read until uploaded; gone however publish ends, as in the other commands
            let staging = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-publish-\(getpid())-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: staging) }
            let request = try prepare(staging: staging)
            if dryRun { return print(try dryRunReport(request)) }
            let outcome = try await Publisher(client: try server.client()).publish(
                folder: request.folder, version: request.version, keys: request.signers, channel: channel, compat: request.compat,
                sequence: sequence, created: request.created, expires: request.expires, trust: request.trust, held: held,
                firmwareWithoutRollback: firmwareWithoutRollback)
            if outcome.alreadyPublished {
                return print("\(outcome.manifest.version) is already published on \(channel) (sequence \(outcome.manifest.sequence)) with these files; nothing changed")
            }
            print(Self.summary(outcome, folder: request.folder, signers: request.signers.map(\.publicKey)))
        }

        typealias Request = (
            version: SemanticVersion, compat: Compatibility, signers: [ReleasePrivateKey], created: Date, expires: String?,
            trust: ReleaseTrust?, folder: ReleaseFolder
        )

        /// Everything `run()` needs before it talks to the server: checked options, signing keys, the files.
        /// Kept out of the async `run()` (with `summary`): inlined there, it crashed the Swift 6.3.1 optimizer while it
        /// split the coroutine (release builds).
        @inline(never) func prepare(staging: URL) throws -> Request {
            let version = try SemanticVersion(parsing: version)
            var compat = Compatibility(boards: boards.isEmpty ? ["*"] : boards, micropython: minMicropython)
            try compat.validate()
            // Bytecode needs a MicroPython that loads it (and a firmware whose .mpy version is mpy-cross's); the agent itself
            // needs 1.21 or later.
            if compile || (includeAgent && agentForm.form != .py) {
                compat.raiseMinimum(to: MpyCross.minimumMicroPython)
                compat.mpy = MpyCross.mpyVersion
            }
            if includeAgent { compat.raiseMinimum(to: AgentPackage.minimumMicroPython) }
            guard (1...SignedRelease.maxSignatures).contains(keys.count) else {
                throw ValidationError("pass 1-\(SignedRelease.maxSignatures) --key options (private keys that sign the release)")
            }
            let signers = try keys.map { try ReleasePrivateKey(pem: try readKeyFile($0)) }
            guard Set(signers.map(\.publicKey)).count == signers.count else { throw ValidationError("the same key is given twice with --key") }
            let created = Date()
            var agent: AgentPackage?
            if includeAgent { agent = try AgentPackage.locate().built(agentForm.form, into: staging.appendingPathComponent("agent")) }
            var folder = try ReleaseFolder(root: URL(fileURLWithPath: source), agent: agent)
            if compile { folder = try folder.compiled(with: try MpyCross.locate(), into: staging.appendingPathComponent("app")) }
            if !firmware.isEmpty || !firmwareVersions.isEmpty || !firmwareChips.isEmpty {
                folder = try folder.withFirmware(firmware, versions: firmwareVersions, chips: firmwareChips)
            } else if firmwareWithoutRollback {
                throw ValidationError("--firmware-without-rollback is about a release's firmware: pass --firmware BUILD=FILE too")
            }
            return (version, compat, signers, created, try expiryTimestamp(from: created), try trustField(), folder)
        }

        /// `--dry-run`: the manifest is built and signed as for publishing (the channel's next sequence, which only the
        /// server knows, stands in as `--sequence` or 1), then the folder's report is all that is printed.
        @inline(never) func dryRunReport(_ request: Request) throws -> String {
            let manifest = try request.folder.manifest(
                version: request.version, sequence: sequence ?? 1, channel: channel, compat: request.compat, created: request.created,
                expires: request.expires, trust: request.trust)
            _ = try SignedRelease(signing: manifest, with: request.signers)
            let keyIDs = request.signers.map(\.publicKey.keyID).joined(separator: ", ")
            return (request.folder.dryRunReport
                + ["dry run: \(manifest.version) on \(manifest.channel), signed by key id \(keyIDs); nothing was sent to a server"])
                .joined(separator: "\n")
        }

        /// What was published, for the terminal.
        @inline(never) static func summary(_ outcome: Publisher.Outcome, folder: ReleaseFolder, signers: [ReleasePublicKey]) -> String {
            let m = outcome.manifest
            var lines = ["published \(m.version) (sequence \(m.sequence)) on \(m.channel): \(m.files.count) files, \(m.totalSize) bytes; "
                + "uploaded \(outcome.uploadedBlobs) new blobs (\(outcome.uploadedBytes) bytes)"]
            for image in m.firmware ?? [] {
                lines.append(
                    "carries firmware for \(image.build): MicroPython \(image.micropython) (\(image.chip), \(image.size) bytes); "
                        + "devices of that build take it first, then the files")
            }
            if folder.carriesAgent {
                let count = m.files.filter { ReleasePath.isAgentFile($0.path) }.count
                let version = folder.agentVersion.map { " " + $0 } ?? ""
                lines.append("carries the device agent\(version): \(count) files under \(ReleasePath.agentFolder)/")
            }
            lines.append(
                outcome.legacy
                    ? "also signed in format 1 for devices with agents before 0.3.0"
                    : "not offered to devices with agents before 0.3.0: \(m.legacyRefusal ?? "no format-1 manifest")")
            let keyIDs = { (keys: [ReleasePublicKey]) in keys.map(\.keyID).joined(separator: ", ") }
            if outcome.held { lines.append("held: no device is offered it until `aloft rollout start --channel \(m.channel) --version \(m.version)`") }
            lines.append("signed by key id \(keyIDs(signers))" + (m.expires.map { "; expires \($0)" } ?? "")
                + (m.trust.map { "; devices then trust key id \(keyIDs($0.publicKeys)) (threshold \($0.threshold))" } ?? ""))
            if let short = outcome.shortOfFlash?.sentence(version: m.version.description, of: m.channel) { lines.append(short) }
            return lines.joined(separator: "\n")
        }

        func expiryTimestamp(from created: Date) throws -> String? {
            switch (expiresIn, expires) {
            case (nil, nil): return nil
            case (let interval?, nil):
                guard let seconds = parseDuration(interval) else {
                    throw ValidationError("invalid --expires-in '\(interval)': use a number with s, m, h or d, e.g. 90m or 30d")
                }
                return ReleaseManifest.timestamp(created.addingTimeInterval(TimeInterval(seconds)))
            case (nil, let time?):
                guard ReleaseManifest.date(fromTimestamp: time) != nil else {
                    throw ValidationError("invalid --expires '\(time)': use a UTC time like 2027-01-01T00:00:00Z")
                }
                return time
            default: throw ValidationError("pass --expires-in or --expires, not both")
            }
        }

        func trustField() throws -> ReleaseTrust? {
            guard !trust.isEmpty else {
                if threshold != nil { throw ValidationError("--threshold needs the keys it applies to: pass them with --trust") }
                return nil
            }
            let keys = try trust.map { try ReleasePublicKey(pem: try readKeyFile($0)) }
            guard Set(keys).count == keys.count else { throw ValidationError("the same key is given twice with --trust") }
            let field = ReleaseTrust(keys: keys, threshold: threshold ?? 1)
            do { try field.validate() } catch {
                throw ValidationError(
                    error.message.replacingOccurrences(of: "trust.keys", with: "--trust").replacingOccurrences(of: "trust.threshold", with: "--threshold"))
            }
            return field
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish a release of one channel on another: the same files, re-signed here with your key; nothing is uploaded again.")

        @Option(help: "The release's version.")
        var version: String

        @Option(help: "The channel it is published on.")
        var from: String

        @Option(help: "The channel to publish it on.")
        var to: String

        @Option(name: .customLong("key"), help: "Private key (PKCS#8 PEM); repeatable: each key signs (up to 8).")
        var keys: [String] = []

        @Flag(help: "Offer it to no device of --to until a rollout starts it.")
        var held = false

        @OptionGroup var server: ServerOptions

        // The async part is one call: Swift 6.3.1 crashed (LLVM coroutine splitting, release build) on this function
        // when it also validated and printed.
        func run() async throws {
            let signers = try signers()
            let client = try server.client()
            let outcome = try await Promoter(client: client).promote(version: version, from: from, to: to, keys: signers, held: held, created: Date())
            report(outcome.manifest, alreadyPublished: outcome.alreadyPublished)
            if let short = outcome.shortOfFlash?.sentence(version: version, of: to) { print(short) }
        }

        private func signers() throws -> [ReleasePrivateKey] {
            _ = try SemanticVersion(parsing: version)
            try Identifiers.validateChannel(from)
            try Identifiers.validateChannel(to)
            guard (1...SignedRelease.maxSignatures).contains(keys.count) else {
                throw ValidationError("pass 1-\(SignedRelease.maxSignatures) --key options (private keys that sign the release)")
            }
            var signers: [ReleasePrivateKey] = []
            for path in keys { signers.append(try ReleasePrivateKey(pem: try readKeyFile(path))) }
            return signers
        }

        private func report(_ m: ReleaseManifest, alreadyPublished: Bool) {
            if alreadyPublished {
                print("\(m.version) is already published on \(to) (sequence \(m.sequence)) with these files; nothing changed")
            } else {
                print("promoted \(m.version) from \(from) to \(to) (sequence \(m.sequence)): \(m.files.count) files, none uploaded"
                    + (held ? "; held until a rollout starts it" : ""))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List published releases, newest first.")

        @Option(help: "Only this channel.")
        var channel: String?

        @Flag(help: "JSON output.")
        var json = false

        @OptionGroup var server: ServerOptions

        func run() async throws {
            let releases = try await server.client().releases(channel: channel)
            if json { return try printJSON(releases) }
            // LEGACY: whether devices with agents before 0.3.0 are offered the release. FIRMWARE: build and MicroPython of each image.
            var rows = [["CHANNEL", "SEQ", "VERSION", "FILES", "BYTES", "FIRMWARE", "CREATED", "LEGACY", "HELD"]]
            rows += releases.map {
                [
                    $0.channel, String($0.sequence), $0.version, String($0.files), String($0.size),
                    $0.firmware.isEmpty ? "-" : $0.firmware.map { "\($0.build) \($0.micropython) (\($0.size) B)" }.joined(separator: ", "), $0.created,
                    $0.legacy ? "yes" : "no", $0.held ? "yes" : "no",
                ]
            }
            printTable(rows)
        }
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

func printTable(_ rows: [[String]]) {
    for line in tableLines(rows) { print(line) }
}

/// Rows as lines of aligned columns.
func tableLines(_ rows: [[String]]) -> [String] {
    guard let first = rows.first else { return [] }
    let widths = first.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    return rows.map { row in
        row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces)
    }
}
