import AloftCore

// The operations of the API, as docs/protocol.md describes them; ``APIOperation/all`` lists every one.

extension APIOperation {
    /// Every operation the server serves, in the order of docs/protocol.md.
    public static let all: [APIOperation] = [
        checkIn, reportEvent, enroll, blob, zlibBlob,
        missingBlobs, putBlob, publishRelease, listReleases, channel,
        release, createDevice, listDevices, device, deviceEvents, deviceDownloads, tagDevice, pinDevice, unpinDevice, retryDevice,
        startRollout, listRollouts, rollout, pauseRollout, resumeRollout, abortRollout, revokeDevice, reissueDeviceToken,
        listAdminTokens, createAdminToken, revokeAdminToken, listEnrollments, createEnrollment, revokeEnrollment,
        dashboard, consoleDevices, consoleDevice, consolePauseRollout, consoleResumeRollout, consoleAbortRollout, consoleStartRollout,
        consoleRelease, consoleTagDevice, consolePinDevice, consoleUnpinDevice, consoleRevokeDevice, consoleNewDeviceToken, consoleRetryDevice,
        metrics, health, openAPIDocument,
    ]

    // MARK: Device API

    public static let checkIn = APIOperation(
        id: "checkIn", .post, "/api/v1/device/checkin", access: .device, tag: .device,
        summary: "Report what the device runs; the answer is nothing to do, or the signed release to install.",
        body: .json(.ref(CheckInRequest.self)), bodyLimit: BodyLimit.json,
        answers: [
            .json(200, "What to do, and when to check in again.", CheckInResponse.self),
            .error(403, "The body's `id` is not the token's device."),
        ])

    public static let reportEvent = APIOperation(
        id: "reportEvent", .post, "/api/v1/device/events", access: .device, tag: .device,
        summary: "Report something that happened to a release on the device; history, not what the device runs.",
        body: .json(.ref(EventRequest.self)), bodyLimit: BodyLimit.json,
        answers: [
            Response(204, "Recorded."),
            .error(403, "The body's `id` is not the token's device."),
        ])

    public static let enroll = APIOperation(
        id: "enroll", .post, "/api/v1/device/enroll", access: .enrollment, tag: .device,
        summary: "A board of a generic image registers itself on the enrollment's channel and gets its own token.",
        body: .json(.ref(EnrollRequest.self)), bodyLimit: BodyLimit.json,
        answers: [
            .json(201, "Registered; the token is shown this once.", CreatedDeviceResponse.self),
            .error(409, "A device has this id."),
        ])

    public static let blob = APIOperation(
        id: "getBlob", .get, "/api/v1/blobs/{sha256}", access: .deviceOrAdmin, tag: .blobs,
        summary: "A blob's bytes; its zlib form instead (Content-Encoding: deflate) to a request that accepts deflate and has no Range.",
        parameters: blobParameters + [
            .header("Accept-Encoding", "With `deflate` (q above 0) and no Range: the zlib form (1 KiB window) when the server has one.")
        ],
        answers: blobAnswers(form: "the blob", negotiated: true))

    public static let zlibBlob = APIOperation(
        id: "getZlibBlob", .get, "/api/v1/blobs/{sha256}/zlib", access: .deviceOrAdmin, tag: .blobs,
        summary: "The zlib form of a blob alone, for agents before 0.3.0 (404 when there is none).",
        parameters: blobParameters, answers: blobAnswers(form: "the zlib form", negotiated: false))

    // MARK: Management API

    public static let missingBlobs = APIOperation(
        id: "missingBlobs", .post, "/api/v1/admin/blobs/missing", access: .admin, tag: .management,
        summary: "Which of these blobs the server lacks.",
        body: .json(.ref(MissingBlobsRequest.self)), bodyLimit: BodyLimit.json,
        answers: [.json(200, "The ones it lacks, each once, in the order asked.", MissingBlobsResponse.self)])

