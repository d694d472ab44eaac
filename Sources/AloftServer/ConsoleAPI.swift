import AloftAPI
import AloftCore
import AloftStore
import Foundation
import HTTPTypes
import Hummingbird

/// The fleet console behind the admin login (docs/console.md): the fleet page, the device list and a device's page, and
/// the rollout buttons. The handlers load, call the core and render ``ConsolePages``; a button does what
/// `POST /api/v1/admin/rollouts/{rollout}/{action}` does, through the same ``FleetDecisions/perform(_:on:context:)``.
struct ConsoleAPI<Store: FleetStore>: Sendable {
    let store: Store
    let decisions: FleetDecisions<Store>
    let clock: @Sendable () -> Date
    let pages = ConsolePages()

    /// Rollouts the fleet page shows, newest first.
    static var rolloutsShown: Int { 8 }
    /// Releases the fleet page lists, newest first.
    static var releasesShown: Int { 20 }

    func addRoutes(to routes: RouteTable) {
        routes.add(.dashboard, use: fleet)
        routes.add(.consoleDevices, use: devices)
        routes.add(.consoleDevice, use: device)
        for (operation, action) in [
            (APIOperation.consolePauseRollout, RolloutAction.pause), (.consoleResumeRollout, .resume), (.consoleAbortRollout, .abort),
        ] {
            routes.add(operation) { request, context in try await act(action, request: request, context: context) }
        }
    }

    @Sendable func fleet(request: Request, context: AloftRequestContext) async throws -> Response {
        let now = clock()
        let census = try await store.deviceCensus()
        var rollouts: [(rollout: Rollout, view: RolloutView)] = []
        for rollout in try await store.rollouts(channel: nil).prefix(Self.rolloutsShown) {
            rollouts.append((rollout, try await decisions.view(rollout)))
        }
        // The newest few, not every release's envelopes (up to a megabyte each) to show twenty.
        let releases = try await store.releases(channel: nil, limit: Self.releasesShown)
        let releaseCount = try await store.releaseCount()
        // After a button, the page says what the rollout is now: read from the store, never echoed from the link.
        var notice: String?
        if let text = request.uri.queryParameters["changed"],
           let changed = try await store.rollout(id: FleetDecisions<Store>.rolloutID(String(text), field: "changed (a rollout id)"))
        {
            notice = "Rollout \(changed.id) (\(changed.version) on \(changed.channel)) is \(changed.status.rawValue)."
        }
        let html = pages.renderFleet(
            census: census, rollouts: rollouts, releases: releases, releaseCount: releaseCount,
            csrf: try ConsoleGuard.formToken(context), notice: notice, now: now)
        return Self.html(html)
    }

    @Sendable func devices(request: Request, context: AloftRequestContext) async throws -> Response {
        let (filters, page) = try Self.filters(request.uri.queryParameters)
        let size = APIOperation.consolePageSize
        let query = DeviceQuery(
            search: filters.q.isEmpty ? nil : filters.q, channel: filters.channel.isEmpty ? nil : filters.channel,
            version: filters.version.isEmpty ? nil : (filters.version == "none" ? "" : filters.version), tag: filters.tag.isEmpty ? nil : filters.tag,
            state: filters.state.isEmpty ? nil : (filters.state == "none" ? "" : filters.state), offset: (page - 1) * size, limit: size)
        let found = try await store.devicePage(query)
        let now = clock()
        let views = try await decisions.views(of: found.devices, now: now)
        let census = try await store.deviceCensus()
        let html = pages.renderDevices(
            devices: zip(found.devices, views).map { ($0, $1.decision ?? DecisionView(offer: nil, reason: "", why: "")) }, total: found.total,
            page: page, filters: filters, channels: Array(Set(census.map(\.channel))).sorted(), states: Array(Set(census.compactMap(\.state))).sorted(),
            now: now)
        return Self.html(html)
    }

    @Sendable func device(request: Request, context: AloftRequestContext) async throws -> Response {
        let device = try await decisions.existingDevice(context)
        let id = device.id
        let now = clock()
        let view = try await decisions.view(device, rollouts: store.rollouts(channel: device.channel), now: now)
        let events = try await store.events(deviceID: id, limit: ConsolePages.historyLimit)
        let downloads = try await store.downloads(deviceID: id, limit: ConsolePages.historyLimit)
        return Self.html(pages.renderDevice(device, view: view, events: events, downloads: downloads, now: now))
    }

