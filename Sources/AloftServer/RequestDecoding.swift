import AloftAPI
import AloftCore
import Foundation
import Hummingbird

// Request bodies come from anyone who can open a socket. Each step below refuses one kind of hostile input
// before the next, more expensive step sees it: size (from the header, then while streaming), nesting depth,
// JSON syntax and types (JSONDecoder), and finally fields the body carries that the endpoint does not know.

extension Request {
    /// The body, at most `limit` bytes; refused before reading when `Content-Length` already says more,
    /// and as soon as a streamed (chunked) body passes the limit.
    func collectBody(limit: Int) async throws -> ByteBuffer {
        if let declared = headers[.contentLength], let length = Int(declared), length > limit {
            throw APIError.payloadTooLarge(limit: limit)
        }
        do {
            return try await body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.payloadTooLarge(limit: limit)
        }
    }

    /// Decodes a JSON body strictly; every problem becomes a 400 that names the field.
    ///
    /// Unknown fields are refused rather than ignored: a misspelt optional field (`"rejeted"`) would otherwise be
    /// dropped without a word, and a client could not tell a server that understands a field from one that does not.
    func decodeJSON<T: Codable>(as type: T.Type = T.self, limit: Int = AloftRequestContext.maxJSONBody) async throws -> T {
        let buffer = try await collectBody(limit: limit)
        if let flat = T.self as? any FlatJSONObject.Type, let value = buffer.withUnsafeReadableBytes({ StrictJSON.decodeFlat(T.self, fields: flat.fieldNames, from: $0) }) {
            return value
        }
        return try StrictJSON.decode(T.self, from: Data(buffer.readableBytesView))
    }
}

/// The keys of a JSON object, whatever their values.
private struct TopLevelKeys: Decodable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    let keys: [String]

    init(from decoder: any Decoder) throws {
        keys = try decoder.container(keyedBy: Key.self).allKeys.map(\.stringValue)
    }
}

/// JSON decoding for request bodies: depth-limited, and refusing fields the target type does not have.
enum StrictJSON {
    /// The value of a flat body through ``FlatJSON``, or nil when it must go through ``decode(_:from:)``: text the fast
    /// scanner does not take, a field the type does not have, or a value the type refuses (all of which then get
    /// `JSONDecoder`'s verdict and message). One level deep by construction, so no depth check is needed.
    static func decodeFlat<T: Decodable>(_ type: T.Type, fields names: Set<String>, from bytes: UnsafeRawBufferPointer) -> T? {
        guard let fields = FlatJSON.fields(bytes), fields.allSatisfy({ names.contains($0.key) }) else { return nil }
        return try? T(from: FlatFieldsDecoder(fields: fields))
    }

    static func decode<T: Codable>(_ type: T.Type, from data: Data) throws -> T {
        guard !data.isEmpty else { throw APIError.badRequest("request body must be a JSON object") }
        do {
            try JSONLimits.checkDepth(data)
        } catch {
            throw APIError.badRequest("request body is not valid: \(error.message)")
        }
        let value: T
        do {
            value = try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw APIError.badRequest("request body is not valid: \(APIError.describe(error))")
        }
        if let flat = T.self as? any FlatJSONObject.Type {
            // One more pass over the keys instead of re-encoding the value and comparing two parsed trees.
            let keys = try JSONDecoder().decode(TopLevelKeys.self, from: data).keys
            if let field = keys.filter({ !flat.fieldNames.contains($0) }).min() {
                throw APIError.badRequest("request body is not valid: unknown field '\(field.prefix(80))'")
            }
            return value
        }
        if let field = try unknownField(in: data, decodedAs: value) {
            throw APIError.badRequest("request body is not valid: unknown field '\(field.prefix(80))'")
        }
        return value
    }

    /// The path of the first field in `data` that decoding dropped, found by encoding `value` again and comparing
    /// the two object trees: a field that is in the body but not in the re-encoded value was not understood.
    /// A field sent as `null` counts as understood when the value leaves it out (synthesized Codable omits nil).
    static func unknownField(in data: Data, decodedAs value: some Encodable) throws -> String? {
        guard let sent = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
            let encoded = try? JSONEncoder().encode(value),
            let echoed = try? JSONSerialization.jsonObject(with: encoded, options: [.fragmentsAllowed])
        else {
            // JSONDecoder accepted the text, so this should not happen; if it does, the body is not trusted either.
            throw APIError.badRequest("request body is not valid: malformed JSON")
        }
        return firstMissing(sent, in: echoed, path: "")
    }

    private static func firstMissing(_ sent: Any, in echoed: Any, path: String) -> String? {
        switch (sent, echoed) {
        case let (sent as [String: Any], echoed as [String: Any]):
            for key in sent.keys.sorted() {
                let child = path.isEmpty ? key : "\(path).\(key)"
                guard let echoedValue = echoed[key] else {
                    if sent[key] is NSNull { continue }
                    return child
                }
                if let missing = firstMissing(sent[key]!, in: echoedValue, path: child) { return missing }
            }
            return nil
        case let (sent as [Any], echoed as [Any]):
            for (index, pair) in zip(sent, echoed).enumerated() {
                if let missing = firstMissing(pair.0, in: pair.1, path: "\(path)[\(index)]") { return missing }
            }
            return nil
        default:
            return nil
        }
    }
}