    public static let putBlob = APIOperation(
        id: "putBlob", .put, "/api/v1/admin/blobs/{sha256}", access: .admin, tag: .management,
        summary: "Upload a blob; the server keeps its zlib form too when that is smaller.",
        parameters: [.path("sha256", .sha256, "SHA-256 of the bytes sent; 400 when they hash to something else.")],
        body: .bytes, bodyLimit: BodyLimit.blob,
        answers: [
            .json(200, "The server had it already.", StoredBlobResponse.self),
            .json(201, "Stored.", StoredBlobResponse.self),
        ])

    public static let publishRelease = APIOperation(
        id: "publishRelease", .post, "/api/v1/admin/releases", access: .admin, tag: .management,
        summary: "Publish a signed format-2 release, with its format-1 legacy envelope when agents before 0.3.0 can take it.",
        body: .json(.ref(ReleasePublication.self)), bodyLimit: BodyLimit.releaseEnvelope,
        answers: [
            .json(200, "This version was published on the channel with the same files before: nothing changed (`alreadyPublished`).", PublishedReleaseResponse.self),
            .json(201, "Published.", PublishedReleaseResponse.self),
            .error(
                409,
                "The channel has this version with other files, the sequence is not above the channel's latest or above one a device of "
                    + "the channel reported (its `next` says the lowest that is), or blobs are missing: "
                    + "`missing` lists them (the file list alone while it is missing)."),
        ])

    public static let listReleases = APIOperation(
        id: "listReleases", .get, "/api/v1/admin/releases", access: .admin, tag: .management,
        summary: "Published releases, newest first.",
        parameters: [.query("channel", .channel, "Only this channel's releases.")],
        answers: [.json(200, "The releases.", ReleaseListResponse.self)])

    public static let channel = APIOperation(
        id: "getChannel", .get, "/api/v1/admin/channels/{channel}", access: .admin, tag: .management,
        summary: "A channel's newest release.",
        parameters: [.path("channel", .channel, "The channel.")],
        answers: [.json(200, "The channel; `latest` is null when nothing was published on it.", ChannelResponse.self)])

    public static let createDevice = APIOperation(
        id: "createDevice", .post, "/api/v1/admin/devices", access: .admin, tag: .management,
        summary: "Register a device on a channel; its token is shown this once.",
        body: .json(.ref(CreateDeviceRequest.self)), bodyLimit: BodyLimit.json,
        answers: [
            .json(201, "Registered.", CreatedDeviceResponse.self),
            .error(409, "A device has this id."),
        ])

    public static let release = APIOperation(
        id: "getRelease", .get, "/api/v1/admin/channels/{channel}/releases/{version}", access: .admin, tag: .management,
        summary: "A release of a channel with its signed envelopes, for re-signing it for another channel (`aloft release promote`).",
        parameters: [.path("channel", .channel, "The channel."), .path("version", .semanticVersion, "The release's version.")],
        answers: [.json(200, "The release.", ReleaseEnvelopeResponse.self), .error(404, "The channel has no release of this version.")])

    public static let listDevices = APIOperation(
        id: "listDevices", .get, "/api/v1/admin/devices", access: .admin, tag: .management,
        summary:
            "Devices, sorted by id, a page at a time (follow `next`), each with what its next check-in would be offered and why; filtered by tag, channel and version.",
        parameters: [
            .query("tag", .tag, "Only devices with this tag."), .query("channel", .channel, "Only devices of this channel."),
            .query("version", .semanticVersion, "Only devices running this version."),
            .query("after", .deviceID, "Only devices whose id sorts after this one: the `next` of the page before."),
            .query("limit", .integer(minimum: 1, maximum: DeviceListResponse.maxPage), "Devices a page (default and most: 1000)."),
        ],
        answers: [.json(200, "One page of the devices.", DeviceListResponse.self)])

    public static let tagDevice = APIOperation(
        id: "tagDevice", .post, "/api/v1/admin/devices/{id}/tags", access: .admin, tag: .management,
        summary: "Add tags to a device and remove others (removal last).", parameters: [deviceIDParameter],
        body: .json(.ref(DeviceTagsRequest.self)), bodyLimit: BodyLimit.json,
        answers: [.json(200, "The device, with its tags.", DeviceView.self), noDevice])

