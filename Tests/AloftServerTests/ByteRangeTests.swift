import AloftServer
import Testing

@Suite struct ByteRangeTests {
    @Test(arguments: [
        ("bytes=0-99", ByteRangeRequest.from(first: 0, last: 99)),
        ("bytes=10-", .from(first: 10, last: nil)),
        ("bytes=-5", .suffix(length: 5)),
        ("bytes=-0", .suffix(length: 0)),
        ("BYTES=1-1", .from(first: 1, last: 1)),
        ("bytes = 2-3 ", .from(first: 2, last: 3)),
        ("bytes=0-99999999999999999999999", .from(first: 0, last: Int.max)),
    ])
    func parsesOneRange(header: String, expected: ByteRangeRequest) {
        #expect(ByteRangeRequest.parse(header) == expected)
    }

    @Test(arguments: [
        "", "bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=5-3", "bytes=0-1,3-4", "bytes=0-1,", "items=0-1", "bytes=+1-2",
        "bytes=1--2", "bytes=0x1-2", "bytes=1-2-3", "bytes=١-٢",
    ])
    func ignoresMalformedOrMultipleRanges(header: String) {
        #expect(ByteRangeRequest.parse(header) == nil)
    }

    @Test func resolvesAgainstLength() {
        #expect(ByteRangeRequest.from(first: 0, last: 9).resolve(length: 100) == .partial(0...9))
        #expect(ByteRangeRequest.from(first: 90, last: 200).resolve(length: 100) == .partial(90...99))
        #expect(ByteRangeRequest.from(first: 99, last: nil).resolve(length: 100) == .partial(99...99))
        #expect(ByteRangeRequest.from(first: 100, last: nil).resolve(length: 100) == .unsatisfiable)
        #expect(ByteRangeRequest.from(first: Int.max, last: nil).resolve(length: 100) == .unsatisfiable)
        #expect(ByteRangeRequest.from(first: 0, last: 0).resolve(length: 0) == .unsatisfiable)
        #expect(ByteRangeRequest.suffix(length: 10).resolve(length: 100) == .partial(90...99))
        #expect(ByteRangeRequest.suffix(length: 500).resolve(length: 100) == .partial(0...99))
        #expect(ByteRangeRequest.suffix(length: Int.max).resolve(length: 100) == .partial(0...99))
        #expect(ByteRangeRequest.suffix(length: 0).resolve(length: 100) == .unsatisfiable)
        #expect(ByteRangeRequest.suffix(length: 3).resolve(length: 0) == .whole)
    }

    @Test func entityTags() {
        let etag = "\"abc\""
        #expect(EntityTag.ifNoneMatch("\"abc\"", matches: etag))
        #expect(EntityTag.ifNoneMatch("\"x\", \"abc\"", matches: etag))
        #expect(EntityTag.ifNoneMatch("W/\"abc\"", matches: etag))
        #expect(EntityTag.ifNoneMatch("*", matches: etag))
        #expect(!EntityTag.ifNoneMatch("\"abcd\"", matches: etag))
        #expect(EntityTag.ifRange("\"abc\"", matches: etag))
        #expect(!EntityTag.ifRange("W/\"abc\"", matches: etag))
        #expect(!EntityTag.ifRange("Sat, 29 Nov 2026 02:33:34 GMT", matches: etag))
    }
}
