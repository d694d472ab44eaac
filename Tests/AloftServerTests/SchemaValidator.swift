import AloftAPI
import Foundation

/// Checks JSON against the JSON Schemas of an OpenAPI document: the keywords the document uses, and nothing silently
/// skipped (a keyword it does not know is itself an error, so a typo in the document cannot pass for a rule).
struct SchemaValidator {
    /// `components/schemas` of the document, which `$ref`s point into.
    let components: [String: JSONValue]

    init(document: JSONValue) {
        components = document["components"]?["schemas"]?.objectValue ?? [:]
    }

    static let annotations: Set<String> = ["description", "examples", "format", "contentMediaType"]

    /// Every way `instance` breaks `schema`, each with the JSON path where it does; empty when it matches.
    func errors(_ instance: JSONValue, _ schema: JSONValue, at path: String = "$") -> [String] {
        guard case .object(let keywords) = schema else { return ["\(path): the schema is not an object"] }
        var errors: [String] = []
        for (keyword, rule) in keywords.sorted(by: { $0.key < $1.key }) {
            switch keyword {
            case _ where Self.annotations.contains(keyword):
                continue
            case "$ref":
                let prefix = JSONSchema.componentPath("")
                guard let target = rule.stringValue, target.hasPrefix(prefix), let referenced = components[String(target.dropFirst(prefix.count))] else {
                    errors.append("\(path): unresolved $ref \(rule)")
                    continue
                }
                errors += self.errors(instance, referenced, at: path)
            case "type":
                let types = rule.arrayValue?.compactMap(\.stringValue) ?? [rule.stringValue ?? "?"]
                if !types.contains(where: { Self.matches(instance, type: $0) }) { errors.append("\(path): \(Self.kind(instance)) is not \(types)") }
            case "enum":
                if !(rule.arrayValue ?? []).contains(instance) { errors.append("\(path): \(instance) is not one of \(rule)") }
            case "const":
                if instance != rule { errors.append("\(path): \(instance) is not \(rule)") }
            case "if":
                if self.errors(instance, rule, at: path).isEmpty, let then = keywords["then"] { errors += self.errors(instance, then, at: path) }
            case "then":
                continue  // with "if"
            case "anyOf":
                let branches = rule.arrayValue ?? []
                if !branches.contains(where: { self.errors(instance, $0, at: path).isEmpty }) { errors.append("\(path): matches no branch of anyOf") }
            case "properties", "required", "additionalProperties", "propertyNames":
                guard case .object(let members) = instance else { continue }
                errors += objectErrors(members, keyword: keyword, rule: rule, schema: keywords, at: path)
            case "items", "minItems", "maxItems":
                guard case .array(let items) = instance else { continue }
                switch keyword {
                case "items": for (i, item) in items.enumerated() { errors += self.errors(item, rule, at: "\(path)[\(i)]") }
                case "minItems": if items.count < (rule.intValue ?? 0) { errors.append("\(path): fewer than \(rule) items") }
                default: if items.count > (rule.intValue ?? .max) { errors.append("\(path): more than \(rule) items") }
                }
            case "minLength", "maxLength", "pattern":
                guard case .string(let text) = instance else { continue }
                switch keyword {
                case "minLength": if text.unicodeScalars.count < (rule.intValue ?? 0) { errors.append("\(path): shorter than \(rule)") }
                case "maxLength": if text.unicodeScalars.count > (rule.intValue ?? .max) { errors.append("\(path): longer than \(rule)") }
                default:
                    guard let pattern = rule.stringValue, let regex = try? NSRegularExpression(pattern: pattern) else {
                        errors.append("\(path): bad pattern \(rule)")
                        continue
                    }
                    if regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
                        errors.append("\(path): '\(text.prefix(80))' does not match \(pattern)")
                    }
                }
            case "minimum", "maximum":
                guard let number = instance.doubleValue, let bound = rule.doubleValue else { continue }
                if keyword == "minimum" ? number < bound : number > bound { errors.append("\(path): \(instance) is beyond \(keyword) \(rule)") }
            default:
                errors.append("\(path): unsupported keyword '\(keyword)'")
            }
        }
        return errors
    }

    private func objectErrors(
        _ members: [String: JSONValue], keyword: String, rule: JSONValue, schema: [String: JSONValue], at path: String
    ) -> [String] {
        let properties = schema["properties"]?.objectValue ?? [:]
        var errors: [String] = []
        switch keyword {
        case "properties":
            for (name, value) in members.sorted(by: { $0.key < $1.key }) {
                if let property = properties[name] { errors += self.errors(value, property, at: "\(path).\(name)") }
            }
        case "required":
            for name in rule.arrayValue?.compactMap(\.stringValue) ?? [] where members[name] == nil {
                errors.append("\(path): missing required member '\(name)'")
            }
        case "additionalProperties":
            for (name, value) in members.sorted(by: { $0.key < $1.key }) where properties[name] == nil {
                switch rule {
                case .bool(false): errors.append("\(path): member '\(name)' is not in the schema")
                case .bool(true): break
                default: errors += self.errors(value, rule, at: "\(path).\(name)")
                }
            }
        default:  // propertyNames
            for name in members.keys.sorted() { errors += self.errors(.string(name), rule, at: "\(path) (member name '\(name)')") }
        }
        return errors
    }

    private static func matches(_ instance: JSONValue, type: String) -> Bool {
        switch (type, instance) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object), ("integer", .integer),
            ("number", .integer), ("number", .number):
            true
        case ("integer", .number(let value)): value.rounded() == value
        default: false
        }
    }

    private static func kind(_ instance: JSONValue) -> String {
        switch instance {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONValue {
    var intValue: Int? {
        guard case .integer(let value) = self else { return nil }
        return value
    }

    var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }

    /// Parses JSON text.
    static func parse(_ bytes: some Sequence<UInt8>) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }
}