    public static let pinDevice = APIOperation(
        id: "pinDevice", .put, "/api/v1/admin/devices/{id}/pin", access: .admin, tag: .management,
        summary: "Hold a device on a release of its channel: it is offered that one (when newer than what it runs) and no other.",
        parameters: [deviceIDParameter], body: .json(.ref(DevicePinRequest.self)), bodyLimit: BodyLimit.json,
        answers: [.json(200, "The device, pinned.", DeviceView.self), .error(404, "No device has this id, or its channel has no release of this version.")])

    public static let unpinDevice = APIOperation(
        id: "unpinDevice", .delete, "/api/v1/admin/devices/{id}/pin", access: .admin, tag: .management,
        summary: "Unpin a device (unpinned already is fine).", parameters: [deviceIDParameter],
        answers: [.json(200, "The device, unpinned.", DeviceView.self), noDevice])

    public static let retryDevice = APIOperation(
        id: "retryDevice", .post, "/api/v1/admin/devices/{id}/retry", access: .admin, tag: .management,
        summary:
            "Forget a device's failures (docs/protocol.md, \"Failures\"), with every release or with `version`: its next check-in is offered a release it failed for a lasting reason, or backs off no more.",
        parameters: [deviceIDParameter, .query("version", .semanticVersion, "Only the failures with this release of the device's channel.")],
        answers: [
            .json(200, "Forgotten (none to forget is fine); the device as its next check-in sees it.", DeviceRetryResponse.self),
            .error(404, "No device has this id, or its channel has no release of this version."),
        ])

    public static let startRollout = APIOperation(
        id: "startRollout", .post, "/api/v1/admin/rollouts", access: .admin, tag: .management,
        summary: "Start a staged rollout of a release of a channel to a target, in phases, halting at its failure limit.",
        body: .json(.ref(StartRolloutRequest.self)), bodyLimit: BodyLimit.json,
        answers: [
            .json(201, "Started: running, in phase 1.", RolloutView.self),
            .error(404, "The channel has no release of this version."),
            .error(409, "Another rollout of the channel is running or paused."),
        ])

    public static let listRollouts = APIOperation(
        id: "listRollouts", .get, "/api/v1/admin/rollouts", access: .admin, tag: .management,
        summary: "Rollouts, newest first, with their devices per phase.",
        parameters: [.query("channel", .channel, "Only this channel's rollouts.")],
        answers: [.json(200, "The rollouts.", RolloutListResponse.self)])

    public static let rollout = APIOperation(
        id: "getRollout", .get, "/api/v1/admin/rollouts/{rollout}", access: .admin, tag: .management,
        summary: "A rollout: where it stands, why it halted, and per phase devices offered, downloading, installed, confirmed, failed, rolled back.",
        parameters: [rolloutIDParameter], answers: [.json(200, "The rollout.", RolloutView.self), noRollout])

    public static let pauseRollout = rolloutAction(
        "pauseRollout", "pause", summary: "Pause a running rollout: no new device is offered its release until it resumes.",
        refusal: "The rollout is not running.")

    public static let resumeRollout = rolloutAction(
        "resumeRollout", "resume", summary: "Resume a paused rollout, or start the next phase of one whose phase is done (manual, or soaking).",
        refusal: "Nothing to resume: the rollout halted, ended, or its phase is not done.")

    public static let abortRollout = rolloutAction(
        "abortRollout", "abort", summary: "Abort a rollout for good: no new device is offered its release; devices on it stay on it.",
        refusal: "The rollout is aborted or completed already.")

    public static let device = APIOperation(
        id: "getDevice", .get, "/api/v1/admin/devices/{id}", access: .admin, tag: .management,
        summary: "One device.", parameters: [deviceIDParameter],
        answers: [.json(200, "The device.", DeviceView.self), noDevice])

    public static let deviceEvents = APIOperation(
        id: "listDeviceEvents", .get, "/api/v1/admin/devices/{id}/events", access: .admin, tag: .management,
        summary: "A device's events, newest first, as long as `aloft serve --history-days` keeps them.",
        parameters: [deviceIDParameter, limitParameter],
        answers: [.json(200, "The events.", EventListResponse.self), noDevice])

