import AloftAPI
import AloftCore
import AloftStore
import Foundation
import Hummingbird

/// Tags, pins and staged rollouts (docs/protocol.md, "Rollouts"). Each handler loads, calls the core, stores and answers.
struct RolloutAPI<Store: FleetStore>: Sendable {
    let store: Store
    let decisions: FleetDecisions<Store>
    let clock: @Sendable () -> Date

    func addRoutes(to routes: RouteTable) {
        routes.add(.tagDevice, use: tag)
        routes.add(.pinDevice, use: pin)
        routes.add(.unpinDevice, use: unpin)
        routes.add(.retryDevice, use: retry)
        routes.add(.startRollout, use: start)
        routes.add(.listRollouts, use: list)
        routes.add(.rollout, use: show)
        for (operation, action) in [(APIOperation.pauseRollout, RolloutAction.pause), (.resumeRollout, .resume), (.abortRollout, .abort)] {
            routes.add(operation) { _, context in
                try await context.json(decisions.view(decisions.perform(action, on: decisions.existingRollout(context), context: context)))
            }
        }
    }

    // MARK: Devices

    @Sendable func tag(request: Request, context: AloftRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(as: DeviceTagsRequest.self)
        return try await view(tag(decisions.existingDevice(context), body), context: context)
    }

    /// Adds and removes a device's tags, from the API or the console: each tag checked, at most ``Identifiers/maxTags``.
    func tag(_ current: DeviceRecord, _ body: DeviceTagsRequest) async throws -> DeviceRecord {
        let add = body.add ?? [], remove = body.remove ?? []
        for tag in add + remove { try Identifiers.validateTag(tag) }
        guard add.count <= Identifiers.maxTags, remove.count <= Identifiers.maxTags else {
            throw APIError.badRequest("add or remove at most \(Identifiers.maxTags) tags at once")
        }
        guard Set(current.tags).union(add).subtracting(remove).count <= Identifiers.maxTags else {
            throw APIError.badRequest("a device has at most \(Identifiers.maxTags) tags")
        }
        return try await store.updateDeviceTags(id: current.id, add: add, remove: remove)
    }

    @Sendable func pin(request: Request, context: AloftRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(as: DevicePinRequest.self)
        return try await view(pin(decisions.existingDevice(context), body), context: context)
    }

    /// Pins a device to a release of its channel, from the API or the console: 404 when the channel has no such release.
    func pin(_ current: DeviceRecord, _ body: DevicePinRequest) async throws -> DeviceRecord {
        try AdminAPI<Store>.requireVersion(body.version)
        guard try await store.release(channel: current.channel, version: body.version) != nil else {
            throw APIError.notFound("channel '\(current.channel)' of device '\(current.id)' has no release \(body.version)")
        }
        return try await store.setDevicePin(id: current.id, version: body.version)
    }

    @Sendable func unpin(request: Request, context: AloftRequestContext) async throws -> Response {
        try await view(unpin(deviceID(context)), context: context)
    }

    /// Unpins a device, from the API or the console (unpinned already is fine).
    func unpin(_ id: String) async throws -> DeviceRecord {
        try await store.setDevicePin(id: id, version: nil)
    }

    /// Forgets the device's failures, with one release (`?version=`) or all: what `aloft device retry` calls.
    @Sendable func retry(request: Request, context: AloftRequestContext) async throws -> Response {
        let device = try await decisions.existingDevice(context)
        let cleared = try await retry(device, version: request.uri.queryParameters["version"].map(String.init), context: context)
        let view = try await decisions.view(device, rollouts: store.rollouts(channel: device.channel), now: clock())
        return try context.json(DeviceRetryResponse(cleared: cleared.map(FailureView.init), device: view))
    }

