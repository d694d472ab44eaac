/// One byte range asked for in a `Range` header (RFC 9110 §14.1.2), before it is held against a length.
public enum ByteRangeRequest: Sendable, Equatable {
    /// `bytes=A-B` (`last` set) or `bytes=A-` (`last` nil).
    case from(first: Int, last: Int?)
    /// `bytes=-N`: the last N bytes.
    case suffix(length: Int)

    /// Reads a `Range` header value. Nil means "serve the whole body": the header is malformed, uses another
    /// unit, or asks for several ranges, all of which RFC 9110 lets a server ignore.
    public static func parse(_ header: String) -> ByteRangeRequest? {
        guard let equals = header.firstIndex(of: "=") else { return nil }
        let unit = header[..<equals].trimmingSpaces
        guard unit.lowercased() == "bytes" else { return nil }
        let spec = header[header.index(after: equals)...].trimmingSpaces
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let firstText = spec[..<dash]
        let lastText = spec[spec.index(after: dash)...]
        switch (firstText.isEmpty, lastText.isEmpty) {
        case (true, true):
            return nil
        case (true, false):
            guard let length = decimal(lastText) else { return nil }
            return .suffix(length: length)
        case (false, true):
            guard let first = decimal(firstText) else { return nil }
            return .from(first: first, last: nil)
        case (false, false):
            guard let first = decimal(firstText), let last = decimal(lastText), first <= last else { return nil }
            return .from(first: first, last: last)
        }
    }

    /// What to send for a body of `length` bytes.
    public func resolve(length: Int) -> ByteRangeResolution {
        switch self {
        case .from(let first, let last):
            guard first < length else { return .unsatisfiable }
            return .partial(first...min(last ?? (length - 1), length - 1))
        case .suffix(let suffixLength):
            guard suffixLength > 0 else { return .unsatisfiable }
            // An empty body has no bytes to name in a Content-Range; send it whole.
            guard length > 0 else { return .whole }
            return .partial(max(0, length - suffixLength)...(length - 1))
        }
    }

    /// Digits only; a number too large for `Int` saturates, which is what it means against any real length.
    private static func decimal(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(text) ?? Int.max
    }
}

/// The outcome of a ``ByteRangeRequest`` against a known length.
public enum ByteRangeResolution: Sendable, Equatable {
    /// 200 with the whole body.
    case whole
    /// 206 with these bytes (inclusive offsets).
    case partial(ClosedRange<Int>)
    /// 416 with `Content-Range: bytes */LEN`.
    case unsatisfiable
}

/// Entity-tag comparisons for `If-None-Match` and `If-Range` (RFC 9110 §8.8.3, §13.1.2, §13.1.5).
public enum EntityTag {
    /// Whether an `If-None-Match` value (a list of tags, or `*`) names `etag`; weak comparison, as the RFC requires.
    public static func ifNoneMatch(_ header: String, matches etag: String) -> Bool {
        let plain = { (tag: Substring) -> Substring in tag.hasPrefix("W/") ? tag.dropFirst(2) : tag }
        let wanted = plain(Substring(etag))
        for candidate in header.split(separator: ",") {
            let tag = candidate.trimmingSpaces
            if tag == "*" || plain(tag) == wanted { return true }
        }
        return false
    }

    /// Whether an `If-Range` value lets the range stand: only an exact, strong match does (a date never does here).
    public static func ifRange(_ header: String, matches etag: String) -> Bool {
        let tag = Substring(header).trimmingSpaces
        return !tag.hasPrefix("W/") && tag == etag
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}

extension String {
    var trimmingSpaces: Substring { Substring(self).trimmingSpaces }
}
