/// Where a release file may land on a device (docs/protocol.md, "Paths").
///
/// The same rules run on the device; both sides refuse rather than repair a bad path.
/// A release may carry the agent itself (files under ``agentFolder``), but never its boot stage or its state.
public enum ReleasePath {
    public static let maxBytes = 128
    public static let maxSegmentBytes = 64
    public static let maxSegments = 8

    /// Paths the agent owns, each with everything below it: `boot.py` is the fixed boot stage that must survive
    /// any release (it is what rolls a bad one back), and `.aloft` holds the agent's state.
    public static let reserved: [String] = ["boot.py", ".aloft"]
    /// The agent's package folder. A release may replace the files in it, and then must replace all of them
    /// (``ReleaseManifest/validate()``); the folder's own name is never a file.
    public static let agentFolder = "lib/aloft"
    /// The agent file every release that carries the agent must have.
    public static let agentInitFile = agentFolder + "/__init__.py"
    /// The agent's compiled modules in one file (the pack form, docs/device.md "The agent in one pack"). The copy of the
    /// previous agent kept during an agent update holds only its 32-byte header, inline in its folder.
    public static let agentPackFile = agentFolder + "/agent.pk"
    /// Agent files a release may carry: the device holds their names while it plans an install.
    public static let maxAgentFiles = 64

    public static func validate(_ path: String) throws(AloftError) {
        let shown = String(path.prefix(80))
        func fail(_ why: String) -> AloftError { AloftError("invalid path '\(shown)': \(why)") }
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { throw fail("empty") }
        guard bytes.count <= maxBytes else { throw fail("longer than \(maxBytes) bytes") }
        guard bytes.first != UInt8(ascii: "/") else { throw fail("absolute paths are not allowed") }
        guard !bytes.contains(UInt8(ascii: "\\")) else { throw fail("backslashes are not allowed") }
        guard bytes.allSatisfy(isAllowed) else { throw fail("only A-Z a-z 0-9 . _ - + = @ ~ , and / are allowed") }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count <= maxSegments else { throw fail("more than \(maxSegments) levels") }
        for segment in segments {
            if segment.isEmpty { throw fail("empty path segment") }
            if segment == "." || segment == ".." { throw fail("'.' and '..' are not allowed") }
            if segment.utf8.count > maxSegmentBytes { throw fail("a segment is longer than \(maxSegmentBytes) bytes") }
        }
        if let owner = reservedOwner(path) { throw fail("reserved for the Aloft agent ('\(owner)')") }
    }

    public static func isValid(_ path: String) -> Bool {
        (try? validate(path)) != nil
    }

    /// The reserved entry a path falls under, if any: an entry of ``reserved`` or exactly ``agentFolder``.
    public static func reservedOwner(_ path: String) -> String? {
        if path == agentFolder { return agentFolder }
        return reserved.first { path == $0 || path.hasPrefix($0 + "/") }
    }

    /// Whether the path is one of the agent's own files, which a release may carry to update the agent.
    public static func isAgentFile(_ path: String) -> Bool {
        path.hasPrefix(agentFolder + "/")
    }

    static func isAllowed(_ c: UInt8) -> Bool {
        Identifiers.isAlnum(c) || Array("._-+=@~,/".utf8).contains(c)
    }
}

/// A board glob from a manifest: `*` is any run of characters, `?` one character, case-sensitive.
public struct BoardPattern: Sendable, Equatable {
    public let pattern: String

    public init(_ pattern: String) throws(AloftError) {
        guard (1...64).contains(pattern.utf8.count),
              pattern.utf8.allSatisfy({ Identifiers.isAlnum($0) || Array("*?._-+/".utf8).contains($0) })
        else {
            throw AloftError("invalid board pattern '\(pattern.prefix(80))': use 1-64 of A-Z a-z 0-9 . _ - + / and the wildcards * ?")
        }
        self.pattern = pattern
    }

    public func matches(_ board: String) -> Bool {
        Self.glob(Array(pattern.utf8)[...], Array(board.utf8)[...])
    }

    /// Iterative glob with single-star backtracking: linear in practice, no recursion blow-up.
    private static func glob(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>) -> Bool {
        let p = Array(p), s = Array(s)
        var pi = 0, si = 0
        var star = -1, mark = 0
        while si < s.count {
            if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == s[si] {
                pi += 1
                si += 1
            } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
                star = pi
                mark = si
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                si = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