    public static let deviceDownloads = APIOperation(
        id: "listDeviceDownloads", .get, "/api/v1/admin/devices/{id}/downloads", access: .admin, tag: .management,
        summary: "Every blob request the device made, newest first, as long as `aloft serve --history-days` keeps them.",
        parameters: [deviceIDParameter, limitParameter],
        answers: [.json(200, "The blob requests.", DownloadListResponse.self), noDevice])

    public static let revokeDevice = APIOperation(
        id: "revokeDevice", .post, "/api/v1/admin/devices/{id}/revoke", access: .admin, tag: .access,
        summary: "Revoke a device's token: it gets 401 from the next request on.", parameters: [deviceIDParameter],
        answers: [Response(204, "Revoked."), noDevice])

    public static let reissueDeviceToken = APIOperation(
        id: "reissueDeviceToken", .post, "/api/v1/admin/devices/{id}/token", access: .admin, tag: .access,
        summary: "A new token for a device, shown this once; the old one stops working and a revoked device works again.",
        parameters: [deviceIDParameter],
        answers: [.json(200, "The new token.", DeviceTokenResponse.self), noDevice])

    public static let listAdminTokens = APIOperation(
        id: "listAdminTokens", .get, "/api/v1/admin/tokens", access: .admin, tag: .access,
        summary: "Stored admin tokens, sorted by name; never the tokens themselves.",
        answers: [.json(200, "The tokens.", AdminTokenListResponse.self)])

    public static let createAdminToken = APIOperation(
        id: "createAdminToken", .post, "/api/v1/admin/tokens", access: .admin, tag: .access,
        summary: "Make a named admin token, shown this once.",
        body: .json(.ref(CreateAdminTokenRequest.self)), bodyLimit: BodyLimit.json,
        answers: [
            .json(201, "Made.", CreatedAdminTokenResponse.self),
            .error(409, "A token has this name, or it is `bootstrap`."),
        ])

    public static let revokeAdminToken = APIOperation(
        id: "revokeAdminToken", .delete, "/api/v1/admin/tokens/{name}", access: .admin, tag: .access,
        summary: "Revoke a stored admin token: it gets 401 from the next request on.",
        parameters: [.path("name", .name, "The token's name.")],
        answers: [Response(204, "Revoked."), .error(404, "No stored token has this name.")])

    public static let listEnrollments = APIOperation(
        id: "listEnrollments", .get, "/api/v1/admin/enrollments", access: .admin, tag: .access,
        summary: "Enrollments, sorted by name; never the secrets.",
        answers: [.json(200, "The enrollments.", EnrollmentListResponse.self)])

    public static let createEnrollment = APIOperation(
        id: "createEnrollment", .post, "/api/v1/admin/enrollments", access: .admin, tag: .access,
        summary: "Make an enrollment: a secret, shown this once, that boards of a generic image register themselves with.",
        body: .json(.ref(CreateEnrollmentRequest.self)), bodyLimit: BodyLimit.json,
        answers: [
            .json(201, "Made.", CreatedEnrollmentResponse.self),
            .error(409, "An enrollment has this name."),
        ])

    public static let revokeEnrollment = APIOperation(
        id: "revokeEnrollment", .delete, "/api/v1/admin/enrollments/{name}", access: .admin, tag: .access,
        summary: "Revoke an enrollment: its secret gets 401 from then on; devices it enrolled keep working.",
        parameters: [.path("name", .name, "The enrollment's name.")],
        answers: [Response(204, "Revoked."), .error(404, "No enrollment has this name.")])

    // MARK: Console

    public static let dashboard = APIOperation(
        id: "dashboard", .get, "/dashboard", access: .admin, tag: .console,
        summary: "The fleet: devices per release and per state, rollouts with their phases and buttons, the form that starts one, releases.",
        parameters: [.query("changed", .integer(minimum: 1, maximum: Int.max), "A rollout a form just changed: the page says what it is now.")],
        answers: [consolePage, consoleError(400, "`changed` is not a rollout id."), consoleLogin])

