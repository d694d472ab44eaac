import AloftCore
import AloftStore
import Foundation
import Mustache

/// The fleet at a glance: one server-rendered page, no JavaScript, behind the admin token.
///
/// Rendering is a pure function of store records, so tests check it without HTTP.
struct Dashboard: Sendable {
    struct DeviceRow {
        var id: String
        var channel: String
        var version: String
        var sequence: Int
        var board: String
        var agent: String
        var lastSeen: String
        var lastEvent: String
        var eventClass: String
    }

    struct ReleaseRow {
        var channel: String
        var sequence: Int
        var version: String
        var files: Int
        var size: Int
        var devices: Int
    }

    struct EventCount {
        var type: String
        var count: Int
    }

    private let template: MustacheTemplate

    init() {
        // The template is a constant; a parse failure is a bug caught by the dashboard test.
        template = try! MustacheTemplate(string: Self.page)
    }

    func render(devices: [DeviceRecord], releases: [ReleaseRecord], now: Date = Date()) -> String {
        let rows = devices.map { d in
            DeviceRow(
                id: d.id, channel: d.channel, version: d.version ?? "-", sequence: d.sequence, board: d.board ?? "-", agent: d.agent ?? "-",
                lastSeen: d.lastSeen.map { Self.ago($0, now: now) } ?? "never",
                lastEvent: d.lastEvent.map { e in [e.type, e.version ?? "", e.reason.map { "(\($0))" } ?? ""].filter { !$0.isEmpty }.joined(separator: " ") } ?? "-",
                eventClass: d.lastEvent.map { ["failed", "rolled_back"].contains($0.type) ? "bad" : ($0.type == "deferred" ? "warn" : "ok") } ?? "")
        }
        let onSequence = Dictionary(grouping: devices, by: { "\($0.channel)#\($0.sequence)" }).mapValues(\.count)
        let releaseRows = releases.map {
            ReleaseRow(channel: $0.channel, sequence: $0.sequence, version: $0.version, files: $0.fileCount, size: $0.totalSize,
                       devices: onSequence["\($0.channel)#\($0.sequence)"] ?? 0)
        }
        let counts = Dictionary(grouping: devices.compactMap { $0.lastEvent?.type }, by: { $0 }).map { EventCount(type: $0.key, count: $0.value.count) }
            .sorted { $0.type < $1.type }
        let context: [String: Any] = [
            "deviceCount": devices.count, "releaseCount": releases.count, "devices": rows, "releases": releaseRows,
            "lastEvents": counts, "generated": ReleaseManifest.timestamp(now),
        ]
        return template.render(context)
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

    static let page = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Aloft fleet</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}
        table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .8em;border-bottom:1px solid #ddd}
        th{background:#f4f4f4}.bad{color:#b00020;font-weight:600}.warn{color:#a66b00}.ok{color:#1b5e20}.muted{color:#777}
        </style></head><body>
        <h1>Aloft fleet</h1>
        <p class="muted">{{deviceCount}} devices, {{releaseCount}} releases. Generated {{generated}}.
        {{#lastEvents}}<span class="pill">{{type}}: {{count}}</span> {{/lastEvents}}</p>
        <h2>Devices</h2>
        <table><tr><th>Device</th><th>Channel</th><th>Version</th><th>Seq</th><th>Board</th><th>Agent</th><th>Last seen</th><th>Last event</th></tr>
        {{#devices}}<tr><td>{{id}}</td><td>{{channel}}</td><td>{{version}}</td><td>{{sequence}}</td><td>{{board}}</td><td>{{agent}}</td><td>{{lastSeen}}</td><td class="{{eventClass}}">{{lastEvent}}</td></tr>
        {{/devices}}{{^devices}}<tr><td colspan="8" class="muted">No devices yet: <code>aloft device provision</code>.</td></tr>{{/devices}}
        </table>
        <h2>Releases</h2>
        <table><tr><th>Channel</th><th>Seq</th><th>Version</th><th>Files</th><th>Bytes</th><th>Devices on it</th></tr>
        {{#releases}}<tr><td>{{channel}}</td><td>{{sequence}}</td><td>{{version}}</td><td>{{files}}</td><td>{{size}}</td><td>{{devices}}</td></tr>
        {{/releases}}{{^releases}}<tr><td colspan="6" class="muted">No releases yet: <code>aloft release publish</code>.</td></tr>{{/releases}}
        </table>
        </body></html>
        """
}
