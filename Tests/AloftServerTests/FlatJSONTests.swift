import AloftAPI
import Foundation
import TestSupport
import Testing

@testable import AloftServer

/// The fast path for check-in and event bodies: whatever it decodes, `JSONDecoder` (the strict path) decodes to the same
/// value; whatever it is not sure of, it leaves to that path.
@Suite struct FlatJSONTests {
    static func fast<T: Codable & FlatJSONObject>(_ type: T.Type, _ text: String) -> T? {
        Array(text.utf8).withUnsafeBytes { StrictJSON.decodeFlat(T.self, fields: T.fieldNames, from: $0) }
    }

    static func strict<T: Codable>(_ type: T.Type, _ text: String) -> T? {
        try? StrictJSON.decode(T.self, from: Data(text.utf8))
    }

    @Test func readsWhatDevicesSend() {
        let body = #"{"id":"greenhouse-1","version":"1.2.0","sequence":7,"board":"esp32","micropython":"1.22.0","mpy":null,"free":1000000,"agent":"0.3.0","format":2}"#
        let want = CheckInRequest(
            id: "greenhouse-1", version: "1.2.0", sequence: 7, board: "esp32", micropython: "1.22.0", agent: "0.3.0", mpy: nil, free: 1_000_000,
            format: 2)
        #expect(Self.fast(CheckInRequest.self, body) == want)
        #expect(Self.fast(CheckInRequest.self, " {\n\t\"id\" : \"d\" ,\r\n \"sequence\" : 0 } \n") == CheckInRequest(id: "d", sequence: 0))
        #expect(Self.fast(EventRequest.self, #"{"id":"d","type":"failed","sequence":-3,"reason":"no room: 10 < 20 [x]"}"#)
            == EventRequest(id: "d", type: "failed", sequence: -3, reason: "no room: 10 < 20 [x]"))
        #expect(Self.fast(CheckInRequest.self, #"{"id":"d","sequence":999999999999999999}"#)?.sequence == 999_999_999_999_999_999)
    }

    /// Each of these is left to JSONDecoder: it may accept some (an escape, a float that is whole) and refuse others, with
    /// its own message.
    @Test func leavesEverythingElseToTheStrictDecoder() {
        let cases = [
            #"{"id":"d\u0041","sequence":0}"#, #"{"id":"d\n","sequence":0}"#, "{\"id\":\"dé\",\"sequence\":0}", "{\"id\":\"d\t\",\"sequence\":0}",
            #"{"id":"d","sequence":1.0}"#, #"{"id":"d","sequence":1e2}"#, #"{"id":"d","sequence":1E2}"#, #"{"id":"d","sequence":01}"#,
            #"{"id":"d","sequence":-0}"#, #"{"id":"d","sequence":1234567890123456789}"#, #"{"id":"d","sequence":+1}"#,
            #"{"id":"d","id":"e","sequence":0}"#, #"{"id":"d","sequence":0,"board":{"a":1}}"#, #"{"id":"d","sequence":0,"board":["a"]}"#,
            #"{"id":"d","sequence":0} x"#, #"{"id":"d","sequence":0,}"#, #"{"id":"d","sequence":0"#, #"{"id":"d" "sequence":0}"#,
            #"{"id":"d","sequence":0,"rejeted":1}"#, #"{"id":"d","sequence":"0"}"#, #"{"id":7,"sequence":0}"#, #"{"id":null,"sequence":0}"#,
            #"{"sequence":0}"#, #"{"id":"d","sequence":0,"mpy":true}"#, #"{"id":"d","sequence":nul}"#, "[]", "", "{", "null",
            #"{"id":"d","sequence":0,"free":9223372036854775808}"#,
        ]
        for text in cases {
            #expect(Self.fast(CheckInRequest.self, text) == nil, "\(text)")
        }
    }

    /// Seeded variations of check-in and event bodies (fields left out, values of every JSON kind, spacing, duplicates,
    /// cuts): whenever the fast path answers, the strict decoder gives the same value; and it answers for most plain ones.
    @Test func agreesWithJSONDecoderOnVariations() {
        var random = SeededRandom(seed: 0xF1A7)
        let strings = [#""esp32""#, #""""#, #""1.2.0""#, #""a\"b""#, #""\u00e9""#, "\"é\"", #""x y""#, "\"tab\there\""]
        let others = ["0", "7", "-1", "12345678901234567", "1.5", "2e3", "01", "true", "false", "null", "[]", "{}", "[1]", #"{"a":1}"#]
        func value() -> String {
            random.unit() < 0.5 ? strings[Int(random.next() % UInt64(strings.count))] : others[Int(random.next() % UInt64(others.count))]
        }
        func space() -> String { ["", " ", "\n", "\t ", "\r\n"][Int(random.next() % 5)] }
        var agreed = 0
        for round in 0..<4000 {
            let checkIn = round % 2 == 0
            let names = checkIn ? Array(CheckInRequest.fieldNames).sorted() + ["rejeted"] : Array(EventRequest.fieldNames).sorted() + ["why"]
            var fields: [String] = []
            if random.unit() < 0.9 { fields.append(#""id":"dev-\#(round)""#) }
            if checkIn, random.unit() < 0.9 { fields.append(#""sequence":\#(round % 50)"#) }
            if !checkIn, random.unit() < 0.9 { fields.append(#""type":"failed""#) }
            // About three more fields whatever the type has (check-ins have 19 since firmware), so most variations stay
            // plain enough for the fast path to answer.
            for name in names where random.unit() < min(0.3, 3.3 / Double(names.count)) {
                fields.append("\(space())\"\(name)\"\(space()):\(space())\(value())\(space())")
            }
            fields.shuffle(using: &random)
            var text = space() + "{" + fields.joined(separator: ",") + "}" + space()
            if random.unit() < 0.05 { text = String(text.prefix(Int(random.next() % UInt64(text.count + 1)))) }
            if checkIn {
                let fast = Self.fast(CheckInRequest.self, text)
                if let fast {
                    #expect(Self.strict(CheckInRequest.self, text) == fast, "\(text)")
                    agreed += 1
                }
            } else if let fast = Self.fast(EventRequest.self, text) {
                #expect(Self.strict(EventRequest.self, text) == fast, "\(text)")
                agreed += 1
            }
        }
        #expect(agreed > 250, "the fast path decoded only \(agreed) of 4,000 variations")
    }
}
