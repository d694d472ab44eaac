import AloftAPI
import AloftCore
import AloftStore
import Foundation

/// Loads what the check-in decision and rollout progression look at, calls them (AloftCore), and stores what changed.
/// The one place the server turns store records into the core's values, so check-in, device listings and rollout status
/// see a device the same way.
struct FleetDecisions<Store: FleetStore>: Sendable {
    let store: Store
    let catalog: ReleaseCatalog<Store>
    let cache: FleetCache<Store>
    let clock: @Sendable () -> Date

    static func facts(_ device: DeviceRecord, failures: [ReleaseFailure] = []) -> DeviceFacts {
        DeviceFacts(
            id: device.id, tags: device.tags, pin: device.pin, sequence: device.sequence, board: device.board, micropython: device.micropython,
            rejected: device.rejected, format: device.format ?? ReleaseManifest.legacyFormat, mpy: device.mpy, agent: device.agent,
            firmware: device.firmware.firmware, free: device.free, failures: failures)
    }

    /// `facts` with the free flash each of `entries` newer than what it runs needs on it (``ReleaseCatalog/flashNeed(channel:from:to:)``),
    /// when it reported its free flash.
    func withFlashNeeds(_ facts: DeviceFacts, channel: String, entries: [Int: ReleaseCatalog<Store>.Entry]) async throws -> DeviceFacts {
        guard facts.free != nil else { return facts }
        var facts = facts
        for sequence in entries.keys where sequence > facts.sequence {
            facts.flashNeeds[sequence] = try await catalog.flashNeed(channel: channel, from: facts.sequence, to: sequence)
        }
        return facts
    }

    /// The channel's releases above `sequence`, and the pinned one, by sequence.
    func candidates(channel: String, above sequence: Int, pin: String?) async throws -> [Int: ReleaseCatalog<Store>.Entry] {
        var entries: [Int: ReleaseCatalog<Store>.Entry] = [:]
        for sequence in try await cache.releaseSequences(channel: channel, above: sequence) {
            if let entry = try await catalog.entry(channel: channel, sequence: sequence) { entries[sequence] = entry }
        }
        if let pin, let pinned = try await store.release(channel: channel, version: pin), entries[pinned.sequence] == nil,
           let entry = try await catalog.entry(channel: channel, sequence: pinned.sequence)
        {
            entries[pinned.sequence] = entry
        }
        return entries
    }

    /// The decision for a device at `now`, with the releases and rollouts it was made from. With `rollouts` nil they are
    /// loaded only when they can matter (no pin, and a release newer than the device's), so the usual check-in of a device
    /// that is up to date costs no rollout query; the device's failures (``FleetStore/failures(deviceIDs:)``) likewise,
    /// when `loadFailures` and a release could be offered.
    func decide(_ facts: DeviceFacts, channel: String, rollouts: [Rollout]? = nil, loadFailures: Bool = true, now: Date) async throws
        -> (decision: CheckInDecision, entries: [Int: ReleaseCatalog<Store>.Entry], rollouts: [Rollout])
    {
        var facts = facts
        let entries = try await candidates(channel: channel, above: facts.sequence, pin: facts.pin)
        var loaded = rollouts ?? []
        let newer = entries.keys.contains(where: { $0 > facts.sequence })
        if rollouts == nil, facts.pin == nil, newer {
            loaded = try await self.rollouts(channel: channel, now: now)
        }
        if loadFailures, newer { facts.failures = try await store.failures(deviceID: facts.id) }
        facts = try await withFlashNeeds(facts, channel: channel, entries: entries)
        let decision = ReleaseSelection.decide(for: facts, releases: entries.values.map(\.candidate), rollouts: loaded, now: now)
        return (decision, entries, loaded)
    }

