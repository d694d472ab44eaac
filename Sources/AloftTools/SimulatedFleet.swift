import AloftCore
import Foundation
import Synchronization

/// A folder of simulated devices (`aloft sim fleet`): `DIR/<prefix>-001`, `DIR/<prefix>-002`, … each a device folder like
/// `aloft device provision --out` makes, booted a few at a time.
public struct SimulatedFleet: Sendable {
    public let folder: URL
    public let prefix: String

    public init(folder: URL, prefix: String) {
        self.folder = folder
        self.prefix = prefix
    }

    /// The id of member `index` (from 1), which is also its folder's name.
    public func id(_ index: Int) -> String {
        prefix + "-" + (index < 1000 ? String(format: "%03d", index) : String(index))
    }

    public func device(_ index: Int) -> SimulatedDevice {
        SimulatedDevice(folder: folder.appendingPathComponent(id(index)))
    }

    /// Whether member `id` is one of the `share` percent that cannot run the failing release: a stable hash of its id, so
    /// the same devices fail on every run.
    public static func fails(_ id: String, share: Int) -> Bool {
        let digest = Digest.sha256Hex(Array(("aloft-sim-fail " + id).utf8))
        return Int(digest.prefix(4), radix: 16)! % 100 < share
    }

    /// What one device's run came to.
    public struct Outcome: Sendable, Equatable {
        public var id: String
        /// `aloft sim run`'s exit code: 0 idle, 2 stopped for another reason, 124 timed out.
        public var code: Int32
        /// The installed release on its flash after the run (`/.aloft/installed.json`), nil when none.
        public var version: String?
        /// The agent's last line about an update (`aloft: 2.0.0 confirmed`, `aloft: rolling back …`).
        public var last: String
        public var fails: Bool
    }

    /// Boots every member `1...count` until it is idle, `parallel` at a time; each one's output goes to `<member>/output.log`.
    public func run(count: Int, parallel: Int, options: SimulatedDevice.RunOptions, failShare: Int, toolchain: DeviceToolchain)
        -> [Outcome]
    {
        let outcomes = Mutex<[Int: Outcome]>([:])
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = max(1, parallel)
        for index in 1...count {
            let id = id(index), device = device(index)
            queue.addOperation {
                var options = options
                let fails = options.failOn != nil && Self.fails(id, share: failShare)
                if !fails { options.failOn = nil }
                var lines: [String] = []
                let log = device.folder.appendingPathComponent("output.log")
                try? FileManager.default.removeItem(at: log)
                options.output = log
                let code: Int32
                do {
                    code = try device.run(options, toolchain: toolchain) { lines.append($0) }
                } catch {
                    lines.append("aloft sim fleet: \(error)")
                    code = 1
                }
                let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                let outcome = Outcome(
                    id: id, code: code, version: Self.installedVersion(device, toolchain: toolchain),
                    last: Self.lastUpdateLine(output) ?? lines.last ?? "", fails: fails)
                outcomes.withLock { $0[index] = outcome }
            }
        }
        queue.waitUntilAllOperationsAreFinished()
        return outcomes.withLock { all in (1...count).compactMap { all[$0] } }
    }

    static func installedVersion(_ device: SimulatedDevice, toolchain: DeviceToolchain) -> String? {
        guard let text = try? device.read("/.aloft/installed.json", toolchain: toolchain),
            let object = try? JSONSerialization.jsonObject(with: Data(text)) as? [String: Any]
        else { return nil }
        return object["version"] as? String
    }

    /// The agent's last line that says how an update went (confirmed, rolling back, failed, deferred), else its last
    /// "up to date"; at most 100 characters.
    static func lastUpdateLine(_ output: String) -> String? {
        let lines = output.split(separator: "\n").filter { $0.hasPrefix("aloft: ") && !$0.hasPrefix("aloft: reported") }
        let changed = ["confirmed", "rolling back", "update failed", "update deferred", "check failed"]
        let line = lines.last { line in changed.contains { line.contains($0) } } ?? lines.last { $0.contains("up to date") }
        return line.map { $0.count > 100 ? String($0.prefix(99)) + "…" : String($0) }
    }
}