    public static let consoleDevices = APIOperation(
        id: "consoleDevices", .get, "/dashboard/devices", access: .admin, tag: .console,
        summary: "The devices, \(consolePageSize) a page, sorted by id: search by id, filter by channel, version, tag and last state.",
        parameters: [
            .query("q", .string(maxLength: 64), "Part of the id, any case."),
            .query("channel", .string(maxLength: 32), "Only this channel (empty: any)."),
            .query("version", .string(maxLength: 64), "Only devices on this version; `none` for nothing installed (empty: any)."),
            .query("tag", .string(maxLength: 32), "Only devices with this tag (empty: any)."),
            .query("state", .string(maxLength: 32), "Only devices whose last event is of this type; `none` for no event yet (empty: any)."),
            .query("page", .integer(minimum: 1, maximum: consoleMaxPage), "1-based; a page past the last shows none."),
        ],
        answers: [consolePage, consoleError(400, "A filter breaks its rule; the page names it."), consoleLogin])

    public static let consoleDevice = APIOperation(
        id: "consoleDevice", .get, "/dashboard/devices/{id}", access: .admin, tag: .console,
        summary: "One device: what it runs, what it would be offered and why, its events and blob downloads (newest first), and its forms.",
        parameters: [
            deviceIDParameter,
            .query("changed", .string(oneOf: ConsoleChange.allCases.map(\.rawValue)), "What a form just changed: the page says what it is now."),
        ],
        answers: [consolePage, consoleError(400, "The id is not a device id, or `changed` is not one of its values."), consoleNoDevice, consoleLogin])

    public static let consoleRelease = APIOperation(
        id: "consoleRelease", .get, "/dashboard/channels/{channel}/releases/{version}", access: .admin, tag: .console,
        summary: "One release: its files and size, firmware images, the devices on it, and its failures and rollbacks grouped by reason.",
        parameters: [.path("channel", .channel, "The channel."), .path("version", .semanticVersion, "The release's version.")],
        answers: [
            consolePage, consoleError(400, "The channel or the version breaks its rule."), consoleError(404, "The channel has no release of this version."),
            consoleLogin,
        ])

    public static let consolePauseRollout = consoleRolloutAction("consolePauseRollout", "pause")
    public static let consoleResumeRollout = consoleRolloutAction("consoleResumeRollout", "resume")
    public static let consoleAbortRollout = consoleRolloutAction("consoleAbortRollout", "abort")

    public static let consoleStartRollout = consoleForm(
        id: "consoleStartRollout", "/dashboard/rollouts",
        summary: "The fleet page's rollout form: as `POST /api/v1/admin/rollouts`, its lists comma- or space-separated in one field each.",
        fields: [
            "channel": .channel, "version": .semanticVersion, "phases": .string(maxLength: 200), "tags": .string(maxLength: 2000),
            "boards": .string(maxLength: 2000), "devices": .string(maxLength: 24000), "maxFailures": .string(maxLength: 16),
            "minDevices": .string(maxLength: 8), "soak": .string(maxLength: 16), "window": .string(maxLength: 64), "manual": .string(maxLength: 8),
        ],
        required: ["channel", "version"], bodyLimit: 32 * 1024, done: "Started; to the fleet page, at the rollout.",
        refusals: [
            consoleError(404, "The channel has no release of this version."),
            consoleError(409, "Another rollout of the channel is running or paused."),
        ])

    public static let consoleTagDevice = consoleDeviceForm(
        "consoleTagDevice", "tags", summary: "The device page's tag form: as `POST /api/v1/admin/devices/{id}/tags`, tags comma- or space-separated.",
        fields: ["add": .string(maxLength: 2000), "remove": .string(maxLength: 2000)])

    public static let consolePinDevice = consoleDeviceForm(
        "consolePinDevice", "pin", summary: "The device page's pin form: as `PUT /api/v1/admin/devices/{id}/pin`.", fields: ["version": .semanticVersion],
        required: ["version"], notFound: "No device has this id, or its channel has no release of this version.")

    public static let consoleUnpinDevice = consoleDeviceForm(
        "consoleUnpinDevice", "unpin", summary: "The device page's unpin button: as `DELETE /api/v1/admin/devices/{id}/pin`.")

    public static let consoleRevokeDevice = consoleDeviceForm(
        "consoleRevokeDevice", "revoke", summary: "The device page's revoke button: as `POST /api/v1/admin/devices/{id}/revoke`.")