    /// Forgets the device's failures with release `version` of its channel, or with every release when nil, from the API
    /// or the console; 404 when the channel has no such release. Returns what it forgot.
    func retry(_ device: DeviceRecord, version: String?, context: AloftRequestContext) async throws -> [ReleaseFailure] {
        var sequence: Int? = nil
        if let version {
            try AdminAPI<Store>.requireVersion(version)
            guard let release = try await store.release(channel: device.channel, version: version) else {
                throw APIError.notFound("channel '\(device.channel)' of device '\(device.id)' has no release \(version)")
            }
            sequence = release.sequence
        }
        let cleared = try await store.clearFailures(deviceID: device.id, sequence: sequence)
        context.logger.info(
            "device failures cleared",
            metadata: ["id": "\(device.id)", "releases": "\(cleared.map { $0.version ?? String($0.sequence) }.joined(separator: ","))", "admin": "\(context.adminName ?? "-")"])
        return cleared
    }

    // MARK: Rollouts

    @Sendable func start(request: Request, context: AloftRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(as: StartRolloutRequest.self)
        return try await context.json(decisions.view(start(body, context: context), withFlash: true), status: .created)
    }

    /// Starts a rollout, from the API or the console: the request checked as the core's ``RolloutPolicy`` rules say, 404
    /// without the release, 409 while another rollout of the channel is active; then its first step at once.
    func start(_ body: StartRolloutRequest, context: AloftRequestContext) async throws -> Rollout {
        try Identifiers.validateChannel(body.channel)
        try AdminAPI<Store>.requireVersion(body.version)
        let policy = RolloutPolicy(
            phases: body.phases ?? [100],
            target: RolloutTarget(tags: body.tags ?? [], boards: body.boards ?? [], devices: body.devices ?? []),
            maxFailures: try body.maxFailures.map { text throws(AloftError) in try FailureThreshold(text) } ?? .count(0),
            minDevices: body.minDevices ?? 1, soak: body.soak ?? 0,
            window: try body.window.map { text throws(AloftError) in try MaintenanceWindow(text) }, manual: body.manual ?? false)
        try policy.validate()
        guard let release = try await store.release(channel: body.channel, version: body.version) else {
            throw APIError.notFound("channel '\(body.channel)' has no release \(body.version); publish it first (--held keeps it from devices)")
        }
        if let active = try await store.rollouts(channel: body.channel).first(where: { $0.status.isActive }) {
            throw APIError(
                .conflict,
                "rollout \(active.id) of \(active.version) on '\(active.channel)' is \(active.status.rawValue); abort it first (aloft rollout abort \(active.id))")
        }
        let now = clock()
        var rollout = try await store.createRollout(
            NewRollout(channel: body.channel, sequence: release.sequence, version: release.version, policy: policy, createdAt: now))
        rollout = try await decisions.advance(rollout, now: now)
        context.logger.info(
            "started rollout",
            metadata: [
                "id": "\(rollout.id)", "channel": "\(rollout.channel)", "version": "\(rollout.version)", "phases": "\(policy.phases)",
                "admin": "\(context.adminName ?? "-")",
            ])
        return rollout
    }

    @Sendable func list(request: Request, context: AloftRequestContext) async throws -> Response {
        let channel = request.uri.queryParameters["channel"].map(String.init)
        if let channel { try Identifiers.validateChannel(channel) }
        var views: [RolloutView] = []
        for rollout in try await store.rollouts(channel: channel) { views.append(try await decisions.view(rollout)) }
        return try context.json(RolloutListResponse(rollouts: views))
    }

    @Sendable func show(request: Request, context: AloftRequestContext) async throws -> Response {
        try await context.json(decisions.view(decisions.existingRollout(context), withFlash: true))
    }

    // MARK: Rules

    private func deviceID(_ context: AloftRequestContext) throws -> String {
        let id = try context.parameters.require("id")
        try Identifiers.validateDeviceID(id)
        return id
    }

    private func view(_ device: DeviceRecord, context: AloftRequestContext) async throws -> Response {
        try await context.json(decisions.view(device, rollouts: store.rollouts(channel: device.channel), now: clock()))
    }
}
