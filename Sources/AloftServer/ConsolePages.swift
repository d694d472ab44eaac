import AloftAPI
import AloftCore
import AloftStore
import Foundation
import Mustache

/// The fleet console's pages: server-rendered HTML, no JavaScript, one stylesheet inline.
///
/// Each page is a pure function of store records and views, so tests check the HTML without HTTP. Everything a device
/// or an operator wrote (ids, tags, reasons) goes through Mustache's escaping.
struct ConsolePages: Sendable {
    /// Events and downloads a device page shows, newest first.
    static let historyLimit = 100

    private let fleet: MustacheTemplate
    private let devices: MustacheTemplate
    private let device: MustacheTemplate
    private let release: MustacheTemplate
    private let error: MustacheTemplate
    private let newToken: MustacheTemplate

    init() {
        // The templates are constants; a parse failure is a bug the console tests catch.
        fleet = try! MustacheTemplate(string: Self.head + Self.fleetBody + Self.startRolloutForm + Self.releasesTable + Self.foot)
        devices = try! MustacheTemplate(string: Self.head + Self.devicesBody + Self.foot)
        device = try! MustacheTemplate(string: Self.head + Self.deviceBody + Self.foot)
        release = try! MustacheTemplate(string: Self.head + Self.releaseBody + Self.startRolloutForm + Self.foot)
        error = try! MustacheTemplate(string: Self.head + Self.errorBody + Self.foot)
        newToken = try! MustacheTemplate(string: Self.head + Self.newTokenBody + Self.foot)
    }

    // MARK: Fleet

    struct Segment {
        var label: String
        var count: Int
        /// Width in the bar, in percent (one decimal), at least a sliver for a non-empty group.
        var width: String
        var color: String
        /// The device list filtered to this group.
        var link: String
    }

    struct Bar {
        var channel: String
        var total: Int
        var versions: [Segment]
        var states: [Segment]
    }

    struct PhaseRow {
        var phase: Int
        var percent: Int
        var devices: Int
        var offered: Int
        var firmware: Int
        var downloading: Int
        var installed: Int
        var confirmed: Int
        var failed: Int
        var rolledBack: Int
        /// Settled (confirmed, failed or rolled back) of the phase's devices, in percent.
        var done: String
        var current: Bool
        var failedBad: Bool
        var rolledBackBad: Bool
        /// Any failure in the phase: its progress bar in red.
        var bad: Bool
    }

    struct ActionButton {
        var action: String
        var label: String
        var path: String
        var danger: Bool
    }

    struct RolloutCard {
        var id: Int
        var channel: String
        var version: String
        var status: String
        var statusClass: String
        var halted: Bool
        var haltReason: String
        var phase: Int
        var phaseCount: Int
        var target: String
        var policy: String
        var started: String
        var phases: [PhaseRow]
        var actions: [ActionButton]
    }

    struct ReleaseRow {
        var channel: String
        var sequence: Int
        var version: String
        /// The release's page.
        var link: String
        var files: Int
        var size: String
        var devices: Int
        var held: Bool
        var published: String
        /// `ESP32_GENERIC-OTA 1.26.0 (1703 kB)` per image, or `-`.
        var firmware: String
    }

    /// The fleet page: devices per release and per state for each channel, rollouts, the newest releases.
    func renderFleet(
        census: [DeviceCensusRow], rollouts: [(rollout: Rollout, view: RolloutView)], releases: [ReleaseRecord], releaseCount: Int, csrf: String,
        notice: String? = nil, now: Date
    ) -> String {
        let channels = Dictionary(grouping: census, by: \.channel).sorted { $0.key < $1.key }
        let bars = channels.map { channel, rows in
            let total = rows.reduce(0) { $0 + $1.count }
            let byVersion = Dictionary(grouping: rows, by: { $0.version ?? "" }).mapValues { $0.reduce(0) { $0 + $1.count } }
            let versions = byVersion.sorted { Self.versionOrder($0.key, $1.key) }.enumerated().map { index, entry in
                Segment(
                    label: entry.key.isEmpty ? "nothing installed" : entry.key, count: entry.value, width: Self.width(entry.value, of: total),
                    color: entry.key.isEmpty ? "c-none" : "c\(index % 6)",
                    link: Self.devicesLink(channel: channel, version: entry.key.isEmpty ? "none" : entry.key))
            }
            let byState = Dictionary(grouping: rows, by: { $0.state ?? "" }).mapValues { $0.reduce(0) { $0 + $1.count } }
            let states = byState.sorted { $0.key < $1.key }.map { state, count in
                Segment(
                    label: state.isEmpty ? "no event yet" : state, count: count, width: Self.width(count, of: total), color: Self.stateColor(state),
                    link: Self.devicesLink(channel: channel, state: state.isEmpty ? "none" : state))
            }
            return Bar(channel: channel, total: total, versions: versions, states: states)
        }
        let cards = rollouts.map { Self.card($0.rollout, $0.view) }
        let releaseRows = releases.map { release in
            ReleaseRow(
                channel: release.channel, sequence: release.sequence, version: release.version, link: Self.releaseLink(release),
                files: release.fileCount,
                size: Self.bytes(release.totalSize),
                devices: census.filter { $0.channel == release.channel && $0.version == release.version }.reduce(0) { $0 + $1.count },
                held: release.held, published: Self.ago(release.publishedAt, now: now),
                firmware: release.firmware.isEmpty
                    ? "-" : release.firmware.map { "\($0.build) \($0.micropython) (\(Self.bytes($0.size)))" }.joined(separator: ", "))
        }
        // Mustache shows an Optional in an `Any` as "nil": a missing value is a missing key.
        var context: [String: Any] = [
            "title": "Fleet", "fleetTab": true, "csrf": csrf,
            "deviceCount": census.reduce(0) { $0 + $1.count }, "releaseCount": releaseCount, "bars": bars, "rollouts": cards,
            "releases": releaseRows, "moreReleases": releaseCount > releases.count, "generated": ReleaseManifest.timestamp(now),
            // The rollout form offers the channels and versions there are; a held release is the usual one to roll out.
            "channelOptions": Array(Set(census.map(\.channel) + releases.map(\.channel))).sorted(),
            "versionOptions": Array(Set(releases.map(\.version))).sorted(by: Self.versionOrder),
            "formChannel": releases.first(where: \.held)?.channel ?? "", "formVersion": releases.first(where: \.held)?.version ?? "",
        ]
        context["notice"] = notice
        return fleet.render(context)
    }

