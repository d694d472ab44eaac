import AloftCore
import AloftTools
import ArgumentParser
import Foundation

/// `aloft sim fleet`: many simulated devices (real MicroPython each) against a server, for trying rollouts.
struct SimFleet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Provision (the first time) and boot N simulated devices until each is idle, a few at a time; a table of what each runs at the end.",
        discussion: """
            DIR/<prefix>-001 … are device folders like `aloft device provision --out` makes; those that exist are booted as they \
            are, so run it again after a publish or a rollout change to let the fleet check in once more. With --fail-on, the \
            devices cannot run that release (its main.py raises on them whenever it is installed), so its trial boot fails \
            and they roll back: a bad release for trying canaries and automatic halts.
            """)

    @Argument(help: "Folder of the fleet's devices; created if missing.")
    var folder: String

    @Option(help: "How many devices.")
    var count: Int

    @Option(help: "How many boot at the same time.")
    var parallel: Int = 4

    @Option(help: "A release version these devices cannot run (its trial boot fails and is rolled back).")
    var failOn: String?

    @Option(help: "With --fail-on: the percentage of devices that cannot run it (the same ones on every run).")
    var failShare: Int = 100

    @Option(help: "Device ids are <prefix>-001, <prefix>-002, …")
    var prefix: String = "sim"

    @Option(help: "Channel new devices follow.")
    var channel: String = "stable"

    @Option(name: .customLong("tag"), help: "A tag for each new device, for rollout targets (repeatable, or comma-separated).")
    var tags: [String] = []

    @Option(help: "MicroPython heap of each device, e.g. 128K.")
    var heap: String?

    @Option(help: "Stop a device that is not idle after this many seconds.")
    var timeout: Double = 300

    @OptionGroup var image: ImageOptions
    @OptionGroup var agentForm: AgentFormOption
    @OptionGroup var server: ServerOptions
    @OptionGroup var micropython: MicroPythonOption

    func run() async throws {
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be 1 to 10000") }
        guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be 1 to 64") }
        guard (0...100).contains(failShare) else { throw ValidationError("--fail-share must be a percentage, 0 to 100") }
        guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
        if let failOn, SemanticVersion(failOn) == nil { throw ValidationError("--fail-on '\(failOn)' is not a version like 2.0.0") }
        guard image.out == nil else { throw ValidationError("--out does not apply: the fleet's devices go in \(folder)") }
        try Identifiers.validateChannel(channel)
        let tags = try tagList(tags.isEmpty ? nil : tags.joined(separator: ","))
        let fleet = SimulatedFleet(folder: URL(fileURLWithPath: folder), prefix: prefix)
        try Identifiers.validateDeviceID(fleet.id(count))
        let tools = try micropython.toolchain()
        let missing = (1...count).filter { !FileManager.default.fileExists(atPath: fleet.device($0).image.path) }
        if !missing.isEmpty { try await provision(fleet, missing, tags: tags, tools) }

        let started = Date()
        let options = SimulatedDevice.RunOptions(heap: heap, untilIdle: true, timeout: .milliseconds(Int(timeout * 1000)), failOn: failOn)
        let outcomes = fleet.run(count: count, parallel: parallel, options: options, failShare: failShare, toolchain: tools)
        var rows = [["DEVICE", "VERSION", "RESULT", "LAST"]]
        for o in outcomes {
            let result = o.code == 0 ? "idle" : o.code == 124 ? "timed out" : "stopped (\(o.code))"
            rows.append([o.id + (o.fails ? " *" : ""), o.version ?? "-", result, o.last])
        }
        printTable(rows)
        var versions: [String: Int] = [:]
        for o in outcomes { versions[o.version ?? "-", default: 0] += 1 }
        let summary = versions.sorted { $0.key < $1.key }.map { "\($0.value) on \($0.key)" }.joined(separator: ", ")
        print("\(outcomes.count) devices in \(Int(Date().timeIntervalSince(started))) s: \(summary)"
            + (failOn.map { " (* cannot run \($0))" } ?? ""))
        if outcomes.contains(where: { $0.code != 0 }) { throw ExitCode(2) }
    }

    /// Registers and images the members that have no flash yet, the agent built once for all.
    func provision(_ fleet: SimulatedFleet, _ indices: [Int], tags: [String], _ tools: DeviceToolchain) async throws {
        let keys = try image.checkedKeys()
        let size = try image.checkedFlashSize()
        let profile = try image.checkedProfile(simulated: true)
        let client = try server.client()
        let staging = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-fleet-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: staging) }
        let agent = try AgentPackage(folder: tools.deviceDir.appendingPathComponent("aloft")).built(agentForm.form, into: staging)
        for index in indices {
            let id = fleet.id(index), device = fleet.device(index)
            try device.checkFree()
            var config = SimulatedDevice.Config(
                server: client.server, id: id, token: "", keys: keys, threshold: image.threshold, board: image.board, ca: try image.deviceCA(server))
            config = image.simulated(config, profile: profile)
            config.token = try await client.registerDevice(id: id, channel: channel, tags: tags).token
            try device.createImage(
                config: config, flashSize: size, toolchain: tools, agent: agent, profile: profile, firmware: image.simFirmware.map { URL(fileURLWithPath: $0) })
        }
        say("provisioned \(indices.count) devices in \(folder) on channel \(channel)")
    }
}
