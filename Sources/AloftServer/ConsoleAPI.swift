import AloftAPI
import AloftCore
import AloftStore
import Foundation
import HTTPTypes
import Hummingbird

/// The fleet console behind the admin login (docs/console.md): the fleet page, the device list, a device's page and a
/// release's page, and the forms that act on rollouts and devices. The handlers load, call the core and render
/// ``ConsolePages``; a form parses its fields into the request the API takes and calls the same function the API's
/// handler does (``RolloutAPI``, ``AccessAPI``, ``FleetDecisions``), so the two cannot act differently.
///
/// Every form goes through ``form(_:request:context:)`` (``ConsoleGuard``'s checks), and every error on a console route
/// is an HTML page with its status (``ConsoleErrorPages``), never the API's JSON.
struct ConsoleAPI<Store: FleetStore>: Sendable {
    let store: Store
    let decisions: FleetDecisions<Store>
    let clock: @Sendable () -> Date
    let pages = ConsolePages()
    var rollouts: RolloutAPI<Store> { RolloutAPI(store: store, decisions: decisions, clock: clock) }
    var access: AccessAPI<Store> { AccessAPI(store: store) }

    /// Rollouts the fleet page shows, newest first.
    static var rolloutsShown: Int { 8 }
    /// Releases the fleet page lists, newest first.
    static var releasesShown: Int { 20 }
    /// Devices a release's page lists; the device list has them all.
    static var releaseDevicesShown: Int { 50 }

    func addRoutes(to routes: RouteTable) {
        routes.add(.dashboard, use: fleet)
        routes.add(.consoleDevices, use: devices)
        routes.add(.consoleDevice, use: device)
        routes.add(.consoleRelease, use: release)
        for (operation, action) in [
            (APIOperation.consolePauseRollout, RolloutAction.pause), (.consoleResumeRollout, .resume), (.consoleAbortRollout, .abort),
        ] {
            routes.add(operation) { request, context in try await act(action, operation: operation, request: request, context: context) }
        }
        routes.add(.consoleStartRollout, use: startRollout)
        routes.add(.consoleTagDevice, use: tag)
        routes.add(.consolePinDevice, use: pin)
        routes.add(.consoleUnpinDevice, use: unpin)
        routes.add(.consoleRevokeDevice, use: revoke)
        routes.add(.consoleNewDeviceToken, use: newToken)
        routes.add(.consoleRetryDevice, use: retry)
    }

