import AloftCore
import Foundation
import Logging

/// Where a setting of `aloft serve` came from. One rule decides: a flag beats the environment, which beats the config
/// file, which beats the built-in default.
public enum SettingSource: Sendable, Equatable, CustomStringConvertible {
    case flag(String)
    case environment(String)
    case file(path: String, line: Int)
    case builtIn

    public var description: String {
        switch self {
        case .flag(let name): "flag --\(name)"
        case .environment(let name): "env \(name)"
        case .file(let path, let line): "file \(path):\(line)"
        case .builtIn: "default"
        }
    }
}

/// Every setting of `aloft serve`, resolved from flags, the environment, a config file and the defaults.
///
/// ``resolve(flags:environment:file:)`` is a pure function of its inputs, so the precedence is tested without a process;
/// the CLI only gathers the flags it was given, reads the file and prints what this says.
public struct ServeSettings: Sendable, Equatable {
    /// One setting's name: the flag (`--name`), the config file key (`name = …`) and, upper-cased with `_`, the
    /// environment variable (`ALOFT_NAME`).
    public struct Key: Sendable, Equatable {
        public let name: String
        /// Printed as `set` or `not set`, never as its value.
        public let secret: Bool
        public var environmentName: String { "ALOFT_" + name.uppercased().replacingOccurrences(of: "-", with: "_") }
    }

    public static let keys: [Key] = [
        "data", "host", "port", "database", "poll", "device-rate", "ip-rate", "history-days", "log-level", "tls-cert", "tls-key",
    ].map { Key(name: $0, secret: false) } + [Key(name: "admin-token", secret: true)]

    /// The variable naming the config file when `--config` does not.
    public static let configEnvironmentName = "ALOFT_CONFIG"

    /// Each key's value (nil: not set anywhere) and where it came from.
    public private(set) var resolved: [String: (value: String?, source: SettingSource)]

    public var data: String
    public var host: String
    public var port: Int
    /// Nil: none given; the server uses the admin tokens stored in its database, and on a first start makes one.
    public var adminToken: String?
    /// An SQLite path or a postgres:// URL; nil is `DATA/aloft.sqlite`.
    public var database: String?
    public var poll: Int
    public var deviceRate: Int
    public var ipRate: Int
    public var historyDays: Int
    public var logLevel: Logger.Level
    public var tlsCert: String?
    public var tlsKey: String?

    public static func == (a: ServeSettings, b: ServeSettings) -> Bool { a.lines() == b.lines() }

    /// The config file's path: `--config`, else `ALOFT_CONFIG`, else none.
    public static func configPath(flag: String?, environment: [String: String]) -> String? {
        if let flag, !flag.isEmpty { return flag }
        if let path = environment[configEnvironmentName], !path.isEmpty { return path }
        return nil
    }

