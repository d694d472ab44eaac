import Foundation

/// When a rollout may offer its release: some days of the week, from one time of day to another, in UTC or a fixed offset.
///
/// Written as `Mon-Fri 01:00-05:00 UTC`, `Sat,Sun 22:00-02:00 UTC` (across midnight: it closes the next day),
/// `01:00-05:00 UTC` (every day) or `Mon 03:00-04:00 UTC+02:00`. The days are the days the window opens on.
/// Arithmetic on seconds, no calendar: a week is 7 × 86400 s, and 1970-01-01 was a Thursday.
public struct MaintenanceWindow: Sendable, Equatable, Codable, CustomStringConvertible {
    public static let dayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    static let week = 7 * 86_400

    /// As written.
    public let text: String
    /// The days it opens on, 0 = Monday.
    public let days: Set<Int>
    /// Minutes after midnight, local to `offset`.
    public let start: Int
    /// Minutes it stays open: 1 to 1440.
    public let length: Int
    /// Seconds east of UTC.
    public let offset: Int

    public var description: String { text }

    public init(_ text: String) throws(AloftError) {
        func fail(_ why: String) -> AloftError {
            AloftError("invalid maintenance window '\(text.prefix(80))': \(why); write it like \"Mon-Fri 01:00-05:00 UTC\"")
        }
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard (2...3).contains(words.count) else { throw fail("expected [DAYS] HH:MM-HH:MM UTC") }
        var days = Set(0..<7)
        if words.count == 3 {
            days = []
            for item in words[0].lowercased().split(separator: ",", omittingEmptySubsequences: false) {
                let ends = item.split(separator: "-", omittingEmptySubsequences: false).map { Self.dayNames.firstIndex(of: String($0)) }
                guard (1...2).contains(ends.count), let first = ends[0], let last = ends.last ?? nil else {
                    throw fail("days are Mon Tue Wed Thu Fri Sat Sun, as a list (Mon,Wed) or a range (Mon-Fri)")
                }
                var day = first
                while true {
                    days.insert(day)
                    if day == last { break }
                    day = (day + 1) % 7
                }
            }
        }
        let times = words[words.count - 2].split(separator: "-", omittingEmptySubsequences: false).map { Self.minutes(String($0)) }
        guard times.count == 2, let start = times[0], let end = times[1], start < 1440 else {
            throw fail("the times must be HH:MM-HH:MM, from 00:00 to 24:00")
        }
        let length = (end - start + 1440) % 1440
        guard length > 0 || (start == 0 && end == 1440) else { throw fail("it opens and closes at the same time") }
        guard let offset = Self.offset(words[words.count - 1]) else { throw fail("the zone must be UTC or UTC+HH:MM / UTC-HH:MM") }
        self.text = text
        self.days = days
        self.start = start
        self.length = length == 0 ? 1440 : length
        self.offset = offset
    }

    /// Whether the window is open at `date`.
    public func contains(_ date: Date) -> Bool {
        let now = weekSecond(date)
        return days.contains { day in Self.mod(now - (day * 86_400 + start * 60), Self.week) < length * 60 }
    }

    /// The next time the window opens, at or after `date`.
    public func nextOpening(after date: Date) -> Date {
        let now = weekSecond(date)
        let wait = days.map { day in Self.mod(day * 86_400 + start * 60 - now, Self.week) }.min() ?? 0
        let whole = Int(date.timeIntervalSince1970.rounded(.down))
        return Date(timeIntervalSince1970: Double(whole + wait))
    }

    /// Seconds since Monday 00:00 in the window's zone.
    private func weekSecond(_ date: Date) -> Int {
        let local = Int(date.timeIntervalSince1970.rounded(.down)) + offset
        let day = Self.floorDiv(local, 86_400)
        return Self.mod(day + 3, 7) * 86_400 + Self.mod(local, 86_400)
    }

    private static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }), let h = Int(parts[0]), let m = Int(parts[1]),
              (0...24).contains(h), (0..<60).contains(m), h < 24 || m == 0
        else { return nil }
        return h * 60 + m
    }

    private static func offset(_ text: String) -> Int? {
        guard text.uppercased().hasPrefix("UTC") else { return nil }
        let rest = text.dropFirst(3)
        if rest.isEmpty { return 0 }
        guard let sign = rest.first, sign == "+" || sign == "-" else { return nil }
        let parts = rest.dropFirst().split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ (1...2).contains($0.count) && $0.allSatisfy(\.isASCII) }),
              let h = Int(parts[0]), (0...14).contains(h)
        else { return nil }
        let m = parts.count == 2 ? Int(parts[1]) : 0
        guard let m, (0..<60).contains(m) else { return nil }
        return (sign == "+" ? 1 : -1) * (h * 3600 + m * 60)
    }

    private static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
    private static func mod(_ a: Int, _ b: Int) -> Int { ((a % b) + b) % b }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }
}