    // MARK: Pages

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
        // After a form, the page says what the rollout is now: read from the store, never echoed from the link.
        var notice: String?
        if let text = request.uri.queryParameters["changed"],
           let changed = try await store.rollout(id: FleetDecisions<Store>.rolloutID(String(text), field: "changed (a rollout id)"))
        {
            notice = "Rollout \(changed.id) (\(changed.version) on \(changed.channel)) is \(changed.status.rawValue), in phase \(changed.phase + 1) of "
                + "\(changed.policy.phases.count)."
        }
        let html = pages.renderFleet(
            census: census, rollouts: rollouts, releases: releases, releaseCount: releaseCount,
            csrf: try ConsoleGuard.formToken(context), notice: notice, now: now)
        return .consolePage(html)
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
        return .consolePage(html)
    }

    @Sendable func device(request: Request, context: AloftRequestContext) async throws -> Response {
        let device = try await decisions.existingDevice(context)
        let id = device.id
        let now = clock()
        var notice: String?
        if let text = request.uri.queryParameters["changed"] {
            guard let change = APIOperation.ConsoleChange(rawValue: String(text)) else {
                throw APIError.badRequest("changed must be one of \(APIOperation.ConsoleChange.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            notice = Self.notice(change, device)
        }
        let view = try await decisions.view(device, rollouts: store.rollouts(channel: device.channel), now: now)
        let events = try await store.events(deviceID: id, limit: ConsolePages.historyLimit)
        let downloads = try await store.downloads(deviceID: id, limit: ConsolePages.historyLimit)
        let releases = try await store.releases(channel: device.channel, limit: Self.releasesShown).map(\.version)
        return Response.consolePage(
            pages.renderDevice(
                device, view: view, events: events, downloads: downloads, csrf: try ConsoleGuard.formToken(context), notice: notice, releases: releases,
                now: now))
    }

    /// What a device's form changed, as the store has it now (never echoed from the link).
    static func notice(_ change: APIOperation.ConsoleChange, _ device: DeviceRecord) -> String {
        switch change {
        case .tags:
            device.tags.isEmpty ? "Device \(device.id) has no tags now." : "Device \(device.id) is tagged \(device.tags.joined(separator: ", ")) now."
        case .pin: device.pin.map { "Device \(device.id) is pinned to \($0)." } ?? "Device \(device.id) is not pinned."
        case .retried:
            "Device \(device.id) has no failed release remembered: its next check-in is offered what the channel has for it (Offered now)."
        case .revoked:
            device.revokedAt.map { "Device \(device.id)'s token is revoked since \(rfc3339($0)): its requests get 401 until it has a new token." }
                ?? "Device \(device.id)'s token is not revoked."
        }
    }

    @Sendable func release(request: Request, context: AloftRequestContext) async throws -> Response {
        let channel = try context.parameters.require("channel")
        try Identifiers.validateChannel(channel)
        let version = try context.parameters.require("version")
        try AdminAPI<Store>.requireVersion(version)
        guard let release = try await store.release(channel: channel, version: version) else {
            throw APIError.notFound("channel '\(channel)' has no release \(version)")
        }
        let onIt = try await store.devicePage(DeviceQuery(channel: channel, version: version, limit: Self.releaseDevicesShown))
        let failures = try await store.releaseFailures(channel: channel, sequence: release.sequence)
        let rollouts = try await store.rollouts(channel: channel).filter { $0.sequence == release.sequence }
        return Response.consolePage(
            pages.renderRelease(
                release, devices: onIt.devices, deviceTotal: onIt.total, failures: failures, rollouts: rollouts, csrf: try ConsoleGuard.formToken(context),
                now: clock()))
    }

    // MARK: Forms

    /// A rollout button: the API's action, and back to the fleet page at the rollout.
    func act(_ action: RolloutAction, operation: APIOperation, request: Request, context: AloftRequestContext) async throws -> Response {
        _ = try await form(operation, request: request, context: context)
        let rollout = try await decisions.perform(action, on: decisions.existingRollout(context), context: context)
        return Self.redirect("/dashboard?changed=\(rollout.id)#rollout-\(rollout.id)")
    }

    @Sendable func startRollout(request: Request, context: AloftRequestContext) async throws -> Response {
        let form = try await form(.consoleStartRollout, request: request, context: context)
        let rollout = try await rollouts.start(Self.rolloutRequest(form), context: context)
        return Self.redirect("/dashboard?changed=\(rollout.id)#rollout-\(rollout.id)")
    }

    @Sendable func tag(request: Request, context: AloftRequestContext) async throws -> Response {
        let form = try await form(.consoleTagDevice, request: request, context: context)
        let body = DeviceTagsRequest(add: Self.list(form["add"]), remove: Self.list(form["remove"]))
        guard !(body.add ?? []).isEmpty || !(body.remove ?? []).isEmpty else { throw APIError.badRequest("name a tag to add or to remove") }
        let device = try await rollouts.tag(decisions.existingDevice(context), body)
        return Self.redirect(device, .tags)
    }

    @Sendable func pin(request: Request, context: AloftRequestContext) async throws -> Response {
        let form = try await form(.consolePinDevice, request: request, context: context)
        let device = try await rollouts.pin(decisions.existingDevice(context), DevicePinRequest(version: form["version"]))
        return Self.redirect(device, .pin)
    }

    @Sendable func unpin(request: Request, context: AloftRequestContext) async throws -> Response {
        _ = try await form(.consoleUnpinDevice, request: request, context: context)
        return Self.redirect(try await rollouts.unpin(decisions.existingDevice(context).id), .pin)
    }

    @Sendable func revoke(request: Request, context: AloftRequestContext) async throws -> Response {
        _ = try await form(.consoleRevokeDevice, request: request, context: context)
        let device = try await decisions.existingDevice(context)
        try await access.revokeDevice(id: device.id, context: context)
        return Self.redirect(device, .revoked)
    }

    @Sendable func retry(request: Request, context: AloftRequestContext) async throws -> Response {
        _ = try await form(.consoleRetryDevice, request: request, context: context)
        let device = try await decisions.existingDevice(context)
        _ = try await rollouts.retry(device, version: nil, context: context)
        return Self.redirect(device, .retried)
    }

    /// The new token is the answer's body, this once: a redirect would have to carry it in a URL (history, logs).
    @Sendable func newToken(request: Request, context: AloftRequestContext) async throws -> Response {
        _ = try await form(.consoleNewDeviceToken, request: request, context: context)
        let device = try await decisions.existingDevice(context)
        let token = try await access.newDeviceToken(id: device.id, context: context)
        return Response.consolePage(pages.renderNewToken(device: device.id, token: token, now: clock()))
    }

    /// The fields of a console form, after ``ConsoleGuard``'s checks: refused (403) unless the request comes from a page of
    /// this console with its form token; the body at most the operation's limit (413) and UTF-8 (400).
    func form(_ operation: APIOperation, request: Request, context: AloftRequestContext) async throws -> ConsoleForm {
        if let refusal = ConsoleGuard.crossSiteRefusal(
            origin: request.headers[.origin], fetchSite: request.headers[ConsoleGuard.secFetchSite], authority: request.head.authority)
        {
            throw APIError(.forbidden, refusal)
        }
        let body = try await request.collectBody(limit: operation.bodyLimit ?? 1024)
        let form = try ConsoleForm(Array(body.readableBytesView))
        guard Digest.constantTimeEqual(form["csrf"], try ConsoleGuard.formToken(context)) else {
            throw APIError(.forbidden, "the form token is missing or wrong: use the forms of the console's own pages")
        }
        return form
    }

    /// The rollout form as the API's request: lists comma- or space-separated, the soak as `aloft rollout start` takes it
    /// (`90s`, `30m`, `1h`, `2d`, a bare number is seconds); empty fields absent, so the API's defaults apply.
    static func rolloutRequest(_ form: ConsoleForm) throws -> StartRolloutRequest {
        func optional(_ name: String) -> String? { form[name].isEmpty ? nil : form[name] }
        func number(_ name: String, _ rule: String) throws -> Int? {
            guard let text = optional(name) else { return nil }
            guard text.utf8.count <= 7, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(text) else {
                throw APIError.badRequest("\(rule), got '\(text.prefix(40))'")
            }
            return value
        }
        var phases: [Int]?
        if let list = list(form["phases"]) {
            phases = try list.map { text in
                guard text.utf8.count <= 3, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let percent = Int(text) else {
                    throw APIError.badRequest("phases are cumulative percentages separated by commas, like 10,50,100; got '\(text.prefix(40))'")
                }
                return percent
            }
        }
        guard !form["channel"].isEmpty else { throw APIError.badRequest("the form has no channel") }
        guard !form["version"].isEmpty else { throw APIError.badRequest("the form has no version") }
        let manual = form["manual"]
        guard ["", "on", "true", "1"].contains(manual) else { throw APIError.badRequest("manual is a checkbox: on, or absent") }
        return StartRolloutRequest(
            channel: form["channel"], version: form["version"], phases: phases, tags: list(form["tags"]), boards: list(form["boards"]),
            devices: list(form["devices"]), maxFailures: optional("maxFailures"),
            minDevices: try number("minDevices", "min devices is a whole number from 1 to 1000000"),
            soak: try optional("soak").map { text throws(AloftError) in try RolloutPolicy.parseDuration(text) }, window: optional("window"),
            manual: manual.isEmpty ? nil : true)
    }

    /// The items of a list field: comma- or space-separated; nil when there are none.
    static func list(_ text: String) -> [String]? {
        let items = text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }).map(String.init)
        return items.isEmpty ? nil : items
    }

    /// Post/Redirect/Get: a reload of the page the browser lands on does not post the form again.
    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    static func redirect(_ device: DeviceRecord, _ change: APIOperation.ConsoleChange) -> Response {
        redirect("/dashboard/devices/\(device.id)?changed=\(change.rawValue)")
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

}