    /// Resolves every setting.
    ///
    /// - Parameters:
    ///   - flags: the flags given on the command line, by key name (`port`, not `--port`).
    ///   - environment: the process environment; only the `ALOFT_…` names of ``keys`` are read, and systemd's
    ///     `STATE_DIRECTORY`, the default data folder.
    ///   - file: the config file's path (for messages) and text: `key = value` lines, `#` comments, blank lines.
    /// - Throws: one line naming the key, its source and what is wrong: an unknown key or a line without `=` (with the
    ///   file's line), a value that is not a number or out of range, a missing data folder.
    public static func resolve(
        flags: [String: String], environment: [String: String], file: (path: String, text: String)?
    ) throws(AloftError) -> ServeSettings {
        let known = Set(keys.map(\.name))
        for name in flags.keys where !known.contains(name) { throw AloftError("unknown setting --\(name)") }
        var fromFile: [String: (value: String, line: Int)] = [:]
        if let file {
            for (index, raw) in file.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
                if line.isEmpty || line.hasPrefix("#") { continue }
                let at = "\(file.path):\(index + 1)"
                guard let equals = line.firstIndex(of: "=") else { throw AloftError("\(at): expected 'key = value', got '\(line)'") }
                let key = line[..<equals].trimmingCharacters(in: .whitespaces)
                var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                guard known.contains(key) else {
                    throw AloftError("\(at): unknown key '\(key)' (known: \(keys.map(\.name).joined(separator: ", ")))")
                }
                if let earlier = fromFile[key] { throw AloftError("\(at): '\(key)' is set again (first on line \(earlier.line))") }
                fromFile[key] = (value, index + 1)
            }
        }
        var resolved: [String: (value: String?, source: SettingSource)] = [:]
        for key in keys {
            if let value = flags[key.name] {
                resolved[key.name] = (value, .flag(key.name))
            } else if let value = environment[key.environmentName], !value.isEmpty {
                resolved[key.name] = (value, .environment(key.environmentName))
            } else if let file, let entry = fromFile[key.name] {
                resolved[key.name] = (entry.value, .file(path: file.path, line: entry.line))
            } else {
                resolved[key.name] = (defaultValue(key.name, environment: environment), .builtIn)
            }
        }
        return try ServeSettings(resolved: resolved)
    }

    private static func defaultValue(_ name: String, environment: [String: String]) -> String? {
        switch name {
        // systemd's StateDirectory= sets it: the unit needs no data setting of its own.
        case "data": environment["STATE_DIRECTORY"].flatMap { $0.isEmpty ? nil : $0.split(separator: ":").first.map(String.init) }
        case "host": "127.0.0.1"
        case "port": "8080"
        case "poll": "300"
        case "device-rate": "\(RateLimits.standard.devicePerMinute)"
        case "ip-rate": "\(RateLimits.standard.addressPerMinute)"
        case "history-days": "90"
        case "log-level": "info"
        default: nil
        }
    }

    private init(resolved: [String: (value: String?, source: SettingSource)]) throws(AloftError) {
        self.resolved = resolved
        func string(_ name: String) -> String? { resolved[name]?.value }
        func bad(_ name: String, _ problem: String) -> AloftError {
            AloftError("\(name) '\(string(name) ?? "")' from \(resolved[name]!.source) \(problem)")
        }
        func int(_ name: String, _ range: ClosedRange<Int>, _ problem: String) throws(AloftError) -> Int {
            guard let text = string(name), let n = Int(text), range.contains(n) else { throw bad(name, problem) }
            return n
        }
        guard let data = string("data"), !data.isEmpty else {
            throw AloftError("no data folder: pass --data, set ALOFT_DATA, or put 'data = PATH' in the config file")
        }
        self.data = data
        host = string("host") ?? "127.0.0.1"
        guard !host.isEmpty else { throw bad("host", "is empty") }
        port = try int("port", 0...65535, "is not a port (0...65535; 0 picks a free one)")
        adminToken = string("admin-token").flatMap { $0.isEmpty ? nil : $0 }
        database = string("database").flatMap { $0.isEmpty ? nil : $0 }
        poll = try int("poll", 1...86_400, "is not a number of seconds from 1 to 86400")
        deviceRate = try int("device-rate", 0...1_000_000, "is not 0 (no limit) or a number of requests a minute")
        ipRate = try int("ip-rate", 0...1_000_000, "is not 0 (no limit) or a number of requests a minute")
        historyDays = try int("history-days", 0...36_500, "is not 0 (keep forever) to 36500")
        guard let level = string("log-level").flatMap(Logger.Level.init(rawValue:)) else {
            throw bad("log-level", "is not one of trace, debug, info, notice, warning, error, critical")
        }
        logLevel = level
        tlsCert = string("tls-cert").flatMap { $0.isEmpty ? nil : $0 }
        tlsKey = string("tls-key").flatMap { $0.isEmpty ? nil : $0 }
        if (tlsCert == nil) != (tlsKey == nil) { throw AloftError("tls-cert and tls-key go together: set both or neither") }
    }

    /// What `aloft serve --print-config` prints: each setting on a line with where it came from. Secrets say `set`, and
    /// a database URL's password is left out.
    public func lines() -> [String] {
        Self.keys.map { key in
            let (value, source) = resolved[key.name]!
            let shown: String
            if key.secret {
                shown = value == nil ? "not set" : "set"
            } else if key.name == "database" {
                shown = value.map(Self.withoutPassword) ?? "not set (DATA/aloft.sqlite)"
            } else {
                shown = value ?? "not set"
            }
            return "\(key.name) = \(shown)  (\(source))"
        }
    }

    /// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
    static func withoutPassword(_ database: String) -> String {
        guard let scheme = database.range(of: "://"), let at = database[scheme.upperBound...].firstIndex(of: "@") else { return database }
        let userInfo = database[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return database }
        return database[..<colon] + ":***" + database[at...]
    }
}
