import AloftAPI

/// The fast path for the bodies devices send all the time (check-ins, events): one JSON object whose values are plain
/// scalars, scanned in one pass and handed to the type's own `Decodable` conformance through ``FlatFieldsDecoder``.
///
/// It takes only text it can read with certainty: ASCII strings without escapes, integers without fraction or exponent
/// (at most 18 digits), `true`, `false`, `null`, each key once. Anything else (an escape, a non-ASCII byte, a nested
/// value, a duplicate key, a number it would have to round, malformed text) returns nil, and ``StrictJSON`` decodes the
/// body with `JSONDecoder` as before, so what a body means and every error message stay those of the full decoder.
/// Foundation's decoder was a seventh of a check-in's time (two passes: the value, then its keys).
enum FlatJSON {
    enum Value: Equatable {
        case string(String)
        case int(Int)
        case bool(Bool)
        case null
    }

    /// The object's fields in order, or nil when the text is not one this scanner takes (see above).
    static func fields(_ bytes: UnsafeRawBufferPointer) -> [(key: String, value: Value)]? {
        var scanner = Scanner(bytes: bytes)
        return scanner.object()
    }

    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        mutating func object() -> [(key: String, value: Value)]? {
            skipSpace()
            guard take(UInt8(ascii: "{")) else { return nil }
            var fields: [(key: String, value: Value)] = []
            fields.reserveCapacity(12)
            skipSpace()
            if !take(UInt8(ascii: "}")) {
                while true {
                    skipSpace()
                    guard let key = string() else { return nil }
                    skipSpace()
                    guard take(UInt8(ascii: ":")) else { return nil }
                    skipSpace()
                    guard let value = value(), !fields.contains(where: { $0.key == key }) else { return nil }
                    fields.append((key, value))
                    skipSpace()
                    if take(UInt8(ascii: ",")) { continue }
                    guard take(UInt8(ascii: "}")) else { return nil }
                    break
                }
            }
            skipSpace()
            return index == bytes.count ? fields : nil
        }

        private mutating func value() -> Value? {
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""): return string().map(Value.string)
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            default: return integer().map(Value.int)
            }
        }

        /// A string of printable ASCII without escapes.
        private mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                    index += 1
                    return text
                }
                guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return nil }
                index += 1
            }
            return nil
        }

        /// `-?(0|[1-9][0-9]*)` of at most 18 digits, so it fits any Int64; not `-0`.
        private mutating func integer() -> Int? {
            let negative = take(UInt8(ascii: "-"))
            var digits = 0
            var value = 0
            while index < bytes.count, case let byte = bytes[index], byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                // A leading zero, or a 19th digit (checked before it is added: 19 digits can overflow).
                if (digits == 1 && value == 0) || digits == 18 { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                index += 1
            }
            guard digits > 0, !(negative && value == 0) else { return nil }
            // A fraction or an exponent: JSONDecoder's own rules decide.
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] | 0x20 == UInt8(ascii: "e") { return nil }
            return negative ? -value : value
        }

        private mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard bytes.count - index >= count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        private mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }
    }
}

/// Decodes a `Decodable` type from ``FlatJSON`` fields. It answers only what it can answer as `JSONDecoder` would (a
/// string as `String`, an integer as an integer type it fits, a boolean as `Bool`, `null` as absent); any other request
/// throws, and the caller then leaves the body to `JSONDecoder`.
struct FlatFieldsDecoder: Decoder {
    struct Unsupported: Error {}

    let fields: [(key: String, value: FlatJSON.Value)]
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Container<Key>(fields: fields))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw Unsupported() }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { throw Unsupported() }

    private struct Container<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let fields: [(key: String, value: FlatJSON.Value)]
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { fields.compactMap { Key(stringValue: $0.key) } }

        private func value(_ key: Key) -> FlatJSON.Value? {
            let name = key.stringValue
            return fields.first { $0.key == name }?.value
        }

        func contains(_ key: Key) -> Bool { value(key) != nil }

        func decodeNil(forKey key: Key) throws -> Bool {
            guard let value = value(key) else { throw Unsupported() }
            return value == .null
        }

        func decode(_ type: String.Type, forKey key: Key) throws -> String {
            guard case .string(let text)? = value(key) else { throw Unsupported() }
            return text
        }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
            guard case .bool(let flag)? = value(key) else { throw Unsupported() }
            return flag
        }

        private func integer<T: FixedWidthInteger>(_ key: Key) throws -> T {
            guard case .int(let number)? = value(key), let fitted = T(exactly: number) else { throw Unsupported() }
            return fitted
        }

        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(key) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(key) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(key) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(key) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(key) }
        // Floating point, nested values and anything else: JSONDecoder's business.
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { throw Unsupported() }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { throw Unsupported() }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            // Types that decode from one scalar through a single-value container (enums with raw values, wrappers) are
            // not taken here: this decoder has none.
            switch type {
            case is String.Type: return try decode(String.self, forKey: key) as! T
            case is Int.Type: return try decode(Int.self, forKey: key) as! T
            case is Bool.Type: return try decode(Bool.self, forKey: key) as! T
            default: throw Unsupported()
            }
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw Unsupported()
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw Unsupported() }
        func superDecoder() throws -> any Decoder { throw Unsupported() }
        func superDecoder(forKey key: Key) throws -> any Decoder { throw Unsupported() }
    }
}