extension Response {
    /// A page of the console: HTML, never framed by another site (clickjacking the buttons), never cached (a page may
    /// show a device's new token), no script.
    static func consolePage(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(html)
        return Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .contentLength: String(buffer.readableBytes), ConsoleGuard.frameOptions: "DENY",
                .cacheControl: "no-store",
                .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            ],
            body: .init(byteBuffer: buffer))
    }
}

/// Errors of the console's routes as HTML pages, with the status and the headers the API would give (a 401's
/// `WWW-Authenticate` among them, so the browser still asks for the login) and a link back; the rest of the API keeps
/// its JSON. It runs outside authentication, on the admin routes, and looks only at the console's operations.
struct ConsoleErrorPages: RouterMiddleware {
    typealias Context = AloftRequestContext

    let clock: @Sendable () -> Date
    let pages = ConsolePages()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let method = APIOperation.Method(rawValue: request.method.rawValue),
              let operation = APIOperation.operation(method, at: request.uri.path), operation.tag == .console
        else {
            return try await next(request, context)
        }
        do {
            return try await next(request, context)
        } catch {
            let back = Self.back(operation, context: context)
            guard let apiError = APIError.from(error) else {
                context.logger.error("console request failed", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
                return Response.consolePage(
                    pages.renderError(status: 500, message: "internal error; the server log has details", back: back, now: clock()),
                    status: .internalServerError)
            }
            // The API's 401 speaks of headers; a person at a browser is asked for a password.
            let message = apiError.status == .unauthorized
                ? "log in with any user name and an admin token as the password (\(apiError.message))" : apiError.message
            var response = Response.consolePage(
                pages.renderError(status: apiError.status.code, message: message, back: back, now: clock()), status: apiError.status)
            for field in apiError.headers { response.headers.append(field) }
            return response
        }
    }