    static func card(_ rollout: Rollout, _ view: RolloutView) -> RolloutCard {
        let phases = view.phases.map { phase in
            let settled = phase.confirmed + phase.failed + phase.rolledBack
            return PhaseRow(
                phase: phase.phase, percent: phase.percent, devices: phase.devices, offered: phase.offered, firmware: phase.firmware,
                downloading: phase.downloading, installed: phase.installed, confirmed: phase.confirmed, failed: phase.failed, rolledBack: phase.rolledBack,
                done: width(settled, of: phase.devices), current: phase.phase == view.phase && rollout.status.isActive,
                failedBad: phase.failed > 0, rolledBackBad: phase.rolledBack > 0, bad: phase.failed + phase.rolledBack > 0)
        }
        var target: [String] = []
        if !view.tags.isEmpty { target.append("tags " + view.tags.joined(separator: ", ")) }
        if !view.boards.isEmpty { target.append("boards " + view.boards.joined(separator: ", ")) }
        if !view.devices.isEmpty { target.append("\(view.devices.count) listed devices") }
        var policy = ["phases " + view.phases.map { "\($0.percent)%" }.joined(separator: ", "), "max failures \(view.maxFailures)", "min devices \(view.minDevices)"]
        if view.soak > 0 { policy.append("soak \(view.soak) s") }
        if let window = view.window { policy.append("window \(window)") }
        if view.manual { policy.append("manual") }
        let statusClass =
            switch rollout.status {
            case .halted: "bad"
            case .paused: "warn"
            case .running: "run"
            case .completed: "ok"
            case .aborted: "muted"
            }
        return RolloutCard(
            id: view.id, channel: view.channel, version: view.version, status: view.status, statusClass: statusClass, halted: rollout.status == .halted,
            haltReason: view.haltReason ?? "", phase: view.phase, phaseCount: view.phases.count,
            target: target.isEmpty ? "every device of the channel" : target.joined(separator: "; "), policy: policy.joined(separator: " · "),
            started: view.createdAt, phases: phases,
            actions: RolloutAction.available(for: rollout).map { action in
                ActionButton(
                    action: action.rawValue, label: action == .resume && rollout.status == .running ? "next phase" : action.rawValue,
                    path: "/dashboard/rollouts/\(rollout.id)/\(action.rawValue)", danger: action == .abort)
            })
    }

    // MARK: Devices

    /// The filters of a device listing as the page's form shows them: empty means any.
    struct Filters: Equatable {
        var q = ""
        var channel = ""
        var version = ""
        var tag = ""
        var state = ""

        /// The query string of these filters on page `page` (1-based), for links.
        func query(page: Int) -> String {
            var parts: [String] = []
            for (name, value) in [("q", q), ("channel", channel), ("version", version), ("tag", tag), ("state", state)] where !value.isEmpty {
                parts.append(name + "=" + ConsolePages.formEncode(value))
            }
            if page > 1 { parts.append("page=\(page)") }
            return parts.joined(separator: "&")
        }
    }

    struct DeviceRow {
        var id: String
        var link: String
        var channel: String
        var version: String
        var board: String
        var agent: String
        /// ``FirmwareView/summary``, or `-` for a device that says nothing of its firmware.
        var firmware: String
        var tags: String
        var lastSeen: String
        var lastEvent: String
        var eventClass: String
        var offer: String
        /// With an offer of the firmware step.
        var firmwareStep: Bool
        var why: String
        var revoked: Bool
    }

    struct Option {
        var value: String
        var label: String
        var selected: Bool
    }

