/// Rules in gitignore syntax, as in a release folder's `.aloftignore`: which paths of the folder are left out.
///
/// Pure: paths are text relative to the folder root with `/` between segments (`lib/util.py`); nothing here touches
/// the disk. The syntax and its meaning are git's (gitignore(5)), for one file at the top of the folder:
///
/// - blank lines match nothing; a line starting with `#` is a comment (`\#` for a pattern that starts with `#`);
/// - trailing spaces are dropped unless escaped with `\`; a trailing `\r` (CRLF files) and a UTF-8 BOM are dropped;
/// - `!` negates: a path that a later `!pattern` matches is included again (`\!` for a literal leading `!`). The last
///   matching line wins, but a path inside an excluded folder stays excluded whatever later lines say (git does not
///   look into an excluded folder either);
/// - a `/` at the start or in the middle anchors the pattern at the folder root (`/hello.*`, `doc/frotz`); without one
///   it matches a name at any depth (`*.txt`); a trailing `/` matches folders only;
/// - `*` is any run of characters but `/`, `?` one character but `/`, `[...]` a class (`[a-z]`, `[!0-9]`, `[^x]`,
///   `[[:digit:]]`), `\` makes the next character literal;
/// - `**/` at the start matches in every folder, `/**` at the end everything inside, `/**/` in the middle zero or more
///   folders; any other `**` is a plain `*`.
///
/// The glob is a port of git's `wildmatch` (with `WM_PATHNAME`), so corner cases come out as git's do.
public struct IgnoreRules: Sendable, Equatable {
    /// One pattern line of the file.
    public struct Rule: Sendable, Equatable {
        /// The line's number in the file, from 1.
        public let line: Int
        /// The line as written, without its trailing spaces: what messages show.
        public let text: String
        /// `!pattern`: a path it matches is included again.
        public let negated: Bool
        /// `pattern/`: it matches folders only.
        public let directoryOnly: Bool
        /// It matches the whole path from the folder root (the pattern has a `/` at its start or in its middle),
        /// else the last segment, at any depth.
        public let anchored: Bool
        /// The glob without `!`, a leading `/` and a trailing `/`.
        let glob: [UInt8]

        /// Whether this line's pattern matches `path` (negated or not; folders above `path` are not considered).
        public func matches(_ path: String, isDirectory: Bool) -> Bool {
            if directoryOnly && !isDirectory { return false }
            var text = Array(path.utf8)
            if !anchored, let slash = text.lastIndex(of: Glob.slash) { text = Array(text[(slash + 1)...]) }
            return Glob.matches(glob, text)
        }
    }

    /// The pattern lines, in file order (blank lines and comments left out).
    public let rules: [Rule]