    public static let consoleRetryDevice = consoleDeviceForm(
        "consoleRetryDevice", "retry",
        summary: "The device page's retry button: as `POST /api/v1/admin/devices/{id}/retry`, the failures of every release it failed forgotten.")

    public static let consoleNewDeviceToken = APIOperation(
        id: "consoleNewDeviceToken", .post, "/dashboard/devices/{id}/token", access: .admin, tag: .console,
        summary: "The device page's new-token button: as `POST /api/v1/admin/devices/{id}/token`; the page shows the token this once.",
        parameters: [deviceIDParameter], body: .form(.object(required: ["csrf": .string(maxLength: 128)])), bodyLimit: 1024,
        answers: [
            Response(200, "An HTML page with the new token, not cached; it is never in a URL.", .text(mediaType: "text/html")),
            consoleNotFromConsole, consoleNoDevice, consoleError(400, "The id is not a device id, or the form is not UTF-8."), consoleTooLarge(1024),
            consoleLogin,
        ])

    /// What a device page's `?changed=` names: the form just used, whose result the page then reads from the store.
    public enum ConsoleChange: String, Sendable, CaseIterable {
        case tags
        case pin
        case revoked
        case retried
    }

    /// Devices on one page of ``consoleDevices``.
    public static let consolePageSize = 50
    public static let consoleMaxPage = 1_000_000

    // MARK: Service

    public static let metrics = APIOperation(
        id: "metrics", .get, "/metrics", access: .admin, tag: .service, summary: "Prometheus metrics.",
        answers: [Response(200, "The Prometheus text exposition format.", .text(mediaType: "text/plain"))])

    public static let health = APIOperation(
        id: "health", .get, "/healthz", access: .anyone, tag: .service, summary: "Whether the server is up.",
        answers: [.json(200, "Up.", HealthResponse.self)])

    public static let openAPIDocument = APIOperation(
        id: "openAPIDocument", .get, "/api/v1/openapi.json", access: .anyone, tag: .service,
        summary: "This document: the device and management APIs in OpenAPI 3.1.",
        answers: [Response(200, "The document.", .json(JSONSchema(["type": "object"])))])

    // MARK: Shared parts

    static var deviceIDParameter: Parameter { .path("id", .deviceID, "The device's id.") }

    static var limitParameter: Parameter { .query("limit", .integer(minimum: 1, maximum: Int.max), "Only the newest this many.") }

    static var noDevice: Response { .error(404, "No device has this id.") }

    static var rolloutIDParameter: Parameter { .path("rollout", .integer(minimum: 1, maximum: Int.max), "The rollout's id.") }

    static var noRollout: Response { .error(404, "No rollout has this id.") }

    static func rolloutAction(_ id: String, _ verb: String, summary: String, refusal: String) -> APIOperation {
        APIOperation(
            id: id, .post, "/api/v1/admin/rollouts/{rollout}/\(verb)", access: .admin, tag: .management, summary: summary,
            parameters: [rolloutIDParameter], answers: [.json(200, "The rollout afterwards.", RolloutView.self), noRollout, .error(409, refusal)])
    }

    /// A console button: the form posts its cross-site token; the answer sends the browser back to the fleet page.
    static func consoleRolloutAction(_ id: String, _ verb: String) -> APIOperation {
        consoleForm(
            id: id, "/dashboard/rollouts/{rollout}/\(verb)",
            summary: "The console's \(verb) button: as `POST /api/v1/admin/rollouts/{rollout}/\(verb)`, from a form of the console only.",
            parameters: [rolloutIDParameter], done: "Done; back to the fleet page, at this rollout.",
            refusals: [consoleError(404, "No rollout has this id."), consoleError(409, "The rollout cannot \(verb) as it stands.")])
    }

    /// A form of a device's page: done, back to that page, which says what changed.
    static func consoleDeviceForm(
        _ id: String, _ verb: String, summary: String, fields: [String: JSONSchema] = [:], required: Set<String> = [],
        notFound: String = "No device has this id."
    ) -> APIOperation {
        consoleForm(
            id: id, "/dashboard/devices/{id}/\(verb)", summary: summary, parameters: [deviceIDParameter], fields: fields, required: required,
            done: "Done; back to the device's page, which says what changed.", refusals: [consoleError(404, notFound)])
    }