    /// One page of the device list with its search form and paging links.
    func renderDevices(
        devices records: [(device: DeviceRecord, decision: DecisionView)], total: Int, page: Int, filters: Filters, channels: [String],
        states: [String], now: Date
    ) -> String {
        let size = APIOperation.consolePageSize
        let rows = records.map { device, decision in
            DeviceRow(
                id: device.id, link: "/dashboard/devices/" + device.id, channel: device.channel, version: device.version ?? "-",
                board: device.board ?? "-", agent: device.agent ?? "-", firmware: FirmwareView(device)?.summary ?? "-",
                tags: device.tags.joined(separator: " "), lastSeen: device.lastSeen.map { Self.ago($0, now: now) } ?? "never",
                lastEvent: device.lastEvent.map(Self.describe) ?? "-", eventClass: Self.stateColor(device.lastEvent?.type ?? ""),
                offer: decision.offer ?? "-", firmwareStep: decision.step == UpdateStep.firmware.rawValue, why: decision.why,
                revoked: device.revokedAt != nil)
        }
        let pages = max(1, (total + size - 1) / size)
        let first = total == 0 ? 0 : min(total, (page - 1) * size + 1)
        let last = min(total, page * size)
        var context: [String: Any] = [
            "title": "Devices", "devicesTab": true, "devices": rows, "total": total, "first": first, "last": last, "page": page, "pages": pages,
            "q": filters.q, "tag": filters.tag, "filtered": filters != Filters(),
            "channels": options(channels, selected: filters.channel), "states": options(states, selected: filters.state, none: "no event yet"),
            "version": filters.version, "generated": ReleaseManifest.timestamp(now),
        ]
        if page > 1 { context["previous"] = "/dashboard/devices?" + filters.query(page: min(page - 1, pages)) }
        if page < pages { context["next"] = "/dashboard/devices?" + filters.query(page: page + 1) }
        return devices.render(context)
    }

    private func options(_ values: [String], selected: String, none: String? = nil) -> [Option] {
        var options = [Option(value: "", label: "any", selected: selected.isEmpty)]
        options += values.map { Option(value: $0, label: $0, selected: $0 == selected) }
        if let none { options.append(Option(value: "none", label: none, selected: selected == "none")) }
        if !selected.isEmpty, !options.contains(where: \.selected) { options.append(Option(value: selected, label: selected, selected: true)) }
        return options
    }

    // MARK: One device

    struct Fact {
        var name: String
        var value: String
    }

    struct EventRow {
        var at: String
        var ago: String
        var type: String
        /// An event of the firmware step.
        var firmware: Bool
        var version: String
        var reason: String
        var eventClass: String
    }

    struct DownloadRow {
        var at: String
        var sha256: String
        var encoding: String
        var bytes: String
        var status: Int
        var bad: Bool
    }

    /// A device: its facts, its decision, its event timeline and blob downloads, and its forms. `releases` are the versions
    /// of its channel the pin form suggests.
    func renderDevice(
        _ record: DeviceRecord, view: DeviceView, events: [DeviceEvent], downloads: [BlobDownload], csrf: String = "", notice: String? = nil,
        releases: [String] = [], now: Date
    ) -> String {
        var facts = [
            Fact(name: "Channel", value: record.channel),
            Fact(name: "Installed", value: record.version.map { "\($0) (sequence \(record.sequence))" } ?? "nothing yet"),
            Fact(name: "Tags", value: record.tags.isEmpty ? "-" : record.tags.joined(separator: ", ")),
            Fact(name: "Pinned to", value: record.pin ?? "-"),
            Fact(name: "Board", value: record.board ?? "-"),
            Fact(name: "MicroPython", value: record.micropython ?? "-"),
            Fact(name: "Agent", value: record.agent ?? "-"),
            Fact(name: "Firmware", value: Self.firmware(view.firmware)),
            Fact(name: "Free flash", value: record.free.map(Self.bytes) ?? "-"),
            Fact(name: "Last seen", value: record.lastSeen.map { "\(rfc3339($0)) (\(Self.ago($0, now: now)))" } ?? "never"),
            Fact(name: "Registered", value: rfc3339(record.createdAt) + (record.enrollment.map { " by enrollment \($0)" } ?? "")),
        ]
        if let rejected = record.rejected { facts.append(Fact(name: "Rolled back from", value: "sequence \(rejected)")) }
        if let revoked = record.revokedAt { facts.append(Fact(name: "Revoked", value: rfc3339(revoked))) }
        var context: [String: Any] = [
            "title": record.id, "devicesTab": true, "id": record.id, "facts": facts,
            "reason": view.decision?.reason ?? "", "why": view.decision?.why ?? "",
            "firmwareStep": view.decision?.step == UpdateStep.firmware.rawValue,
            "events": events.map { event in
                EventRow(
                    at: rfc3339(event.at), ago: Self.ago(event.at, now: now), type: event.type, firmware: event.step == UpdateStep.firmware.rawValue,
                    version: event.version ?? "", reason: event.reason ?? "", eventClass: Self.stateColor(event.type))
            },
            "downloads": downloads.map { download in
                DownloadRow(
                    at: rfc3339(download.at), sha256: String(download.sha256.prefix(12)), encoding: download.encoding, bytes: Self.bytes(download.bytes),
                    status: download.status, bad: download.status >= 400)
            },
            "historyLimit": Self.historyLimit, "generated": ReleaseManifest.timestamp(now),
            "csrf": csrf, "pin": record.pin ?? "", "releaseOptions": releases,
            "buttons": Self.deviceButtons(record, failed: view.decision?.failure != nil),
        ]
        context["offer"] = view.decision?.offer
        context["notice"] = notice
        if !record.tags.isEmpty { context["tags"] = record.tags.joined(separator: " ") }
        return device.render(context)
    }