    /// Where an error page links back to: the device page a device's form is on, the list a missing page is in, the fleet.
    static func back(_ operation: APIOperation, context: Context) -> String {
        if operation.method == .post, let id = context.parameters.get("id"), (try? Identifiers.validateDeviceID(id)) != nil {
            return "/dashboard/devices/" + id
        }
        return operation.path.hasPrefix("/dashboard/devices") ? "/dashboard/devices" : "/dashboard"
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
}

/// The fields of an `application/x-www-form-urlencoded` body, the first of each name; a field that is absent reads as
/// empty, as a form's empty input does. A body that is not UTF-8 once decoded is refused (400), never guessed at.
struct ConsoleForm: Sendable {
    let fields: [String: String]

    init(_ body: [UInt8]) throws {
        var fields: [String: String] = [:]
        for pair in body.split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = Self.decode(parts[0]), let value = parts.count > 1 ? Self.decode(parts[1]) : "" else {
                throw APIError.badRequest("the form is not UTF-8 text in application/x-www-form-urlencoded")
            }
            if fields[key] == nil { fields[key] = value }
        }
        self.fields = fields
    }

    /// The field, spaces around it trimmed; empty when absent.
    subscript(_ name: String) -> String { fields[name]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }

    /// `+` is a space and `%XX` a byte; the bytes must be UTF-8.
    private static func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex,
                      let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2])
                else { return nil }
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
