/// A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) built in code, with the named schemas it refers to.
///
/// A schema that names another with ``ref(_:)`` carries that schema along in ``definitions``, so a document collects its
/// `components/schemas` from the operations that use them and every `$ref` it writes resolves.
public struct JSONSchema: Sendable {
    /// The schema object itself.
    public private(set) var value: [String: JSONValue]
    /// Every named schema this one refers to, directly or through others, by name.
    public private(set) var definitions: [String: JSONSchema]

    public init(_ value: [String: JSONValue], definitions: [String: JSONSchema] = [:]) {
        self.value = value
        self.definitions = definitions
    }

    /// The schema as JSON.
    public var json: JSONValue { .object(value) }

    // MARK: Building

    /// Any JSON value.
    public static var anything: JSONSchema { JSONSchema([:]) }

    public static var boolean: JSONSchema { JSONSchema(["type": "boolean"]) }

    /// A string; `pattern` is an ECMA-262 regular expression that must match somewhere in it (anchor it with `^…$`),
    /// lengths count Unicode code points.
    public static func string(pattern: String? = nil, minLength: Int? = nil, maxLength: Int? = nil, format: String? = nil) -> JSONSchema {
        var value: [String: JSONValue] = ["type": "string"]
        if let pattern { value["pattern"] = .string(pattern) }
        if let minLength { value["minLength"] = .integer(minLength) }
        if let maxLength { value["maxLength"] = .integer(maxLength) }
        if let format { value["format"] = .string(format) }
        return JSONSchema(value)
    }

    /// One of these strings.
    public static func string(oneOf values: [String]) -> JSONSchema {
        JSONSchema(["type": "string", "enum": .array(values.map(JSONValue.string))])
    }

    public static func integer(minimum: Int? = nil, maximum: Int? = nil) -> JSONSchema {
        var value: [String: JSONValue] = ["type": "integer"]
        if let minimum { value["minimum"] = .integer(minimum) }
        if let maximum { value["maximum"] = .integer(maximum) }
        return JSONSchema(value)
    }

    /// One of these integers.
    public static func integer(oneOf values: [Int]) -> JSONSchema {
        JSONSchema(["type": "integer", "enum": .array(values.map(JSONValue.integer))])
    }

    public static func array(of items: JSONSchema, minItems: Int? = nil, maxItems: Int? = nil) -> JSONSchema {
        var value: [String: JSONValue] = ["type": "array", "items": items.json]
        if let minItems { value["minItems"] = .integer(minItems) }
        if let maxItems { value["maxItems"] = .integer(maxItems) }
        return JSONSchema(value, definitions: items.definitions)
    }

    /// An object with exactly these members: `required` ones always present, `optional` ones possibly absent, no others
    /// (`additionalProperties: false`). Whether a member may be `null` is its own schema's business (``orNull``).
    public static func object(required: [String: JSONSchema] = [:], optional: [String: JSONSchema] = [:]) -> JSONSchema {
        precondition(Set(required.keys).isDisjoint(with: optional.keys), "a member is either required or optional")
        var properties: [String: JSONValue] = [:]
        var definitions: [String: JSONSchema] = [:]
        for (name, schema) in required.merging(optional, uniquingKeysWith: { a, _ in a }) {
            properties[name] = schema.json
            definitions.merge(schema.definitions) { a, _ in a }
        }
        var value: [String: JSONValue] = ["type": "object", "properties": .object(properties), "additionalProperties": false]
        if !required.isEmpty { value["required"] = .array(required.keys.sorted().map(JSONValue.string)) }
        return JSONSchema(value, definitions: definitions)
    }

    /// An object used as a map: any number of members whose names match `keys` and whose values match `values`.
    public static func map(keys: JSONSchema, values: JSONSchema) -> JSONSchema {
        JSONSchema(
            ["type": "object", "propertyNames": keys.json, "additionalProperties": values.json],
            definitions: keys.definitions.merging(values.definitions) { a, _ in a })
    }

    /// A reference to the named schema of a wire type (`$ref: #/components/schemas/NAME`).
    public static func ref<T: WireSchema>(_ type: T.Type) -> JSONSchema {
        let target = T.schema
        var definitions = target.definitions
        definitions[T.schemaName] = target
        return JSONSchema(["$ref": .string(componentPath(T.schemaName))], definitions: definitions)
    }

    /// Where a named schema lives in the document.
    public static func componentPath(_ name: String) -> String { "#/components/schemas/\(name)" }

    // MARK: Refining

    /// The same, or `null`.
    public var orNull: JSONSchema {
        var copy = self
        switch value["type"] {
        case .string(let type) where value["$ref"] == nil:
            copy.value["type"] = [.string(type), "null"]
            if case .array(let values) = value["enum"] { copy.value["enum"] = .array(values + [.null]) }
            return copy
        default:
            var inner = value
            let description = inner.removeValue(forKey: "description")
            var outer: [String: JSONValue] = ["anyOf": [.object(inner), ["type": "null"]]]
            if let description { outer["description"] = description }
            copy.value = outer
            return copy
        }
    }

    /// The same, with a description for people.
    public func described(_ text: String) -> JSONSchema {
        var copy = self
        copy.value["description"] = .string(text)
        return copy
    }

    /// The same, and when member `name` is `value`, these members present too and matching their schemas (`if`/`then`).
    public func requiring(_ members: [String: JSONSchema], when name: String, is value: JSONValue) -> JSONSchema {
        var copy = self
        copy.value["if"] = ["properties": .object([name: ["const": value]]), "required": [.string(name)]]
        copy.value["then"] = [
            "properties": .object(members.mapValues(\.json)), "required": .array(members.keys.sorted().map(JSONValue.string)),
        ]
        for schema in members.values { copy.definitions.merge(schema.definitions) { a, _ in a } }
        return copy
    }

    /// The same, with an annotation such as `contentMediaType`, which says something about a value but rules nothing out.
    public func annotated(_ keyword: String, _ value: JSONValue) -> JSONSchema {
        var copy = self
        copy.value[keyword] = value
        return copy
    }

    /// The same, with an example value.
    public func example(_ example: JSONValue) -> JSONSchema {
        var copy = self
        copy.value["examples"] = [example]
        return copy
    }
}

/// A body type of the API, with the JSON Schema of the JSON it encodes to, named in the document's `components/schemas`.
public protocol WireSchema {
    /// The schema of this type's JSON.
    static var schema: JSONSchema { get }
    /// Its name among the document's components; the type's name unless it says otherwise.
    static var schemaName: String { get }
}

extension WireSchema {
    public static var schemaName: String { String(describing: Self.self) }
}