    /// The device page's buttons without fields of their own (each its own form with the form token). An action of the
    /// device page is one more entry here and one more console operation.
    static func deviceButtons(_ record: DeviceRecord, failed: Bool = false) -> [ActionButton] {
        var buttons: [ActionButton] = []
        let base = "/dashboard/devices/" + record.id
        // A release withheld for its failures (failed-lasting, backing-off), or offered though it failed before.
        if failed { buttons.append(ActionButton(action: "retry", label: "retry its failed release", path: base + "/retry", danger: false)) }
        if record.pin != nil { buttons.append(ActionButton(action: "unpin", label: "unpin", path: base + "/unpin", danger: false)) }
        if record.revokedAt == nil { buttons.append(ActionButton(action: "revoke", label: "revoke its token", path: base + "/revoke", danger: true)) }
        buttons.append(
            ActionButton(
                action: "token", label: record.revokedAt == nil ? "issue a new token" : "issue a new token (it works again)", path: base + "/token",
                danger: true))
        return buttons
    }

    // MARK: One release

    struct FailureRow {
        var type: String
        var firmware: Bool
        var reason: String
        var count: Int
        var devices: Int
        var eventClass: String
    }

    struct ReleaseDevice {
        var id: String
        var link: String
        var lastEvent: String
        var eventClass: String
        var lastSeen: String
    }

    struct ReleaseRollout {
        var id: Int
        var status: String
        var link: String
    }

    /// A release: what it carries, the devices on it, its failures and rollbacks by reason, its rollouts; and the rollout
    /// form, filled in with it.
    func renderRelease(
        _ record: ReleaseRecord, devices: [DeviceRecord], deviceTotal: Int, failures: [ReleaseFailureRow], rollouts: [Rollout], csrf: String, now: Date
    ) -> String {
        var context: [String: Any] = [
            "title": "\(record.version) on \(record.channel)", "fleetTab": true, "csrf": csrf, "channel": record.channel, "version": record.version,
            "sequence": record.sequence, "held": record.held, "files": record.fileCount == 1 ? "1 file" : "\(record.fileCount) files", "size": Self.bytes(record.totalSize),
            "published": "\(rfc3339(record.publishedAt)) (\(Self.ago(record.publishedAt, now: now)))",
            "firmware": record.firmware.map { Fact(name: $0.build, value: "MicroPython \($0.micropython), \(Self.bytes($0.size)), image \($0.sha256.prefix(12))") },
            "devices": devices.map { device in
                ReleaseDevice(
                    id: device.id, link: "/dashboard/devices/" + device.id, lastEvent: device.lastEvent.map(Self.describe) ?? "-",
                    eventClass: Self.stateColor(device.lastEvent?.type ?? ""), lastSeen: device.lastSeen.map { Self.ago($0, now: now) } ?? "never")
            },
            "deviceTotal": deviceTotal, "moreDevices": deviceTotal > devices.count,
            "allDevices": Self.devicesLink(channel: record.channel, version: record.version),
            "failures": failures.map { row in
                FailureRow(
                    type: row.type, firmware: row.step == UpdateStep.firmware.rawValue, reason: row.reason ?? "(no reason given)", count: row.count,
                    devices: row.devices, eventClass: Self.stateColor(row.type))
            },
            "failureCount": failures.reduce(0) { $0 + $1.count },
            "rollouts": rollouts.map { ReleaseRollout(id: $0.id, status: $0.status.rawValue, link: "/dashboard#rollout-\($0.id)") },
            "channelOptions": [record.channel], "versionOptions": [record.version], "formChannel": record.channel, "formVersion": record.version,
            "generated": ReleaseManifest.timestamp(now),
        ]
        context["firmwareNone"] = record.firmware.isEmpty
        return release.render(context)
    }

    // MARK: Errors and secrets

    /// A refusal or an error of a console page or form: the one-line message and the way back.
    func renderError(status: Int, message: String, back: String, now: Date) -> String {
        error.render(["title": "Error \(status)", "status": status, "message": message, "back": back, "generated": ReleaseManifest.timestamp(now)])
    }

    /// A device's new token, shown this once (the answer to the form, never a page a link leads to).
    func renderNewToken(device: String, token: String, now: Date) -> String {
        newToken.render([
            "title": "New token for \(device)", "devicesTab": true, "id": device, "link": "/dashboard/devices/" + device, "token": token,
            "generated": ReleaseManifest.timestamp(now),
        ])
    }

    // MARK: Formatting

    static func width(_ part: Int, of whole: Int) -> String {
        guard whole > 0, part > 0 else { return "0" }
        let percent = max(0.5, Double(part) * 100 / Double(whole))
        return String(format: "%.1f", percent)
    }

    static func stateColor(_ state: String) -> String {
        switch state {
        case "confirmed", "installed": "ok"
        case "failed", "rolled_back": "bad"
        case "deferred", "downloading", "rejected": "warn"
        default: "muted"
        }
    }

    /// Newest version first; unparsable ones and nothing-installed last.
    static func versionOrder(_ a: String, _ b: String) -> Bool {
        switch (SemanticVersion(a), SemanticVersion(b)) {
        case let (x?, y?): return x != y ? y < x : a < b
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return a > b
        }
    }

