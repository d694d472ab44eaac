import AloftAPI
import AloftCore
import AloftTools
import ArgumentParser
import Foundation

struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout", abstract: "Staged rollouts: a release to a target in phases, halting by itself at its failure limit.",
        subcommands: [Start.self, Status.self, List.self, Pause.self, Resume.self, Abort.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start offering a published release to a channel's devices, phase by phase.",
            discussion: """
                Which devices are in which phase is a stable hash of the rollout and device ids: --phases 5,25,100 offers \
                the release to 5% of the target first, then 25%, then all. A phase is done when every device of it that \
                checked in since it began is confirmed or failed; the next starts after --soak (or on `aloft rollout resume` \
                with --manual). When failed and rolled-back devices exceed --max-failures once --min-devices tried, the \
                rollout halts: no new device is offered the release.
                """)

        @Option(help: "The channel.")
        var channel: String = "stable"

        @Option(help: "The release's version (publish it first; --held keeps it from devices until now).")
        var version: String

        @Option(help: "Cumulative percentages of the target, e.g. 5,25,100.")
        var phases: String = "100"

        @Option(name: .customLong("tag"), help: "Only devices with this tag (repeatable: any of them).")
        var tags: [String] = []

        @Option(name: .customLong("board"), help: "Only boards matching this glob (repeatable: any of them).")
        var boards: [String] = []

        @Option(name: .customLong("device"), help: "Only this device (repeatable).")
        var devices: [String] = []

        @Option(help: "Halt when more devices than this failed or rolled back: a count (3) or a percentage of those that tried (10%); 0 halts at the first.")
        var maxFailures: String = "0"

        @Option(help: "The failure limit applies once this many devices tried.")
        var minDevices: Int = 1

        @Option(help: "Wait between a phase done and the next: 0, 30m, 1h, 2d.")
        var soak: String = "0"

        @Option(help: "Offer only inside this maintenance window, e.g. \"Mon-Fri 01:00-05:00 UTC\".")
        var window: String?

        @Flag(help: "Each next phase waits for `aloft rollout resume`.")
        var manual = false

        @Flag(help: "JSON output.")
        var json = false

        @OptionGroup var server: ServerOptions

        func run() async throws {
            try Identifiers.validateChannel(channel)
            _ = try SemanticVersion(parsing: version)
            let percentages = try phases.split(separator: ",", omittingEmptySubsequences: false).map { part in
                guard let value = Int(part.trimmingCharacters(in: .whitespaces)) else {
                    throw AloftError("invalid --phases '\(phases.prefix(60))': cumulative percentages like 5,25,100")
                }
                return value
            }
            let policy = RolloutPolicy(
                phases: percentages, target: RolloutTarget(tags: tags, boards: boards, devices: devices), maxFailures: try FailureThreshold(maxFailures),
                minDevices: minDevices, soak: try RolloutPolicy.parseDuration(soak), window: try window.map { try MaintenanceWindow($0) }, manual: manual)
            try policy.validate()
            let rollout = try await server.client().startRollout(
                StartRolloutRequest(
                    channel: channel, version: version, phases: percentages, tags: tags, boards: boards, devices: devices, maxFailures: maxFailures,
                    minDevices: minDevices, soak: policy.soak, window: window, manual: manual))
            if json { return try printJSON(rollout) }
            print("started rollout \(rollout.id): \(rollout.version) on \(rollout.channel) to \(policy.target.summary), phases \(percentages.map { "\($0)%" }.joined(separator: ", "))")
            print(RolloutCommand.describe(rollout))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Where a rollout stands (the newest when no id is given): per phase, devices offered, downloading, installed, confirmed, failed, rolled back.")

        @Argument(help: "The rollout's id.")
        var id: Int?

        @Flag(help: "JSON output.")
        var json = false

        @OptionGroup var server: ServerOptions

        func run() async throws {
            let client = try server.client()
            let rollout: RolloutView
            if let id {
                guard id >= 1 else { throw ValidationError("a rollout id is a positive integer") }
                rollout = try await client.rollout(id)
            } else {
                guard let newest = try await client.rollouts().first else { throw AloftError("no rollout has been started on this server") }
                rollout = try await client.rollout(newest.id)  // with what a list leaves out
            }
            if json { return try printJSON(rollout) }
            print(RolloutCommand.describe(rollout))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rollouts, newest first.")

        @Option(help: "Only this channel.")
        var channel: String?

        @Flag(help: "JSON output.")
        var json = false

        @OptionGroup var server: ServerOptions

        func run() async throws {
            if let channel { try Identifiers.validateChannel(channel) }
            let rollouts = try await server.client().rollouts(channel: channel)
            if json { return try printJSON(rollouts) }
            var rows = [["ID", "CHANNEL", "VERSION", "STATUS", "PHASE", "CONFIRMED", "FAILED", "CREATED"]]
            for r in rollouts {
                let confirmed = r.phases.reduce(0) { $0 + $1.confirmed }
                let failed = r.phases.reduce(0) { $0 + $1.failed + $1.rolledBack }
                rows.append([String(r.id), r.channel, r.version, r.status, "\(r.phase)/\(r.phases.count)", String(confirmed), String(failed), r.createdAt])
            }
            printTable(rows)
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause a running rollout: no new device is offered its release until it resumes.")
        @Argument(help: "The rollout's id.") var id: Int
        @OptionGroup var server: ServerOptions
        func run() async throws { try await RolloutCommand.change(id, .pauseRollout, server) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a paused rollout, or start the next phase of one whose phase is done.")
        @Argument(help: "The rollout's id.") var id: Int
        @OptionGroup var server: ServerOptions
        func run() async throws { try await RolloutCommand.change(id, .resumeRollout, server) }
    }

    struct Abort: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Abort a rollout for good; devices already on its release stay on it.")
        @Argument(help: "The rollout's id.") var id: Int
        @OptionGroup var server: ServerOptions
        func run() async throws { try await RolloutCommand.change(id, .abortRollout, server) }
    }

    static func change(_ id: Int, _ action: APIOperation, _ server: ServerOptions) async throws {
        guard id >= 1 else { throw ValidationError("a rollout id is a positive integer") }
        print(describe(try await server.client().changeRollout(id, action)))
    }

    /// The rollout for the terminal: a line of where it stands, a table of its phases.
    static func describe(_ r: RolloutView) -> String {
        var head = "rollout \(r.id): \(r.version) on \(r.channel), \(r.status), phase \(r.phase) of \(r.phases.count)"
        if r.status == "running", r.settledAt != nil { head += r.manual ? " (done; waiting for `aloft rollout resume \(r.id)`)" : " (done; soaking)" }
        var lines = [head]
        if let reason = r.haltReason { lines.append("halted: \(reason)") }
        // FIRMWARE: devices whose firmware step is under way or done, their files not yet.
        var rows = [["PHASE", "PERCENT", "DEVICES", "OFFERED", "FIRMWARE", "DOWNLOADING", "INSTALLED", "CONFIRMED", "FAILED", "ROLLED BACK"]]
        for p in r.phases {
            rows.append(
                [p.phase, p.percent, p.devices, p.offered, p.firmware, p.downloading, p.installed, p.confirmed, p.failed, p.rolledBack].map(String.init))
        }
        var text = lines + tableLines(rows)
        if let short = r.shortOfFlash?.sentence(version: r.version, of: "its target") { text.append(short) }
        return text.joined(separator: "\n")
    }
}

extension FlashShortfallView {
    /// "2 devices of its target cannot take 1.1.0 for lack of flash: small-1 needs 590 KB of flash, has 307 KB; …"; nil
    /// when none.
    func sentence(version: String, of audience: String) -> String? {
        guard count > 0 else { return nil }
        let named = devices.map { "\($0.id) \(FlashNeed.shortfall(need: $0.need, free: $0.free))" }.joined(separator: "; ")
        let more = count > devices.count ? "; and \(count - devices.count) more (aloft devices list)" : ""
        return "\(count) device\(count == 1 ? "" : "s") of \(audience) cannot take \(version) for lack of flash: \(named)\(more)"
    }
}

extension DeviceCommand {
    struct Tag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add tags to a device and remove others, for rollout targets and `devices list --tag`.")

        @Option(help: "Device id.")
        var id: String

        @Option(help: "Tags to add, comma-separated.")
        var add: String?

        @Option(help: "Tags to remove, comma-separated.")
        var remove: String?

        @OptionGroup var server: ServerOptions

        func run() async throws {
            try Identifiers.validateDeviceID(id)
            let add = try tagList(self.add), remove = try tagList(self.remove)
            guard !add.isEmpty || !remove.isEmpty else { throw ValidationError("pass --add or --remove with tags, e.g. --add greenhouse,eu") }
            let device = try await server.client().tagDevice(id: id, add: add, remove: remove)
            print("\(device.id): tags \(device.tags.isEmpty ? "none" : device.tags.joined(separator: ", "))")
        }
    }

    struct Pin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hold a device on a release of its channel: it is offered that one and no other until `unpin`.")

        @Option(help: "Device id.")
        var id: String

        @Option(help: "A version published on the device's channel.")
        var version: String

        @OptionGroup var server: ServerOptions

        func run() async throws {
            try Identifiers.validateDeviceID(id)
            _ = try SemanticVersion(parsing: version)
            let device = try await server.client().pinDevice(id: id, version: version)
            print("\(device.id): pinned to \(version)" + (device.decision.map { "; \($0.why)" } ?? ""))
        }
    }

    struct Unpin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a pinned device follow its channel again.")

        @Option(help: "Device id.")
        var id: String

        @OptionGroup var server: ServerOptions

        func run() async throws {
            try Identifiers.validateDeviceID(id)
            let device = try await server.client().unpinDevice(id: id)
            print("\(device.id): not pinned" + (device.decision.map { "; \($0.why)" } ?? ""))
        }
    }
}

/// Comma-separated tags, each checked.
func tagList(_ text: String?) throws -> [String] {
    guard let text else { return [] }
    let tags = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    for tag in tags { try Identifiers.validateTag(tag) }
    return tags
}