    /// A rollout button: refused (403) unless it comes from a page of this console; then the API's action, and back.
    func act(_ action: RolloutAction, request: Request, context: AloftRequestContext) async throws -> Response {
        if let refusal = ConsoleGuard.crossSiteRefusal(
            origin: request.headers[.origin], fetchSite: request.headers[ConsoleGuard.secFetchSite], authority: request.head.authority)
        {
            throw APIError(.forbidden, refusal)
        }
        let body = try await request.collectBody(limit: APIOperation.consolePauseRollout.bodyLimit ?? 1024)
        let presented = ConsoleGuard.field("csrf", in: Array(body.readableBytesView)) ?? ""
        guard Digest.constantTimeEqual(presented, try ConsoleGuard.formToken(context)) else {
            throw APIError(.forbidden, "the form token is missing or wrong: use the buttons of the console's own pages")
        }
        let rollout = try await decisions.perform(action, on: decisions.existingRollout(context), context: context)
        return Response(status: .seeOther, headers: [.location: "/dashboard?changed=\(rollout.id)#rollout-\(rollout.id)"])
    }

    /// The device list's filters from the query, each checked as the API checks it (400 with the rule otherwise).
    static func filters(_ query: Hummingbird.Parameters) throws -> (ConsolePages.Filters, page: Int) {
        func value(_ name: String) -> String { query[Substring(name)].map(String.init)?.trimmingCharacters(in: .whitespaces) ?? "" }
        let filters = ConsolePages.Filters(q: value("q"), channel: value("channel"), version: value("version"), tag: value("tag"), state: value("state"))
        guard filters.q.count <= 64 else { throw APIError.badRequest("q is at most 64 characters") }
        if !filters.channel.isEmpty { try Identifiers.validateChannel(filters.channel) }
        if !filters.version.isEmpty, filters.version != "none" { try AdminAPI<Store>.requireVersion(filters.version) }
        if !filters.tag.isEmpty { try Identifiers.validateTag(filters.tag) }
        if !filters.state.isEmpty,
           !(filters.state.utf8.count <= 32 && filters.state.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || $0 == UInt8(ascii: "_") })
        {
            throw APIError.badRequest("state '\(filters.state.prefix(40))' is not an event type like confirmed or rolled_back")
        }
        var page = 1
        let pageText = value("page")
        if !pageText.isEmpty {
            guard pageText.utf8.count <= 7, let number = Int(pageText), (1...APIOperation.consoleMaxPage).contains(number) else {
                throw APIError.badRequest("page must be a whole number from 1 to \(APIOperation.consoleMaxPage)")
            }
            page = number
        }
        return (filters, page)
    }

    static func html(_ text: String) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(text)
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .contentLength: String(buffer.readableBytes),
                // Not framed by other sites (clickjacking the buttons), not cached by shared caches.
                ConsoleGuard.frameOptions: "DENY", .cacheControl: "no-store",
                .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            ],
            body: .init(byteBuffer: buffer))
    }
}

/// What keeps another site from pressing the console's buttons with the browser's stored admin password (the Basic
/// credentials travel with any request the browser sends to the server, whoever's page sends it).
///
/// Two checks, both needed: the browser's own word on where the request comes from (`Sec-Fetch-Site`, or `Origin`
/// against `Host` when a browser sends no `Sec-Fetch-Site`), and a form token that only the console's pages carry. The
/// token is an HMAC of a constant under the admin token's SHA-256: it needs no server state, so it holds on every server
/// of a fleet, and changes with the admin token.
enum ConsoleGuard {
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let frameOptions = HTTPField.Name("X-Frame-Options")!

    static func formToken(adminTokenHash: String) -> String {
        Digest.hmacSHA256Hex(key: Array(adminTokenHash.utf8), message: Array("aloft console form v1".utf8))
    }

    static func formToken(_ context: AloftRequestContext) throws -> String {
        guard let hash = context.adminTokenHash else { throw APIError(.forbidden, "the console needs an admin token") }
        return formToken(adminTokenHash: hash)
    }

    /// Why the request is refused as cross-site, or nil. A browser's `Sec-Fetch-Site` must be `same-origin`; without it,
    /// an `Origin` must name the `Host` the request was sent to. A client that sends neither (curl) is not a browser
    /// carrying someone's stored password, and is left to the form token.
    static func crossSiteRefusal(origin: String?, fetchSite: String?, authority: String?) -> String? {
        if let fetchSite {
            return fetchSite.lowercased() == "same-origin" ? nil : "refused: this request comes from another site (Sec-Fetch-Site: \(fetchSite.prefix(20)))"
        }
        guard let origin else { return nil }
        let host = origin.lowercased().split(separator: "://", maxSplits: 1).dropFirst().first.map(String.init)
        guard let host, let authority, host == authority.lowercased() else {
            return "refused: this request comes from another site (Origin: \(origin.prefix(80)))"
        }
        return nil
    }

    /// The value of field `name` in an `application/x-www-form-urlencoded` body; nil when it is absent or not UTF-8.
    static func field(_ name: String, in body: [UInt8]) -> String? {
        for pair in body.split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = decode(parts[0]), key == name else { continue }
            return parts.count > 1 ? decode(parts[1]) : ""
        }
        return nil
    }

    private static func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        String(decoding: bytes.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 }, as: UTF8.self).removingPercentEncoding
    }
}