    static func describe(_ event: DeviceEvent) -> String {
        [event.type, event.step.map { "(\($0))" } ?? "", event.version ?? "", event.reason.map { "(\($0))" } ?? ""].filter { !$0.isEmpty }
            .joined(separator: " ")
    }

    /// A device's firmware in a sentence: `ESP32_GENERIC-OTA on esp32, MicroPython 1.24.1, image 1f2e3d4c5b6a; OTA: runs ota_0, next slot 1572 kB,
    /// the bootloader rolls back`, with its trial and the image it rolled back.
    static func firmware(_ view: FirmwareView?) -> String {
        guard let view else { return "not reported (agent before 0.4.0)" }
        var parts = ["\(view.build ?? "build not reported")\(view.chip.map { " on \($0)" } ?? ""), MicroPython \(view.micropython ?? "?")"]
        if let sha = view.sha256 { parts[0] += ", image \(sha.prefix(12))" }
        if view.ota == true {
            var ota = ["OTA: runs \(view.running ?? "?")"]
            if let slot = view.slot { ota.append("next slot \(bytes(slot))") }
            switch view.rollback {
            case true?: ota.append("the bootloader rolls back")
            case false?: ota.append("the bootloader does not roll back")
            case nil: ota.append("rollback not known yet")
            }
            parts.append(ota.joined(separator: ", "))
        } else {
            parts.append("no OTA partition table")
        }
        if view.state == "trial" { parts.append("on trial") }
        if let rejected = view.rejected { parts.append("rolled back image \(rejected.prefix(12))") }
        return parts.joined(separator: "; ")
    }

    static func releaseLink(_ release: ReleaseRecord) -> String {
        "/dashboard/channels/\(formEncode(release.channel))/releases/\(formEncode(release.version))"
    }

    static func devicesLink(channel: String, version: String = "", state: String = "") -> String {
        "/dashboard/devices?" + Filters(channel: channel, version: version, state: state).query(page: 1)
    }

    static func bytes(_ count: Int) -> String {
        switch count {
        case ..<10_000: "\(count) B"
        case ..<10_000_000: "\(count / 1000) kB"
        default: "\(count / 1_000_000) MB"
        }
    }

