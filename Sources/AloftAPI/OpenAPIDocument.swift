import Foundation

/// The OpenAPI 3.1 document of the API, built from ``APIOperation/all``: what `GET /api/v1/openapi.json` serves.
public enum OpenAPIDocument {
    /// The document as JSON.
    public static func build(_ operations: [APIOperation] = APIOperation.all) -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        var schemas: [String: JSONValue] = [:]
        func collect(_ schema: JSONSchema) {
            for (name, definition) in schema.definitions {
                precondition(schemas[name] == nil || schemas[name] == definition.json, "two different schemas are named \(name)")
                schemas[name] = definition.json
            }
        }
        for operation in operations {
            precondition(paths[operation.path]?[operation.method.rawValue.lowercased()] == nil, "\(operation.method) \(operation.path) twice")
            paths[operation.path, default: [:]][operation.method.rawValue.lowercased()] = entry(for: operation, collect: collect)
        }
        return [
            "openapi": "3.1.0",
            "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
            "info": [
                "title": "Aloft",
                "version": "1",
                "description": """
                    The device and management APIs of an Aloft server: over-the-air updates for MicroPython devices. \
                    docs/protocol.md has the rules behind every field. Every error answer is JSON (`ErrorResponse`); request \
                    bodies with a field this document does not list are refused (400), and `null` for an optional field is \
                    the same as leaving it out.
                    """,
            ],
            "tags": .array(APIOperation.Tag.allCases.map { ["name": .string($0.rawValue), "description": .string(description(of: $0))] }),
            "paths": .object(paths.mapValues { .object($0) }),
            "components": [
                "schemas": .object(schemas),
                "securitySchemes": [
                    "adminToken": [
                        "type": "http", "scheme": "bearer",
                        "description": "The token given to `aloft serve --admin-token`, or a stored admin token (`aloft_adm_…`).",
                    ],
                    "adminPassword": [
                        "type": "http", "scheme": "basic",
                        "description": "An admin token as the password of Basic authentication (any user name), for browsers.",
                    ],
                    "deviceToken": [
                        "type": "http", "scheme": "bearer",
                        "description": "A device's token (`aloft_dev_…`), made when it is registered or enrolls.",
                    ],
                    "enrollmentSecret": [
                        "type": "http", "scheme": "bearer",
                        "description": "An enrollment secret (`aloft_enr_…`), good for `POST /api/v1/device/enroll` alone.",
                    ],
                ],
            ],
        ]
    }

    /// The document as the server sends it: UTF-8 JSON with sorted keys.
    public static func encoded(_ operations: [APIOperation] = APIOperation.all) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A JSONValue always encodes.
        return Array(try! encoder.encode(build(operations)))
    }

    private static func entry(for operation: APIOperation, collect: (JSONSchema) -> Void) -> JSONValue {
        var entry: [String: JSONValue] = [
            "operationId": .string(operation.id),
            "summary": .string(operation.summary),
            "tags": [.string(operation.tag.rawValue)],
            "security": security(operation.access),
        ]
        if !operation.parameters.isEmpty {
            entry["parameters"] = .array(
                operation.parameters.map { parameter in
                    collect(parameter.schema)
                    return [
                        "name": .string(parameter.name), "in": .string(parameter.location.rawValue), "required": .bool(parameter.required),
                        "description": .string(parameter.description), "schema": parameter.schema.json,
                    ]
                })
        }
        if let body = operation.requestBody {
            var requestBody: [String: JSONValue] = ["required": true, "content": content(body, collect: collect)]
            if let limit = operation.bodyLimit { requestBody["description"] = .string("At most \(limit) bytes.") }
            entry["requestBody"] = .object(requestBody)
        }
        var responses: [String: JSONValue] = [:]
        for response in operation.responses {
            var answer: [String: JSONValue] = ["description": .string(response.description)]
            if let body = response.content { answer["content"] = content(body, collect: collect) }
            if !response.headers.isEmpty {
                answer["headers"] = .object(
                    Dictionary(
                        response.headers.map { header in
                            (
                                header.name,
                                [
                                    "description": .string(header.description), "required": .bool(header.required), "schema": header.schema.json,
                                ] as JSONValue
                            )
                        }, uniquingKeysWith: { a, _ in a }))
            }
            responses[String(response.status)] = .object(answer)
        }
        entry["responses"] = .object(responses)
        return .object(entry)
    }

    private static func content(_ content: APIOperation.Content, collect: (JSONSchema) -> Void) -> JSONValue {
        switch content {
        case .json(let schema):
            collect(schema)
            return ["application/json": ["schema": schema.json]]
        case .bytes:
            return ["application/octet-stream": [:]]
        case .text(let mediaType):
            return [mediaType: ["schema": ["type": "string"]]]
        case .form(let schema):
            return ["application/x-www-form-urlencoded": ["schema": schema.json]]
        }
    }

    private static func security(_ access: APIOperation.Access) -> JSONValue {
        switch access {
        case .anyone: []
        case .admin: [["adminToken": []], ["adminPassword": []]]
        case .device: [["deviceToken": []]]
        case .deviceOrAdmin: [["deviceToken": []], ["adminToken": []]]
        case .enrollment: [["enrollmentSecret": []]]
        }
    }

    private static func description(of tag: APIOperation.Tag) -> String {
        switch tag {
        case .device: "What devices call (device token; enrollment secret to enroll). Rate-limited per device and per address."
        case .blobs: "Files by SHA-256, with Range, ETag and a zlib form. A device token or an admin token."
        case .management: "Releases, channels and devices. An admin token."
        case .access: "Admin tokens, device tokens and enrollments. An admin token."
        case .console:
            "The fleet console, for a browser: the admin token as the Basic password; its forms carry a token against cross-site requests."
        case .service: "Health, metrics and this document."
        }
    }
}