    /// The decision as the API shows it. A listing passes `releases`, the channel's every release, and `failures`, its
    /// devices' failures, loaded once for all its devices.
    func view(
        _ device: DeviceRecord, rollouts: [Rollout], releases: [Int: ReleaseCatalog<Store>.Entry]? = nil, failures given: [ReleaseFailure]? = nil, now: Date
    ) async throws -> DeviceView {
        let decision: CheckInDecision
        let entries: [Int: ReleaseCatalog<Store>.Entry]
        let failures: [ReleaseFailure]
        if let given { failures = given } else { failures = try await store.failures(deviceID: device.id) }
        if let releases {
            entries = releases
            let facts = try await withFlashNeeds(Self.facts(device, failures: failures), channel: device.channel, entries: releases)
            decision = ReleaseSelection.decide(for: facts, releases: releases.values.map(\.candidate), rollouts: rollouts, now: now)
        } else {
            (decision, entries, _) = try await decide(
                Self.facts(device, failures: failures), channel: device.channel, rollouts: rollouts, loadFailures: false, now: now)
        }
        let offered = decision.offer.flatMap { entries[$0.sequence]?.candidate.version }
        // The failures with the release the decision is about: the one withheld for them, or the one offered despite them.
        let failure = decision.failure ?? decision.offer.flatMap { offer in failures.first { $0.sequence == offer.sequence } }
        return DeviceView(device, decision: DecisionView(decision, offered: offered, failure: failure))
    }

    /// The views of many devices, each channel's releases and rollouts loaded once whatever the number of its devices.
    func views(of devices: [DeviceRecord], now: Date) async throws -> [DeviceView] {
        var channels: [String: (rollouts: [Rollout], releases: [Int: ReleaseCatalog<Store>.Entry])] = [:]
        var views: [DeviceView] = []
        let failures = try await store.failures(deviceIDs: devices.map(\.id))
        for device in devices {
            if channels[device.channel] == nil {
                channels[device.channel] = (try await store.rollouts(channel: device.channel), try await candidates(channel: device.channel, above: 0, pin: nil))
            }
            let channel = channels[device.channel]!
            views.append(try await view(device, rollouts: channel.rollouts, releases: channel.releases, failures: failures[device.id] ?? [], now: now))
        }
        return views
    }

    /// The channel's rollouts after their soak timers at `now`, saved when one moved on.
    func rollouts(channel: String, now: Date) async throws -> [Rollout] {
        var rollouts = try await store.rollouts(channel: channel)
        for index in rollouts.indices where rollouts[index].status == .running && rollouts[index].settledAt != nil {
            let next = RolloutProgression.soaked(rollouts[index], now: now)
            if next != rollouts[index] {
                try await store.updateRollout(next)
                rollouts[index] = next
            }
        }
        return rollouts
    }

    /// Every device of the rollout's channel, with what it did with the rollout's release.
    func members(of rollout: Rollout) async throws -> [RolloutMember] {
        let outcomes = try await store.rolloutOutcomes(rollout: rollout.id)
        return try await store.devices(channel: rollout.channel).map { device in
            RolloutMember(facts: Self.facts(device), lastSeen: device.lastSeen, outcome: outcomes[device.id])
        }
    }

    /// The rollout after one progression step at `now`, saved when it changed.
    @discardableResult
    func advance(_ rollout: Rollout, now: Date) async throws -> Rollout {
        guard rollout.status == .running else { return rollout }
        let release = try await catalog.entry(channel: rollout.channel, sequence: rollout.sequence)?.candidate
        let next = RolloutProgression.step(rollout, release: release, members: try await members(of: rollout), now: now)
        if next != rollout { try await store.updateRollout(next) }
        return next
    }

    /// The rollout the path's `{rollout}` names: 400 when it is not a positive integer, 404 when there is none.
    func existingRollout(_ context: AloftRequestContext) async throws -> Rollout {
        let id = try Self.rolloutID(context.parameters.require("rollout"), field: "rollout id")
        guard let rollout = try await store.rollout(id: id) else { throw APIError.notFound("no rollout \(id)") }
        return rollout
    }

    /// A rollout id as a path or query gives it: a positive integer, or 400 naming `field`.
    static func rolloutID(_ text: String, field: String) throws -> Int {
        guard text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let id = Int(text), id >= 1 else {
            throw APIError.badRequest("\(field) must be a positive integer, got '\(text.prefix(40))'")
        }
        return id
    }

