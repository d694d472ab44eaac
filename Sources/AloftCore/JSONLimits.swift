/// Limits a JSON text must meet before a parser sees it.
///
/// Parsers recurse once per level of nesting, and so does whatever decodes their result: 100 000 `[` would
/// cost 100 000 stack frames. Foundation happens to stop at 512 levels today; this check does not depend on
/// that, and it is far stricter, because nothing Aloft exchanges nests more than four levels.
public enum JSONLimits {
    /// Deepest nesting of arrays and objects accepted anywhere: request bodies, envelopes, manifests, device configs.
    public static let maxDepth = 16

    /// Throws when arrays and objects nest deeper than `maxDepth`.
    ///
    /// One pass over the bytes that skips strings (escapes included), so brackets inside strings do not count.
    /// It validates nothing else: malformed text is left for the parser to refuse.
    public static func checkDepth(_ bytes: some Collection<UInt8>, maxDepth: Int = JSONLimits.maxDepth) throws(AloftError) {
        let deepest = bytes.withContiguousStorageIfAvailable { deepestNesting($0, stopAbove: maxDepth) }
            ?? Array(bytes).withUnsafeBufferPointer { deepestNesting($0, stopAbove: maxDepth) }
        guard deepest <= maxDepth else { throw AloftError("JSON nests deeper than \(maxDepth) levels") }
    }

    /// The deepest nesting seen, scanning no further once it passes `limit`.
    private static func deepestNesting(_ bytes: UnsafeBufferPointer<UInt8>, stopAbove limit: Int) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > deepest {
                    deepest = depth
                    if deepest > limit { return deepest }
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                // Never below zero: stray closers first must not buy room for deeper nesting later.
                depth = max(depth - 1, 0)
            default:
                break
            }
        }
        return deepest
    }
}
