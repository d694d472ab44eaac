import Foundation
import TestSupport

/// Turns a valid JSON object into an almost valid one: the inputs that find the bugs a parser's happy path hides.
///
/// Works on a flat view of the object (`key: raw value text`) for structural changes, and on raw bytes for the rest.
struct JSONMutator {
    /// Raw JSON values that each stress something: types, limits, number edges, encodings, nesting.
    static let values: [String] = [
        "null", "true", "false", "0", "-1", "1.5", "-0", "1e999", "-1e999", "1E2", "123456789012345678901234567890",
        "9007199254740991", "9007199254740992", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        #""""#, #""x""#, #""1.0.0""#, #""1.0.0-rc.1+build.5""#, #""installed""#, #""failed""#, #""esp32""#,
        #""\u0000""#, #""\ud800""#, #""\udfff\ud800""#, #""ésp32-🛰""#, #""\"\\\/\b\f\n\r\t""#, #""../../etc/passwd""#,
        "\"" + String(repeating: "a", count: 600) + "\"", "\"" + String(repeating: "é", count: 300) + "\"",
        "[]", "{}", "[1,2,3]", #"{"a":1}"#, #"["x"]"#,
        String(repeating: "[", count: 40) + String(repeating: "]", count: 40),
        String(repeating: #"{"a":"#, count: 20) + "1" + String(repeating: "}", count: 20),
    ]

    /// Text inserted as is: invalid UTF-8, stray structure, control bytes.
    static let fragments: [[UInt8]] = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x00], [0x7f], Array(",".utf8), Array("}".utf8),
                                       Array("]".utf8), Array(#"":"#.utf8), Array("\\".utf8), Array("\"".utf8), Array("NaN".utf8), [0x0a]]

    var random: SeededRandom

    /// One mutation of a flat object given as ordered pairs of key and raw value text.
    mutating func mutate(_ fields: [(String, String)]) -> [UInt8] {
        var fields = fields
        switch Int.random(in: 0..<12, using: &random) {
        case 0, 1, 2:  // a field gets a value of another type or at a limit
            if !fields.isEmpty { fields[index(fields.count)].1 = pick(Self.values) }
        case 3:  // a field goes missing
            if !fields.isEmpty { fields.remove(at: index(fields.count)) }
        case 4:  // an unknown field
            fields.insert((pick(["extra", "ID", "id ", "", "__proto__", "é"]), pick(Self.values)), at: index(fields.count + 1))
        case 5:  // a key twice
            if !fields.isEmpty { fields.append((fields[index(fields.count)].0, pick(Self.values))) }
        case 6:  // the whole body nested deep
            let depth = Int.random(in: 1...20_000, using: &random)
            return Array((String(repeating: "[", count: depth) + render(fields) + String(repeating: "]", count: depth)).utf8)
        default:
            return mutateBytes(Array(render(fields).utf8))
        }
        return Array(render(fields).utf8)
    }

    /// Byte-level damage: flips, truncation, insertions, deletions, repeats.
    mutating func mutateBytes(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        guard !bytes.isEmpty else { return pick(Self.fragments) }
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            switch Int.random(in: 0..<5, using: &random) {
            case 0:
                let i = index(bytes.count)
                bytes[i] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
            case 1:
                bytes = Array(bytes.prefix(index(bytes.count)))
            case 2:
                bytes.insert(contentsOf: pick(Self.fragments), at: index(bytes.count + 1))
            case 3:
                let start = index(bytes.count)
                bytes.removeSubrange(start..<min(bytes.count, start + Int.random(in: 1...8, using: &random)))
            default:
                let start = index(bytes.count)
                let span = bytes[start..<min(bytes.count, start + Int.random(in: 1...16, using: &random))]
                bytes.insert(contentsOf: span, at: start)
            }
            if bytes.isEmpty { break }
        }
        return bytes
    }

    func render(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(Self.quote($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    static func quote(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    mutating func index(_ count: Int) -> Int { Int.random(in: 0..<max(count, 1), using: &random) }

    mutating func pick<T>(_ items: [T]) -> T { items[index(items.count)] }
}
