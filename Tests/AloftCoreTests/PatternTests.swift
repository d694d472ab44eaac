import Foundation
import TestSupport
import Testing

@testable import AloftCore

/// The regular expressions the OpenAPI document publishes against the Swift rules the server enforces: on a corpus of
/// edge cases and seeded random strings, each accepts exactly what its rule accepts.
@Suite struct PatternTests {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let regex = try! NSRegularExpression(pattern: pattern)
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// `count` strings over `alphabet`, 0 to `maxLength` characters long.
    static func randomStrings(_ alphabet: String, count: Int, maxLength: Int, seed: UInt64) -> [String] {
        var random = SeededRandom(seed: seed)
        let characters = Array(alphabet)
        return (0..<count).map { _ in
            String((0..<Int.random(in: 0...maxLength, using: &random)).map { _ in characters.randomElement(using: &random)! })
        }
    }

    @Test func namesAndDeviceIDs() {
        let edges = [
            "", "a", "A", "0", "-a", ".a", "_a", "a-", "a.b_c-d", String(repeating: "a", count: 64), String(repeating: "a", count: 65), "a b", "a/b",
            "é", "a\n", "\na", "aé",
        ]
        for name in edges + Self.randomStrings("aZ09._-/ é\n", count: 2000, maxLength: 70, seed: 1) {
            let valid = (try? Identifiers.validateName(name, what: "name")) != nil
            #expect(Self.matches(Identifiers.namePattern, name) == valid || name.hasSuffix("\n"), "'\(name)'")
        }
    }

    @Test func channels() {
        let edges = ["", "a", "0", "-a", "a-", "A", "a_b", String(repeating: "a", count: 32), String(repeating: "a", count: 33), "stable"]
        for channel in edges + Self.randomStrings("az09-A_.", count: 2000, maxLength: 36, seed: 2) {
            let valid = (try? Identifiers.validateChannel(channel)) != nil
            #expect(Self.matches(Identifiers.channelPattern, channel) == valid, "'\(channel)'")
        }
    }

    @Test func semanticVersions() {
        let edges = [
            "1.2.0", "0.0.0", "01.2.0", "1.2", "1.2.3.4", "1.2.3-", "1.2.3-rc.1", "1.2.3-rc.01", "1.2.3-0", "1.2.3-00", "1.2.3-0a", "1.2.3-a..b",
            "1.2.3+", "1.2.3+007", "1.2.3+a.b", "1.2.3-rc+b", "1.2.3--", "1.2.3-a-b", "123456789.0.0", "1234567890.0.0", "1.2.3-" + String(repeating: "a", count: 58),
            "1.2.3-" + String(repeating: "a", count: 59),
        ]
        for text in edges + Self.randomStrings("0123.-+a", count: 4000, maxLength: 14, seed: 3) {
            let valid = SemanticVersion(text) != nil
            let matched = Self.matches(SemanticVersion.pattern, text) && text.utf8.count <= SemanticVersion.maxLength
            #expect(matched == valid, "'\(text)'")
        }
    }

    @Test func timestamps() {
        let edges = ["2026-11-29T02:33:34Z", "2026-11-29T02:33:34", "2026-11-29 02:33:34Z", "2026-11-29T02:33:34.0Z", "20261-11-29T02:33:34Z"]
        for text in edges + Self.randomStrings("0129-:TZ", count: 2000, maxLength: 22, seed: 4) {
            #expect(Self.matches(ReleaseManifest.timestampPattern, text) == ReleaseManifest.isTimestamp(text), "'\(text)'")
        }
    }
}