    /// The device the path's `{id}` names: 400 when it is not a device id, 404 when there is none.
    func existingDevice(_ context: AloftRequestContext) async throws -> DeviceRecord {
        let id = try context.parameters.require("id")
        try Identifiers.validateDeviceID(id)
        guard let device = try await store.device(id: id) else { throw APIError.notFound("no device '\(id)'") }
        return device
    }

    /// An operator's action on a rollout, from the API or the console: the core says what the rollout becomes, or why it
    /// cannot (409); the result is saved and stepped at once.
    func perform(_ action: RolloutAction, on rollout: Rollout, context: AloftRequestContext) async throws -> Rollout {
        let now = clock()
        var next: Rollout
        do { next = try action.apply(to: rollout, now: now) } catch { throw APIError(.conflict, error.message) }
        try await store.updateRollout(next)
        next = try await advance(next, now: now)
        context.logger.info(
            "rollout changed",
            metadata: ["id": "\(next.id)", "action": "\(action.rawValue)", "status": "\(next.status.rawValue)", "phase": "\(next.phase + 1)", "admin": "\(context.adminName ?? "-")"])
        return next
    }

    /// Steps every running rollout of the channel whose release this event is about.
    func eventArrived(channel: String, sequence: Int?, now: Date) async throws {
        guard let sequence else { return }
        for rollout in try await store.rollouts(channel: channel) where rollout.sequence == sequence && rollout.status == .running {
            try await advance(rollout, now: now)
        }
    }

    /// The rollout with its devices per phase.
    func view(_ rollout: Rollout, withFlash: Bool = false) async throws -> RolloutView {
        let reports = RolloutPhaseReport.reports(for: rollout, members: try await members(of: rollout))
        var view = RolloutView(rollout, reports: reports)
        if withFlash { view.shortOfFlash = try await shortOfFlash(channel: rollout.channel, sequence: rollout.sequence, target: rollout.policy.target) }
        return view
    }

    /// The devices of `channel` (of `target`, when given) on an older release that reported less free flash than updating
    /// to release `sequence` needs.
    func shortOfFlash(channel: String, sequence: Int, target: RolloutTarget? = nil) async throws -> FlashShortfallView {
        var short: [FlashShortfallView.Device] = []
        for device in try await store.devices(channel: channel) where device.sequence < sequence && device.revokedAt == nil {
            guard let free = device.free, target?.includes(Self.facts(device)) ?? true,
                  let need = try await catalog.flashNeed(channel: channel, from: device.sequence, to: sequence), need > free
            else { continue }
            short.append(FlashShortfallView.Device(id: device.id, need: need, free: free))
        }
        short.sort { $0.id < $1.id }
        return FlashShortfallView(count: short.count, devices: Array(short.prefix(FlashShortfallView.maxListed)))
    }
}

extension RolloutView {
    init(_ rollout: Rollout, reports: [RolloutPhaseReport]) {
        let phases = reports.map { report in
            RolloutPhaseView(
                phase: report.phase + 1, percent: report.percent, devices: report.devices, offered: report.counts[.offered] ?? 0,
                firmware: report.counts[.firmware] ?? 0, downloading: report.counts[.downloading] ?? 0, installed: report.counts[.installed] ?? 0,
                confirmed: report.counts[.confirmed] ?? 0, failed: report.counts[.failed] ?? 0, rolledBack: report.counts[.rolledBack] ?? 0)
        }
        let policy = rollout.policy
        self.init(
            id: rollout.id, channel: rollout.channel, version: rollout.version, sequence: rollout.sequence, status: rollout.status.rawValue,
            phase: rollout.phase + 1, phases: phases, tags: policy.target.tags, boards: policy.target.boards, devices: policy.target.devices,
            maxFailures: policy.maxFailures.description, minDevices: policy.minDevices, soak: policy.soak, window: policy.window?.text,
            manual: policy.manual, phaseStartedAt: rfc3339(rollout.phaseStartedAt), settledAt: rollout.settledAt.map(rfc3339),
            haltReason: rollout.haltReason, createdAt: rfc3339(rollout.createdAt))
    }
}