    /// Parses the text of an ignore file. Every line is valid: a malformed class such as `[a-` never matches, as in git.
    public init(parsing source: String) {
        // Bytes, not Characters: Swift reads "\r\n" as one Character, so a split on "\n" would miss CRLF line ends.
        var text = Array(source.utf8)[...]
        if text.starts(with: [0xEF, 0xBB, 0xBF]) { text = text.dropFirst(3) }
        var rules: [Rule] = []
        for (index, rawLine) in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            var line = Array(rawLine)
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            guard let first = line.first, first != UInt8(ascii: "#") else { continue }
            line = Self.trimmingTrailingSpaces(line)
            if let rule = Self.rule(line, number: index + 1) { rules.append(rule) }
        }
        self.rules = rules
    }

    /// The last line whose pattern matches `path` itself, negated or not; the folders above `path` are not considered.
    public func lastMatch(_ path: String, isDirectory: Bool) -> Rule? {
        rules.last { $0.matches(path, isDirectory: isDirectory) }
    }

    /// The line that leaves `path` out, or nil when it is kept: the first folder above `path` (from the root down) whose
    /// last match excludes it, else `path`'s own last match when that is not a negation.
    public func exclusion(of path: String, isDirectory: Bool) -> Rule? {
        let segments = path.split(separator: "/")
        var prefix = ""
        for (index, segment) in segments.enumerated() {
            prefix = index == 0 ? String(segment) : prefix + "/" + segment
            let isLast = index == segments.count - 1
            if let rule = lastMatch(prefix, isDirectory: isLast ? isDirectory : true), !rule.negated { return rule }
        }
        return nil
    }

    /// Whether the rules leave `path` out (``exclusion(of:isDirectory:)`` finds a line).
    public func excludes(_ path: String, isDirectory: Bool) -> Bool {
        exclusion(of: path, isDirectory: isDirectory) != nil
    }

    /// git's `trim_trailing_spaces`: drop the trailing run of spaces, but not a space escaped with `\` (tabs stay).
    static func trimmingTrailingSpaces(_ line: [UInt8]) -> [UInt8] {
        var end = line.count
        var trailingSpaces: Int?
        var i = 0
        while i < line.count {
            switch line[i] {
            case UInt8(ascii: " "):
                if trailingSpaces == nil { trailingSpaces = i }
            case UInt8(ascii: "\\"):
                i += 1
                if i == line.count { return line }
                trailingSpaces = nil
            default:
                trailingSpaces = nil
            }
            i += 1
        }
        if let trailingSpaces { end = trailingSpaces }
        return Array(line[..<end])
    }

    /// git's `parse_path_pattern`: `!`, then a trailing `/` (folders only), then whether a `/` is left (anchored).
    static func rule(_ line: [UInt8], number: Int) -> Rule? {
        var pattern = line[...]
        let negated = pattern.first == UInt8(ascii: "!")
        if negated { pattern = pattern.dropFirst() }
        let directoryOnly = pattern.last == Glob.slash
        if directoryOnly { pattern = pattern.dropLast() }
        let anchored = pattern.contains(Glob.slash)
        if anchored && pattern.first == Glob.slash { pattern = pattern.dropFirst() }
        guard !pattern.isEmpty else { return nil }
        return Rule(
            line: number, text: String(decoding: line, as: UTF8.self), negated: negated, directoryOnly: directoryOnly,
            anchored: anchored, glob: Array(pattern))
    }
}

/// git's `wildmatch` with `WM_PATHNAME` (no case folding), over UTF-8 bytes. Index past either end reads as 0,
/// the C string terminator, which keeps the port line for line comparable with git's `dowild`.
enum Glob {
    static let slash = UInt8(ascii: "/")
    static let star = UInt8(ascii: "*")
    static let backslash = UInt8(ascii: "\\")

    private enum Outcome { case match, noMatch, abortAll, abortToStarStar }

    /// Whether `pattern` matches all of `text`.
    static func matches(_ pattern: [UInt8], _ text: [UInt8]) -> Bool {
        match(pattern, from: 0, text, from: 0) == .match
    }

    private static func isSpecial(_ c: UInt8) -> Bool {
        c == star || c == UInt8(ascii: "?") || c == UInt8(ascii: "[") || c == backslash
    }

