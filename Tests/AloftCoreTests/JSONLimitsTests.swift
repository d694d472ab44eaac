import AloftCore
import Foundation
import Testing

@Suite struct JSONLimitsTests {
    func deep(_ depth: Int, open: String = "[", close: String = "]") -> String {
        String(repeating: open, count: depth) + String(repeating: close, count: depth)
    }

    @Test func acceptsNestingUpToTheLimit() throws {
        try JSONLimits.checkDepth(deep(16).utf8)
        try JSONLimits.checkDepth(Array(#"{"a":[{"b":[1,2,{"c":{}}]}]}"#.utf8))
        try JSONLimits.checkDepth(Data())
        try JSONLimits.checkDepth("[[[]]]".utf8, maxDepth: 3)
        #expect(throws: AloftError("JSON nests deeper than 2 levels")) { try JSONLimits.checkDepth("[[[]]]".utf8, maxDepth: 2) }
    }

    @Test func refusesDeeperNestingWithoutOverflowingTheStack() {
        for text in [deep(17), deep(100_000), deep(100_000, open: #"{"a":"#, close: "}"), String(repeating: "[", count: 1_000_000)] {
            #expect(throws: AloftError("JSON nests deeper than 16 levels")) { try JSONLimits.checkDepth(text.utf8) }
        }
    }

    @Test func bracketsInStringsDoNotCount() throws {
        try JSONLimits.checkDepth(Array(("[\"" + String(repeating: "[{", count: 1000) + "\"]").utf8))
        // An escaped quote does not end the string; an escaped backslash does not escape the quote after it.
        try JSONLimits.checkDepth(Array(#"["\"[[[[[[[[[[[[[[[[[[[[", "\\"]"#.utf8))
        #expect(throws: AloftError.self) { try JSONLimits.checkDepth(Array((#"["\\","# + deep(20) + "]").utf8)) }
    }

    @Test func strayClosersDoNotBuyRoom() {
        #expect(throws: AloftError.self) { try JSONLimits.checkDepth((String(repeating: "]", count: 50) + deep(20)).utf8) }
    }
}