    static func ago(_ date: Date, now: Date) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        switch seconds {
        case ..<60: return "\(seconds) s ago"
        case ..<3600: return "\(seconds / 60) min ago"
        case ..<86400: return "\(seconds / 3600) h ago"
        default: return "\(seconds / 86400) d ago"
        }
    }

    /// `application/x-www-form-urlencoded` for a value in a link: unreserved characters as they are, the rest percent-encoded.
    static func formEncode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            if Identifiers.isAlnum(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~") {
                out.append(Character(Unicode.Scalar(byte)))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    // MARK: Templates

    static let head = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>{{title}} · Aloft</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2329;background:#f6f7f9}
        header{background:#1d2329;color:#fff;padding:.7em 2em;display:flex;gap:2em;align-items:center}
        header a{color:#cfd8e3;text-decoration:none}header a.on{color:#fff;font-weight:600}header b{font-size:1.1em}
        main{padding:1em 2em 3em;max-width:1200px}h1{font-size:1.35em}h2{font-size:1.1em;margin-top:1.8em}
        table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.3em .7em;border-bottom:1px solid #e3e6ea;vertical-align:top}
        th{background:#eef0f3;font-weight:600}td.n,th.n{text-align:right}a{color:#0b57d0}
        .bad{color:#b3261e;font-weight:600}.warn{color:#8a5a00}.ok{color:#1b6e2a}.muted{color:#6b7580}.run{color:#0b57d0;font-weight:600}
        .bar{display:flex;height:22px;border-radius:4px;overflow:hidden;background:#e3e6ea;margin:.2em 0}
        .bar a{display:block;height:100%}.legend{font-size:.9em;margin-bottom:.8em}.legend span{margin-right:1.2em;white-space:nowrap}
        .sw{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.3em;vertical-align:-1px}
        .c0{background:#0b57d0}.c1{background:#1b6e2a}.c2{background:#8e44ad}.c3{background:#d35400}.c4{background:#16a085}.c5{background:#7f8c8d}
        .c-none{background:#c4cad1}.bar .ok,.sw.ok{background:#2e7d32}.bar .bad,.sw.bad{background:#c62828}.bar .warn,.sw.warn{background:#f9a825}
        .bar .muted,.sw.muted{background:#aab2bb}
        .card{background:#fff;border:1px solid #d9dde2;border-left:5px solid #0b57d0;border-radius:4px;padding:.8em 1em;margin:.8em 0}
        .card.bad{border-left-color:#c62828;color:inherit;font-weight:normal}.card.warn{border-left-color:#f9a825;color:inherit}
        .card.ok{border-left-color:#2e7d32;color:inherit}.card.muted{border-left-color:#aab2bb;color:inherit}
        .card h3{margin:0 0 .3em;font-size:1.05em}.reason{background:#fdecea;color:#8c1d18;padding:.4em .7em;border-radius:3px;margin:.4em 0}
        .progress{width:120px;height:10px;background:#e3e6ea;border-radius:5px;overflow:hidden;display:inline-block;vertical-align:middle}
        .progress i{display:block;height:100%;background:#2e7d32}.progress.badp i{background:#c62828}tr.current td{background:#f1f6fe}
        form.inline{display:inline}button{font:inherit;padding:.25em .9em;border:1px solid #aab2bb;background:#fff;border-radius:4px;cursor:pointer}
        button.danger{border-color:#c62828;color:#b3261e}.filters input,.filters select{font:inherit;padding:.2em .4em;margin-right:.6em}
        .pager{margin:.8em 0}.pager a{margin-right:1em}.notice{background:#e8f0fe;padding:.5em 1em;border-radius:4px}
        code{background:#eef0f3;padding:0 .3em;border-radius:3px}
        form.act{background:#fff;border:1px solid #d9dde2;border-radius:4px;padding:.6em 1em;margin:.6em 0}
        form.act label{display:inline-block;margin:.2em 1em .2em 0}form.act input{font:inherit;padding:.15em .4em}
        .error{background:#fdecea;color:#8c1d18;padding:.6em 1em;border-radius:4px}.secret{font-size:1.1em;word-break:break-all;padding:.3em .6em}
        </style></head><body>
        <header><b>Aloft</b><a href="/dashboard" {{#fleetTab}}class="on"{{/fleetTab}}>Fleet</a><a href="/dashboard/devices" {{#devicesTab}}class="on"{{/devicesTab}}>Devices</a></header>
        <main>

        """

    static let foot = """

        <p class="muted">Generated {{generated}}.</p>
        </main></body></html>
        """

    static let fleetBody = """
        <h1>Fleet</h1>
        {{#notice}}<p class="notice">{{notice}}</p>{{/notice}}
        <p class="muted">{{deviceCount}} devices, {{releaseCount}} releases.</p>
        {{#bars}}
        <h2 id="channel-{{channel}}">Channel {{channel}} <span class="muted">({{total}} devices)</span></h2>
        <div class="bar" title="devices per installed release">{{#versions}}<a class="{{color}}" style="width:{{width}}%" href="{{link}}" title="{{label}}: {{count}}"></a>{{/versions}}</div>
        <div class="legend">{{#versions}}<span><i class="sw {{color}}"></i><a href="{{link}}">{{label}}</a>: {{count}}</span>{{/versions}}</div>
        <div class="bar" title="devices per last event">{{#states}}<a class="{{color}}" style="width:{{width}}%" href="{{link}}" title="{{label}}: {{count}}"></a>{{/states}}</div>
        <div class="legend">{{#states}}<span><i class="sw {{color}}"></i><a href="{{link}}">{{label}}</a>: {{count}}</span>{{/states}}</div>
        {{/bars}}
        {{^bars}}<p class="muted">No devices yet: <code>aloft device provision</code> or <code>aloft sim fleet</code>.</p>{{/bars}}
        <h2>Rollouts</h2>
        {{#rollouts}}
        <div class="card {{statusClass}}" id="rollout-{{id}}">
        <h3>Rollout {{id}}: {{version}} on {{channel}} · <span class="{{statusClass}}">{{status}}</span> · phase {{phase}} of {{phaseCount}}</h3>
        {{#halted}}<div class="reason">Halted: {{haltReason}}</div>{{/halted}}
        <div class="muted">Target: {{target}} · {{policy}} · started {{started}}</div>
        <table><tr><th>Phase</th><th class="n">Up to</th><th class="n">Devices</th><th class="n">Offered</th><th class="n">Firmware</th><th class="n">Downloading</th><th class="n">Installed</th><th class="n">Confirmed</th><th class="n">Failed</th><th class="n">Rolled back</th><th>Settled</th></tr>
        {{#phases}}<tr class="{{#current}}current{{/current}}"><td>{{phase}}{{#current}} ◀{{/current}}</td><td class="n">{{percent}}%</td><td class="n">{{devices}}</td><td class="n">{{offered}}</td><td class="n">{{firmware}}</td><td class="n">{{downloading}}</td><td class="n">{{installed}}</td><td class="n">{{confirmed}}</td><td class="n {{#failedBad}}bad{{/failedBad}}">{{failed}}</td><td class="n {{#rolledBackBad}}bad{{/rolledBackBad}}">{{rolledBack}}</td><td><span class="progress {{#bad}}badp{{/bad}}"><i style="width:{{done}}%"></i></span></td></tr>
        {{/phases}}</table>
        <p>{{#actions}}<form class="inline" method="post" action="{{path}}"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" name="do" value="{{action}}" {{#danger}}class="danger"{{/danger}}>{{label}}</button></form> {{/actions}}</p>
        </div>
        {{/rollouts}}
        {{^rollouts}}<p class="muted">No rollouts: a publish goes to its whole channel. The form below, or <code>aloft rollout start</code>, stages one.</p>{{/rollouts}}
"""

    static let releasesTable = """
        <h2>Releases</h2>
        <table><tr><th>Channel</th><th class="n">Seq</th><th>Version</th><th class="n">Files</th><th class="n">Size</th><th>Firmware</th><th class="n">Devices on it</th><th>Published</th></tr>
        {{#releases}}<tr><td>{{channel}}</td><td class="n">{{sequence}}</td><td><a href="{{link}}">{{version}}</a>{{#held}} <span class="warn">held</span>{{/held}}</td><td class="n">{{files}}</td><td class="n">{{size}}</td><td>{{firmware}}</td><td class="n">{{devices}}</td><td>{{published}}</td></tr>
        {{/releases}}{{^releases}}<tr><td colspan="8" class="muted">No releases yet: <code>aloft release publish</code>.</td></tr>{{/releases}}
        </table>
        {{#moreReleases}}<p class="muted">The newest shown; <code>aloft release list</code> has them all.</p>{{/moreReleases}}
        """

    /// The rollout form: every field `POST /api/v1/admin/rollouts` takes, in one text field each.
    static let startRolloutForm = """

        <h2 id="start-rollout">Start a rollout</h2>
        <form class="act" method="post" action="/dashboard/rollouts">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>channel <input name="channel" value="{{formChannel}}" list="channel-options" required maxlength="32" size="10"></label>
        <label>version <input name="version" value="{{formVersion}}" list="version-options" required maxlength="64" size="10"></label>
        <datalist id="channel-options">{{#channelOptions}}<option value="{{.}}">{{/channelOptions}}</datalist>
        <datalist id="version-options">{{#versionOptions}}<option value="{{.}}">{{/versionOptions}}</datalist>
        <label>phases <input name="phases" placeholder="10,50,100" maxlength="200" size="12"></label>
        <label>max failures <input name="maxFailures" placeholder="0" maxlength="16" size="5"></label>
        <label>min devices <input name="minDevices" placeholder="1" maxlength="8" size="5"></label>
        <label>soak <input name="soak" placeholder="0, 30m, 1h, 2d" maxlength="16" size="8"></label>
        <label>window <input name="window" placeholder="Mon-Fri 01:00-05:00 UTC" maxlength="64" size="22"></label>
        <label><input type="checkbox" name="manual"> manual (each phase waits for “next phase”)</label><br>
        <label>tags <input name="tags" placeholder="any" maxlength="2000" size="20"></label>
        <label>boards <input name="boards" placeholder="any" maxlength="2000" size="20"></label>
        <label>devices <input name="devices" placeholder="any" maxlength="24000" size="30"></label>
        <button type="submit">Start rollout</button>
        <div class="muted">Phases are cumulative percentages of the target (empty: 100, all at once). Tags, boards and devices are lists, comma- or
        space-separated; empty is every device of the channel. Max failures is a count or a share like 10% (empty: 0, the first failure halts). The
        same rules as <code>aloft rollout start</code>.</div>
        </form>

        """

    static let releaseBody = """
        <p><a href="/dashboard">← fleet</a></p>
        <h1>Release {{version}} on {{channel}}{{#held}} <span class="warn">held</span>{{/held}}</h1>
        <table>
        <tr><th style="width:12em">Sequence</th><td>{{sequence}}</td></tr>
        <tr><th>Files</th><td>{{files}}, {{size}}</td></tr>
        <tr><th>Firmware</th><td>{{#firmware}}{{name}}: {{value}}<br>{{/firmware}}{{#firmwareNone}}-{{/firmwareNone}}</td></tr>
        <tr><th>Published</th><td>{{published}}</td></tr>
        <tr><th>Rollouts</th><td>{{#rollouts}}<a href="{{link}}">rollout {{id}}</a> ({{status}}) {{/rollouts}}{{^rollouts}}none{{/rollouts}}</td></tr>
        </table>
        <h2>Failures by reason <span class="muted">({{failureCount}} events)</span></h2>
        <table><tr><th>Event</th><th>Reason</th><th class="n">Events</th><th class="n">Devices</th></tr>
        {{#failures}}<tr><td class="{{eventClass}}">{{type}}{{#firmware}} <span class="muted">(firmware)</span>{{/firmware}}</td><td>{{reason}}</td><td class="n">{{count}}</td><td class="n">{{devices}}</td></tr>
        {{/failures}}{{^failures}}<tr><td colspan="4" class="muted">No device reported a failure or a rollback of this release.</td></tr>{{/failures}}
        </table>
        <h2>Devices on it <span class="muted">({{deviceTotal}})</span></h2>
        <table><tr><th>Device</th><th>Last event</th><th>Last seen</th></tr>
        {{#devices}}<tr><td><a href="{{link}}">{{id}}</a></td><td class="{{eventClass}}">{{lastEvent}}</td><td>{{lastSeen}}</td></tr>
        {{/devices}}{{^devices}}<tr><td colspan="3" class="muted">No device runs it.</td></tr>{{/devices}}
        </table>
        {{#moreDevices}}<p><a href="{{allDevices}}">All {{deviceTotal}} devices on it</a></p>{{/moreDevices}}
        """

    static let errorBody = """
        <h1>Error {{status}}</h1>
        <p class="error">{{message}}</p>
        <p><a href="{{back}}">← back</a></p>
        """

    static let newTokenBody = """
        <p><a href="{{link}}">← device {{id}}</a></p>
        <h1>New token for device {{id}}</h1>
        <p>The old token no longer works. This is the only time the new one is shown: the server keeps only its SHA-256.</p>
        <p><code class="secret">{{token}}</code></p>
        <p class="muted">Put it in the device's <code>/.aloft/config.json</code> (where <code>aloft device provision</code> writes it) before it checks in again.
        Reloading this page would post the form again and issue another token, which replaces this one.</p>
        """

    static let devicesBody = """
        <h1>Devices</h1>
        <form class="filters" method="get" action="/dashboard/devices">
        <input type="search" name="q" value="{{q}}" placeholder="id contains" maxlength="64" aria-label="search by id">
        <label>channel <select name="channel">{{#channels}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{label}}</option>{{/channels}}</select></label>
        <label>version <input name="version" value="{{version}}" size="10" maxlength="64" placeholder="any"></label>
        <label>tag <input name="tag" value="{{tag}}" size="10" maxlength="32" placeholder="any"></label>
        <label>last event <select name="state">{{#states}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{label}}</option>{{/states}}</select></label>
        <button type="submit">Show</button> {{#filtered}}<a href="/dashboard/devices">clear</a>{{/filtered}}
        </form>
        <p class="pager">{{first}}–{{last}} of {{total}} devices · page {{page}} of {{pages}}
        {{#previous}} · <a href="{{previous}}" rel="prev">← previous</a>{{/previous}}{{#next}} · <a href="{{next}}" rel="next">next →</a>{{/next}}</p>
        <table><tr><th>Device</th><th>Channel</th><th>Version</th><th>Board</th><th>Agent</th><th>Firmware</th><th>Tags</th><th>Last seen</th><th>Last event</th><th>Offered</th></tr>
        {{#devices}}<tr><td><a href="{{link}}">{{id}}</a>{{#revoked}} <span class="bad">revoked</span>{{/revoked}}</td><td>{{channel}}</td><td>{{version}}</td><td>{{board}}</td><td>{{agent}}</td><td>{{firmware}}</td><td>{{tags}}</td><td>{{lastSeen}}</td><td class="{{eventClass}}">{{lastEvent}}</td><td title="{{why}}">{{offer}}{{#firmwareStep}} <span class="warn">firmware</span>{{/firmwareStep}}</td></tr>
        {{/devices}}{{^devices}}<tr><td colspan="10" class="muted">No device matches.</td></tr>{{/devices}}
        </table>
        """

    static let deviceBody = """
        <p><a href="/dashboard/devices">← devices</a></p>
        <h1>Device {{id}}</h1>
        {{#notice}}<p class="notice">{{notice}}</p>{{/notice}}
        <table>{{#facts}}<tr><th style="width:12em">{{name}}</th><td>{{value}}</td></tr>{{/facts}}
        <tr><th>Offered now</th><td>{{#offer}}<b>{{offer}}</b>{{#firmwareStep}} <span class="warn">firmware first</span>{{/firmwareStep}}: {{/offer}}{{^offer}}nothing: {{/offer}}{{why}} <span class="muted">({{reason}})</span></td></tr></table>
        <h2>Events</h2>
        <table><tr><th>When</th><th>Event</th><th>Version</th><th>Reason</th></tr>
        {{#events}}<tr><td title="{{at}}">{{ago}}</td><td class="{{eventClass}}">{{type}}{{#firmware}} <span class="muted">(firmware)</span>{{/firmware}}</td><td>{{version}}</td><td>{{reason}}</td></tr>
        {{/events}}{{^events}}<tr><td colspan="4" class="muted">None yet.</td></tr>{{/events}}
        </table>
        <h2>Downloads</h2>
        <table><tr><th>When</th><th>Blob</th><th>Form</th><th class="n">Bytes</th><th class="n">Status</th></tr>
        {{#downloads}}<tr><td>{{at}}</td><td><code>{{sha256}}</code></td><td>{{encoding}}</td><td class="n">{{bytes}}</td><td class="n {{#bad}}bad{{/bad}}">{{status}}</td></tr>
        {{/downloads}}{{^downloads}}<tr><td colspan="5" class="muted">None yet.</td></tr>{{/downloads}}
        </table>
        <p class="muted">The newest {{historyLimit}} of each; <code>GET /api/v1/admin/devices/{{id}}/events</code> and <code>…/downloads</code> have the rest.</p>
        <h2 id="actions">Actions</h2>
        <form class="act" method="post" action="/dashboard/devices/{{id}}/tags"><input type="hidden" name="csrf" value="{{csrf}}">
        Tags now: {{#tags}}<code>{{tags}}</code>{{/tags}}{{^tags}}none{{/tags}} ·
        <label>add <input name="add" maxlength="2000" size="16"></label> <label>remove <input name="remove" maxlength="2000" size="16"></label>
        <button type="submit">Change tags</button> <span class="muted">comma- or space-separated</span></form>
        <form class="act" method="post" action="/dashboard/devices/{{id}}/pin"><input type="hidden" name="csrf" value="{{csrf}}">
        <label>pin to <input name="version" value="{{pin}}" list="release-options" required maxlength="64" size="10"></label>
        <datalist id="release-options">{{#releaseOptions}}<option value="{{.}}">{{/releaseOptions}}</datalist>
        <button type="submit">Pin</button> <span class="muted">a release of its channel: it is offered that one and no other</span></form>
        <p>{{#buttons}}<form class="inline" method="post" action="{{path}}"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" name="do" value="{{action}}" {{#danger}}class="danger"{{/danger}}>{{label}}</button></form> {{/buttons}}</p>
        """
}