    private static func match(_ pattern: [UInt8], from pStart: Int, _ text: [UInt8], from tStart: Int) -> Outcome {
        func p(_ i: Int) -> UInt8 { i < pattern.count ? pattern[i] : 0 }
        func t(_ i: Int) -> UInt8 { i < text.count ? text[i] : 0 }
        var pi = pStart, ti = tStart
        while p(pi) != 0 {
            var pc = p(pi)
            var tc = t(ti)
            if tc == 0 && pc != star { return .abortAll }
            switch pc {
            case backslash:
                // The next character is literal.
                pi += 1
                pc = p(pi)
                if tc != pc { return .noMatch }
            case UInt8(ascii: "?"):
                if tc == slash { return .noMatch }
            case star:
                var matchSlash = false
                pi += 1
                if p(pi) == star {
                    let before = pi - 2
                    repeat { pi += 1 } while p(pi) == star
                    if (before < 0 || pattern[before] == slash)
                        && (p(pi) == 0 || p(pi) == slash || (p(pi) == backslash && p(pi + 1) == slash))
                    {
                        // `**/` may match no folder at all: try the rest of the pattern right here.
                        if p(pi) == slash && match(pattern, from: pi + 1, text, from: ti) == .match { return .match }
                        matchSlash = true
                    }
                }
                if p(pi) == 0 {
                    // A trailing `**` matches everything; a trailing `*` only what has no more slashes.
                    if !matchSlash && text[min(ti, text.count)...].contains(slash) { return .noMatch }
                    return .match
                }
                if !matchSlash && p(pi) == slash {
                    // One `*` before a slash matches the rest of this segment; the loop's step consumes both slashes.
                    guard let next = text[min(ti, text.count)...].firstIndex(of: slash) else { return .noMatch }
                    ti = next
                    break
                }
                while tc != 0 {
                    if !isSpecial(p(pi)) {
                        // Skip ahead to the next place the literal after the star occurs (not past a slash for `*`).
                        pc = p(pi)
                        while true {
                            tc = t(ti)
                            if tc == 0 || (!matchSlash && tc == slash) || tc == pc { break }
                            ti += 1
                        }
                        if tc != pc { return .noMatch }
                    }
                    let rest = match(pattern, from: pi, text, from: ti)
                    if rest != .noMatch {
                        if !matchSlash || rest != .abortToStarStar { return rest }
                    } else if !matchSlash && tc == slash {
                        return .abortToStarStar
                    }
                    ti += 1
                    tc = t(ti)
                }
                return .abortAll
            case UInt8(ascii: "["):
                pi += 1
                pc = p(pi)
                if pc == UInt8(ascii: "^") { pc = UInt8(ascii: "!") }
                let negated = pc == UInt8(ascii: "!")
                if negated {
                    pi += 1
                    pc = p(pi)
                }
                var previous: UInt8 = 0
                var matched = false
                func advance() -> Bool {
                    previous = pc
                    pi += 1
                    pc = p(pi)
                    return pc != UInt8(ascii: "]")
                }
                repeat {
                    if pc == 0 { return .abortAll }
                    if pc == backslash {
                        pi += 1
                        pc = p(pi)
                        if pc == 0 { return .abortAll }
                        if tc == pc { matched = true }
                    } else if pc == UInt8(ascii: "-") && previous != 0 && p(pi + 1) != 0 && p(pi + 1) != UInt8(ascii: "]") {
                        pi += 1
                        pc = p(pi)
                        if pc == backslash {
                            pi += 1
                            pc = p(pi)
                            if pc == 0 { return .abortAll }
                        }
                        if tc <= pc && tc >= previous { matched = true }
                        pc = 0  // a range does not start another range
                    } else if pc == UInt8(ascii: "[") && p(pi + 1) == UInt8(ascii: ":") {
                        pi += 2
                        let nameStart = pi
                        while p(pi) != 0 && p(pi) != UInt8(ascii: "]") { pi += 1 }
                        if p(pi) == 0 { return .abortAll }
                        let nameLength = pi - nameStart - 1
                        if nameLength < 0 || p(pi - 1) != UInt8(ascii: ":") {
                            // Not `[:name:]`: the `[` is a plain member.
                            pi = nameStart - 2
                            pc = UInt8(ascii: "[")
                            if tc == pc { matched = true }
                            continue
                        }
                        let name = String(decoding: pattern[nameStart..<(nameStart + nameLength)], as: UTF8.self)
                        guard let member = characterClass(name) else { return .abortAll }
                        if member(tc) { matched = true }
                        pc = 0
                    } else if tc == pc {
                        matched = true
                    }
                } while advance()
                if matched == negated || tc == slash { return .noMatch }
            default:
                if tc != pc { return .noMatch }
            }
            pi += 1
            ti += 1
        }
        return ti >= text.count ? .match : .noMatch
    }

    /// The POSIX classes `[[:name:]]` that git's wildmatch knows, over ASCII.
    private static func characterClass(_ name: String) -> ((UInt8) -> Bool)? {
        func within(_ c: UInt8, _ low: Character, _ high: Character) -> Bool { c >= low.asciiValue! && c <= high.asciiValue! }
        let alpha = { (c: UInt8) in within(c, "a", "z") || within(c, "A", "Z") }
        let digit = { (c: UInt8) in within(c, "0", "9") }
        let graph = { (c: UInt8) in c > 0x20 && c < 0x7F }
        switch name {
        case "alnum": return { alpha($0) || digit($0) }
        case "alpha": return alpha
        case "blank": return { $0 == 0x20 || $0 == 0x09 }
        case "cntrl": return { $0 < 0x20 || $0 == 0x7F }
        case "digit": return digit
        case "graph": return graph
        case "lower": return { within($0, "a", "z") }
        case "print": return { $0 >= 0x20 && $0 < 0x7F }
        case "punct": return { graph($0) && !alpha($0) && !digit($0) }
        case "space": return { $0 == 0x20 || (0x09...0x0D).contains($0) }
        case "upper": return { within($0, "A", "Z") }
        case "xdigit": return { digit($0) || within($0, "a", "f") || within($0, "A", "F") }
        default: return nil
        }
    }
}
