import Foundation
import Testing

@testable import AloftCore

/// The reasons the agent's source (device/aloft/*.py) can report, as format strings: the first argument of every
/// `job.fail(…)`, `raise ValueError(…)` and `raise OSError(…)` (an exception's text is the reason `core.reason` reports),
/// and the literals a function hands to `job.fail(why)` through `why` (assigned there, or returned by the function that
/// computes it). Literal parts are kept, values become `%s`; an argument with no literal (`str(e)`, `why`) relays a
/// reason made elsewhere, which the scan finds there.
enum AgentReasons {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("device/aloft")

    /// Pattern → the files it is written in.
    static func scan() throws -> [String: Set<String>] {
        var sources: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".py") {
            sources[name] = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        }
        var found: [String: Set<String>] = [:]
        func note(_ patterns: [String], _ file: String) { for p in patterns { found[p, default: []].insert(file) } }
        for (file, text) in sources {
            for call in ["job.fail(", "raise ValueError(", "raise OSError("] {
                for argument in arguments(of: call, in: text) { note(patterns(of: argument), file) }
            }
            // Reasons relayed through `why` to `job.fail(why)`.
            for function in functions(in: text) where function.contains("job.fail(why)") {
                for assigned in assignments(to: "why", in: function) {
                    if let callee = calledFunction(assigned) {
                        for (other, source) in sources {
                            for body in functions(in: source) where body.hasPrefix("def \(callee)(") {
                                for returned in returns(in: body) { note(patterns(of: returned), other) }
                            }
                        }
                    } else {
                        note(patterns(of: assigned), file)
                    }
                }
            }
        }
        return found
    }

    /// The first argument of every call that starts with `call` (which ends with its open parenthesis).
    static func arguments(of call: String, in text: String) -> [String] {
        var out: [String] = []
        var rest = text[...]
        while let range = rest.range(of: call) {
            let before = rest[..<range.lowerBound].last
            rest = rest[range.upperBound...]
            if let before, before.isLetter || before.isNumber || before == "_" { continue }
            let expression = balanced(rest)
            if let first = topLevel(expression, split: ",").first?.trimmingCharacters(in: .whitespacesAndNewlines), !first.isEmpty { out.append(first) }
        }
        return out
    }

    /// Text up to the parenthesis that closes the one just before it, strings skipped.
    static func balanced(_ text: Substring) -> String {
        var depth = 0
        var out = ""
        var iterator = text.makeIterator()
        while let c = iterator.next() {
            if c == "\"" || c == "'" {
                out.append(c)
                while let d = iterator.next() {
                    out.append(d)
                    if d == "\\", let e = iterator.next() { out.append(e); continue }
                    if d == c { break }
                }
                continue
            }
            if c == "(" || c == "[" || c == "{" { depth += 1 }
            if c == ")" || c == "]" || c == "}" {
                if depth == 0 { return out }
                depth -= 1
            }
            out.append(c)
        }
        return out
    }

    /// `text` split at `separator` where it is outside strings and brackets.
    static func topLevel(_ text: String, split separator: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        var quote: Character? = nil
        var escaped = false
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if let q = quote {
                current.append(c)
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == q { quote = nil }
                i = text.index(after: i)
                continue
            }
            if c == "\"" || c == "'" { quote = c }
            if "([{".contains(c) { depth += 1 }
            if ")]}".contains(c) { depth -= 1 }
            if depth == 0, text[i...].hasPrefix(separator) {
                parts.append(current)
                current = ""
                i = text.index(i, offsetBy: separator.count)
                continue
            }
            current.append(c)
            i = text.index(after: i)
        }
        parts.append(current)
        return parts
    }

    /// The value of a Python string literal, or nil when `text` is not one.
    static func literal(_ text: String) -> String? {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let q = t.first, q == "\"" || q == "'", t.count >= 2, t.last == q else { return nil }
        var out = ""
        var escaped = false
        for c in t.dropFirst().dropLast() {
            if escaped {
                out.append(c == "n" ? "\n" : c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == q {
                return nil  // two literals, or something between
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// The reason patterns an expression can produce; none when it has no literal.
    static func patterns(of expression: String) -> [String] {
        let e = expression.trimmingCharacters(in: .whitespacesAndNewlines)
        let conditional = topLevel(e, split: " if ")
        if conditional.count == 2, let otherwise = topLevel(conditional[1], split: " else ").dropFirst().first {
            return patterns(of: conditional[0]) + patterns(of: otherwise)
        }
        let formatted = topLevel(e, split: " % ")
        if formatted.count == 2, let format = literal(formatted[0]) { return [format] }
        let parts = topLevel(e, split: "+").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.contains(where: { literal($0) != nil }) else { return [] }
        return [parts.map { literal($0) ?? "%s" }.joined()]
    }

    /// Each `def` of `text` (top level or in a class), from its `def` to the next one.
    static func functions(in text: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var out: [String] = []
        var current: [Substring]? = nil
        for line in lines {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("def ") {
                if let current { out.append(current.joined(separator: "\n")) }
                current = [Substring(line.trimmingCharacters(in: .whitespaces))]
            } else {
                current?.append(line)
            }
        }
        if let current { out.append(current.joined(separator: "\n")) }
        return out
    }

    static func assignments(to name: String, in function: String) -> [String] {
        function.split(separator: "\n").compactMap { line in
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("\(name) = ") else { return nil }
            return String(t.dropFirst(name.count + 3))
        }
    }

    static func returns(in function: String) -> [String] {
        function.split(separator: "\n").compactMap { line in
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("return ") else { return nil }
            return String(t.dropFirst(7))
        }
    }

    /// `refusal` of `refusal(fw, r, nxt, buf)`, when the expression is a plain call.
    static func calledFunction(_ expression: String) -> String? {
        guard let open = expression.firstIndex(of: "("), expression.hasSuffix(")") else { return nil }
        let name = expression[..<open]
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
        return String(name)
    }
}

/// Lasting and passing failures: every reason the agent can report is classified on purpose, and texts match their rule.
@Suite struct FailureReasonTests {
    @Test func everyReasonTheAgentCanReportIsInTheTable() throws {
        let found = try AgentReasons.scan()
        // The scan sees the reasons it should: a sample of each way a reason is written.
        for known in [
            "insufficient storage: need %d bytes, %d free", "insufficient storage: flash full", "expired at %s", "incompatible: %s",
            "files not sorted by path or not unique at %s", "%s: not <sha256> <size> <path>", "sha256 mismatch for %s",
            "a downgrade (MicroPython %d.%d.%d to %s)", "the image in %s is %d bytes long, the release says %d", "no RAM to load the %s stage (%s)",
        ] {
            #expect(found[known] != nil, "the scan of the agent misses \(known)")
        }
        #expect(found.count > 60)
        let table = Set(FailureReasons.rules.map(\.pattern))
        for (pattern, files) in found.sorted(by: { $0.key < $1.key }) {
            #expect(table.contains(pattern), "\(files.sorted().joined(separator: ", ")) can report \"\(pattern)\": add it to FailureReasons.rules as lasting or passing")
        }
        // And the table holds nothing the agent no longer says (the texts composed from an exception are apart).
        for rule in FailureReasons.rules { #expect(found[rule.pattern] != nil, "no agent file says \"\(rule.pattern)\" any more") }
    }

    @Test func eachRuleMatchesItsOwnTextsFirst() {
        for rule in FailureReasons.rules + FailureReasons.exceptionRules {
            for values in [("x", "7"), ("lib/big.py", "843776"), ("", "0")] {
                let text = rule.pattern.replacingOccurrences(of: "%%", with: "\u{1}")
                    .replacingOccurrences(of: "%02x", with: "e9").replacingOccurrences(of: "%d", with: values.1)
                    .replacingOccurrences(of: "%s", with: values.0).replacingOccurrences(of: "%r", with: "'\(values.0)'")
                    .replacingOccurrences(of: "\u{1}", with: "%")
                #expect(FailureReasons.rule(for: text) == rule, "\"\(text)\" is matched by \(FailureReasons.rule(for: text)?.pattern ?? "nothing"), not \(rule.pattern)")
            }
        }
    }

    @Test func kindsOfRealTexts() {
        #expect(FailureReasons.kind(of: "insufficient storage: need 843776 bytes, 307200 free") == .noFlash)
        #expect(FailureReasons.kind(of: "insufficient storage: flash full while writing lib/big.bin") == .noFlash)
        #expect(FailureReasons.kind(of: "MemoryError: memory allocation failed, allocating 4096 bytes") == .lasting)
        #expect(FailureReasons.kind(of: "incompatible: board esp32 not in rp2-*") == .lasting)
        #expect(FailureReasons.kind(of: "signed by 0 trusted key(s), 1 needed") == .lasting)
        #expect(FailureReasons.kind(of: "a downgrade (MicroPython 1.26.0 to 1.24.1)") == .lasting)
        #expect(FailureReasons.kind(of: "download of main.py failed: ECONNRESET") == .passing)
        #expect(FailureReasons.kind(of: "connection closed after 1000 of 60000 bytes of lib/big.bin") == .passing)
        #expect(FailureReasons.kind(of: "HTTP 503 for main.py") == .passing)
        #expect(FailureReasons.kind(of: "server too slow: answer not complete in time") == .passing)
        // %d is digits: a text with a word in its place is not the rule's
        #expect(FailureReasons.rule(for: "insufficient storage: need many bytes, 1 free") == nil)
        // Unknown, empty and missing text: passing, the safe default.
        #expect(FailureReasons.kind(of: "TypeError: unsupported types for __add__: 'int', 'str'") == .passing)
        #expect(FailureReasons.kind(of: "the moon is in the wrong phase") == .passing)
        #expect(FailureReasons.kind(of: "") == .passing)
        #expect(FailureReasons.kind(of: nil) == .passing)
        // The agent cuts reasons at 512 characters: a cut text is known by its beginning, when the cut is in literal text.
        let long = "folder " + String(repeating: "d", count: 480) + " holds files no release installed; it is in the way of the file "
            + String(repeating: "d", count: 300)
        #expect(FailureReasons.kind(of: String(long.prefix(512))) == .lasting)
        #expect(FailureReasons.kind(of: String(long.prefix(500))) == .passing)  // shorter than 512: not the agent's cut
    }
}