    /// A form of the console: `csrf` and `fields`, refused (403) from anywhere but the console's own pages; done, a 303
    /// back to a page (Post/Redirect/Get); refused, an HTML page with the one-line reason.
    static func consoleForm(
        id: String, _ path: String, summary: String, parameters: [Parameter] = [], fields: [String: JSONSchema] = [:], required: Set<String> = [],
        bodyLimit: Int = 1024, done: String, refusals: [Response]
    ) -> APIOperation {
        var properties = fields
        properties["csrf"] = .string(maxLength: 128)
        return APIOperation(
            id: id, .post, path, access: .admin, tag: .console, summary: summary, parameters: parameters,
            body: .form(.object(required: properties.filter { $0.key == "csrf" || required.contains($0.key) }, optional: properties.filter {
                $0.key != "csrf" && !required.contains($0.key)
            })), bodyLimit: bodyLimit,
            answers: [
                Response(303, done, headers: [Header("Location", "The page to go back to.")]), consoleNotFromConsole,
                consoleError(400, "A field breaks its rule, or the form is not UTF-8; the page names it."), consoleTooLarge(bodyLimit), consoleLogin,
            ] + refusals)
    }

    /// An HTML page of the console.
    static var consolePage: Response { Response(200, "An HTML page.", .text(mediaType: "text/html")) }

    /// A console refusal: an HTML page with the one-line reason and a link back, not the API's JSON.
    static func consoleError(_ status: Int, _ description: String, headers: [Header] = []) -> Response {
        Response(status, description + " An HTML page says it.", .text(mediaType: "text/html"), headers: headers)
    }

    /// No admin login: the browser's login prompt, by the challenges the API sends, and a page if it is cancelled.
    static var consoleLogin: Response {
        consoleError(
            401, "No credential, or not an admin token (as the Basic password, or a bearer token).",
            headers: [Header("WWW-Authenticate", "The schemes this operation takes.")])
    }

    static var consoleNoDevice: Response { consoleError(404, "No device has this id.") }

    static var consoleNotFromConsole: Response {
        consoleError(403, "Not from a page of this console: another site's Origin or Sec-Fetch-Site, or a wrong or missing form token.")
    }

    static func consoleTooLarge(_ limit: Int) -> Response { consoleError(413, "The form is larger than \(limit) bytes.") }

    static var blobParameters: [Parameter] {
        [
            .path("sha256", .sha256, "SHA-256 of the blob's raw bytes."),
            .header("Range", "One range of the raw bytes: `bytes=A-B`, `bytes=A-` or `bytes=-N`; a malformed one or several ranges are ignored."),
            .header("If-Range", "Keeps the Range only when it is the current ETag."),
            .header("If-None-Match", "304 when it names the current ETag."),
        ]
    }

    static func blobAnswers(form: String, negotiated: Bool) -> [Response] {
        let vary = negotiated ? [Header("Vary", "`Accept-Encoding`: the same URL has two representations.")] : []
        let etag = Header("ETag", "Strong: `\"<sha256>\"` for the raw bytes, `\"<sha256>.zlib\"` for the zlib form.")
        let body = [
            etag, Header("Accept-Ranges", "`bytes`."), Header("Content-Length", "Bytes of this answer's body.", schema: .integer(minimum: 0)),
        ]
        let encoding = negotiated ? [Header("Content-Encoding", "`deflate` when the body is the zlib form.", required: false)] : []
        return [
            Response(200, "The whole of \(form).", .bytes, headers: body + encoding + vary),
            Response(
                206, "One range of \(form).", .bytes,
                headers: body + vary + [Header("Content-Range", "`bytes A-B/LENGTH`.")]),
            Response(304, "Not modified: If-None-Match named the current ETag.", headers: [etag] + vary),
            .error(404, negotiated ? "No blob with this SHA-256." : "No zlib form of this blob (or no blob)."),
            .error(
                416, "The range starts at or past the end, or asks for a suffix of 0 bytes.",
                headers: [Header("Content-Range", "`bytes */LENGTH`.")] + vary),
        ]
    }
}
