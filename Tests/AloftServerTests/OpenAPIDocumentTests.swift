import AloftAPI
import AloftCore
import AloftServer
import AloftStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The document at `GET /api/v1/openapi.json` against what the server does: the routes it has, who may call them, and
/// the bodies, statuses and headers it really answers with.
@Suite struct OpenAPIDocumentTests {
    @Test func everyRouteIsDocumentedAndEveryDocumentedOperationIsRouted() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aloft-openapi-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "aloft.test")
        logger.logLevel = .warning
        let store = try await FluentFleetStore.open(.sqliteMemory, logger: logger)
        let router = buildRouter(
            store: store, blobs: try BlobStore(directory: directory), metrics: ServerMetrics(), admin: AdminCredential(token: TestFleet.adminToken))
        // Hummingbird's `:name` captures, spelt as OpenAPI templates.
        let routed = Set(
            router.routes.map { route in
                "\(route.method.rawValue) /" + route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                    .joined(separator: "/")
            })
        let app = Application(router: router, logger: logger)
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/api/v1/openapi.json", method: .get)
            #expect(response.status == .ok)
            let document = try JSONValue.parse(response.body.readableBytesView)
            var documented = Set<String>()
            for (path, item) in document["paths"]?.objectValue ?? [:] {
                for method in item.objectValue?.keys ?? [:].keys { documented.insert("\(method.uppercased()) \(path)") }
            }
            #expect(routed.count == APIOperation.all.count)
            #expect(routed.subtracting(documented).sorted() == [], "routed, not in the document")
            #expect(documented.subtracting(routed).sorted() == [], "in the document, not routed")
        }
        await store.shutdown()
    }

    @Test func documentIsServedWithoutAuthAndIsWellFormed() async throws {
        try await TestFleet.run { fleet in
            let response = try await fleet.send(.get, "/api/v1/openapi.json", token: nil)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(response.bytes == OpenAPIDocument.encoded())
            let document = try JSONValue.parse(response.bytes)
            #expect(document["openapi"] == "3.1.0")
            let validator = SchemaValidator(document: document)
            let schemes = Set(document["components"]?["securitySchemes"]?.objectValue?.keys.map { $0 } ?? [])
            #expect(schemes == ["adminToken", "adminPassword", "deviceToken", "enrollmentSecret"])

            var operationIDs = Set<String>()
            for operation in APIOperation.all {
                let entry = try #require(document["paths"]?[operation.path]?[operation.method.rawValue.lowercased()], "\(operation.id)")
                #expect(operationIDs.insert(try #require(entry["operationId"]?.stringValue)).inserted, "operationId \(operation.id) twice")
                for requirement in entry["security"]?.arrayValue ?? [] {
                    for scheme in requirement.objectValue?.keys ?? [:].keys { #expect(schemes.contains(scheme), "\(operation.id): scheme \(scheme)") }
                }
                // Path parameters: exactly the template's, each required.
                let parameters = entry["parameters"]?.arrayValue ?? []
                let inPath = parameters.filter { $0["in"] == "path" }
                #expect(inPath.compactMap { $0["name"]?.stringValue } == operation.pathParameterNames, "\(operation.id) path parameters")
                #expect(inPath.allSatisfy { $0["required"] == true })
                // Every schema in it uses only keywords the validator checks, and every $ref resolves: validating any value
                // against a schema reports an unsupported keyword or an unresolved $ref when there is one.
                var schemas = parameters.compactMap { $0["schema"] }
                for content in [entry["requestBody"]?["content"]] + (entry["responses"]?.objectValue?.values.map { $0["content"] } ?? []) {
                    schemas += content?.objectValue?.values.compactMap { $0["schema"] } ?? []
                }
                for schema in schemas {
                    for problem in Self.structuralProblems(schema, validator: validator) { Issue.record("\(operation.id): \(problem)") }
                }
                #expect(entry["responses"]?.objectValue?.values.allSatisfy { $0["description"]?.stringValue?.isEmpty == false } == true)
            }
            for (name, schema) in validator.components {
                for problem in Self.structuralProblems(schema, validator: validator) { Issue.record("\(name): \(problem)") }
            }
        }
    }

    /// Every firmware field (docs/firmware.md) is in the document, each described where its name does not say it all.
    @Test func theFirmwareFieldsAreDocumented() throws {
        let document = OpenAPIDocument.build()
        func property(_ component: String, _ name: String) -> JSONValue? { document["components"]?["schemas"]?[component]?["properties"]?[name] }
        let described: [(String, [String])] = [
            ("CheckInRequest", ["build", "ota", "chip", "slot", "running", "fw_state", "rollback", "fw_sha256", "fw_rejected"]),
            ("CheckInResponse", ["step"]), ("EventRequest", ["step"]), ("EventView", ["step"]), ("DecisionView", ["step"]),
            ("DeviceView", ["firmware"]), ("ReleaseSummary", ["firmware"]), ("RolloutPhaseView", ["firmware"]),
            ("ReleasePublication", ["firmwareWithoutRollback"]), ("ReleaseEnvelopeResponse", ["firmwareWithoutRollback"]),
            ("FirmwareView", ["ota", "slot", "running", "state", "rollback", "sha256", "rejected"]), ("FirmwareImage", ["build", "micropython", "mpy"]),
        ]
        for (component, names) in described {
            for name in names {
                let schema = try #require(property(component, name), "\(component).\(name) is not documented")
                #expect(schema["description"]?.stringValue?.isEmpty == false, "\(component).\(name) has no description")
            }
        }
        #expect(property("CheckInResponse", "step")?["enum"] == ["firmware"])
        #expect(property("DecisionView", "step")?["enum"] == .array(["files", "firmware", .null]))
        #expect(document["components"]?["schemas"]?["CheckInResponse"]?["required"]?.arrayValue?.contains("step") == false)
    }

    /// Unsupported keywords and unresolved references anywhere in `schema`, found by walking it.
    static func structuralProblems(_ schema: JSONValue, validator: SchemaValidator) -> [String] {
        guard case .object(let keywords) = schema else { return ["a schema that is not an object"] }
        let known: Set<String> = SchemaValidator.annotations.union([
            "$ref", "type", "enum", "const", "anyOf", "properties", "required", "additionalProperties", "propertyNames", "items", "minItems",
            "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "if", "then",
        ])
        var problems = keywords.keys.filter { !known.contains($0) }.map { "unsupported keyword '\($0)'" }
        if let ref = keywords["$ref"]?.stringValue, validator.components[String(ref.dropFirst(JSONSchema.componentPath("").count))] == nil {
            problems.append("unresolved $ref \(ref)")
        }
        if let pattern = keywords["pattern"]?.stringValue, (try? NSRegularExpression(pattern: pattern)) == nil { problems.append("bad pattern \(pattern)") }
        var children = (keywords["properties"]?.objectValue?.values.map { $0 } ?? []) + (keywords["anyOf"]?.arrayValue ?? [])
        for key in ["items", "propertyNames", "if", "then"] { if let child = keywords[key] { children.append(child) } }
        if case .object = keywords["additionalProperties"] { children.append(keywords["additionalProperties"]!) }
        return problems + children.flatMap { structuralProblems($0, validator: validator) }
    }

    @Test func aMethodAPathDoesNotTakeIs405WithAllow() async throws {
        try await TestFleet.run { fleet in
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.delete, "/api/v1/device/checkin", "POST"),
                (.put, "/api/v1/admin/devices", "GET, POST"),
                (.post, "/api/v1/blobs/\(String(repeating: "0", count: 64))", "GET"),
                (.get, "/api/v1/admin/blobs/missing", "POST"),  // the literal path wins over `blobs/{sha256}`, as in the router
                (.get, "/api/v1/admin/blobs/\(String(repeating: "0", count: 64))", "PUT"),
                (.head, "/healthz", "GET"),
            ]
            for (method, path, allowed) in cases {
                let response = try await fleet.send(method, path, token: nil)
                #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                #expect(response.headers[.allow] == allowed, "\(method) \(path)")
                if method != .head { #expect(response.errorCode == "not_found", "\(method) \(path)") }
            }
            #expect(try await fleet.send(.get, "/api/v1/nothing-here", token: nil).status == .notFound)
            #expect(try await fleet.send(.get, "/api/v1/admin/devices/a/b/c").status == .notFound)
        }
    }

    /// Each operation asked with no credential and with each kind: 401 exactly when the document's security does not list
    /// the kind, so the middleware the server puts in front of a route is the one the document promises.
    @Test func everyOperationTakesTheCredentialsTheDocumentNames() async throws {
        try await TestFleet.run(rateLimits: .off) { fleet in
            let document = try JSONValue.parse(try await fleet.send(.get, "/api/v1/openapi.json", token: nil).bytes)
            let deviceToken = try await fleet.registerDevice("dev-1")
            let enrollment = try await fleet.send(.post, "/api/v1/admin/enrollments", json: #"{"name":"batch-1","channel":"stable"}"#)
            let secret = try #require(enrollment.object["secret"] as? String)
            let credentials: [(scheme: String?, token: String?)] = [
                (nil, nil), ("adminToken", TestFleet.adminToken), ("deviceToken", deviceToken), ("enrollmentSecret", secret),
            ]
            // Names nothing stored, so no call below changes the fleet.
            let values = [
                "sha256": String(repeating: "0", count: 64), "id": "nobody", "channel": "stable", "name": "nobody", "version": "9.9.9", "rollout": "999999",
            ]
            for operation in APIOperation.all {
                let security = document["paths"]?[operation.path]?[operation.method.rawValue.lowercased()]?["security"]?.arrayValue ?? []
                let accepted = Set(security.flatMap { $0.objectValue?.keys.map { $0 } ?? [] })
                var uri = operation.path
                for name in operation.pathParameterNames { uri = uri.replacingOccurrences(of: "{\(name)}", with: values[name]!) }
                for (scheme, token) in credentials {
                    let response = try await fleet.send(HTTPRequest.Method(rawValue: operation.method.rawValue)!, uri, token: token)
                    let open = security.isEmpty || scheme.map(accepted.contains) == true
                    #expect(
                        (response.status == .unauthorized) == !open,
                        "\(operation.method.rawValue) \(operation.path) with \(scheme ?? "no credential"): \(response.status)")
                }
            }
        }
    }
}
