import AloftCore
import Foundation
import Testing

/// schemathesis (PyPI; `make setup` puts it in .venv) drives a real `aloft serve` from the document the server serves at
/// `/api/v1/openapi.json`, each operation with the credential its `security` names: no answer may be a 5xx, and none may
/// contradict the document (status, content type, body schema, required headers, 405 and `Allow` for other methods).
@Suite struct OpenAPIFuzzTests {
    static var schemathesis: String {
        ProcessInfo.processInfo.environment["ALOFT_SCHEMATHESIS"] ?? Paths.repo.appendingPathComponent(".venv/bin/schemathesis").path
    }

    static let checks = [
        "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
        "response_schema_conformance", "unsupported_method", "allow_header_conformance",
    ]

    @Test func schemathesisFindsNoServerErrorAndNothingTheDocumentDoesNotSay() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.schemathesis), "no \(Self.schemathesis): run `make setup`")
        let scratch = try Scratch("aloft-openapi-fuzz")
        // No rate limits: schemathesis sends hundreds of requests a minute with one device token.
        let server = try ServerProcess(data: scratch.url.appendingPathComponent("server"), extraArguments: ["--device-rate", "0", "--ip-rate", "0"])
        defer { server.stop() }

        // A device (the id of the document's check-in example), an enrollment and a release with a compressible file, so
        // that requests get past the 4xx answers to the real ones.
        let registered = try server.post("/api/v1/admin/devices", token: server.adminToken, json: #"{"id":"dev-1","channel":"stable"}"#)
        let deviceToken = try #require(registered.body["token"] as? String, "\(registered)")
        let enrollment = try server.aloft(["enrollment", "create", "--name", "fuzz", "--channel", "stable"])
        try #require(enrollment.code == 0, "\(enrollment.output)")
        #expect(try server.aloft(["keys", "generate", "--out", scratch.path("keys")]).code == 0)
        let main = Array(String(repeating: "print('fuzz')\n", count: 50).utf8)
        let folder = try scratch.release("app", ["main.py": main, "lib/data.bin": seededBytes(count: 300, seed: 9)])
        let published = try server.aloft(["release", "publish", folder, "--version", "1.0.0", "--key", scratch.path("keys/release.key")])
        try #require(published.code == 0, "\(published.output)")
        let environment = [
            "ALOFT_FUZZ_ADMIN_TOKEN": server.adminToken, "ALOFT_FUZZ_DEVICE_TOKEN": deviceToken, "ALOFT_FUZZ_DEVICE_ID": "dev-1",
            "ALOFT_FUZZ_ENROLLMENT_SECRET": enrollment.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
            "ALOFT_FUZZ_BLOB": Digest.sha256Hex(main), "NO_COLOR": "1",
            // Hypothesis keeps caches in ./.hypothesis otherwise, which is the checkout.
            "HYPOTHESIS_STORAGE_DIRECTORY": scratch.path("hypothesis"),
        ]

        // The device API first: the management run revokes and reissues device tokens, this device's among them once it
        // has seen its id in an answer.
        for (name, filter) in [("device API", "--include-tag-regex"), ("management API", "--exclude-tag-regex")] {
            let run = try runCommand(
                Self.schemathesis,
                [
                    "--config-file", Paths.repo.appendingPathComponent("Tests/EndToEndTests/Fixtures/schemathesis.toml").path, "--no-color",
                    "run", server.url + "/api/v1/openapi.json", filter, "^(device|blobs)$",
                    "--checks", Self.checks.joined(separator: ","), "--phases", "examples,coverage,fuzzing",
                    // Seeded, so every run sends the same requests; one worker (two trip a thread-safety bug in hypothesis).
                    "--max-examples", "30", "--seed", "20261129", "--workers", "1", "--generation-database", "none", "--request-timeout", "10",
                ],
                environment: environment, timeout: 600)
            let tested = run.output.firstMatch(of: /Tested: ([0-9]+)/).flatMap { Int($0.1) } ?? 0
            #expect(run.code == 0 && tested > 0 && !run.output.contains("Runtime Error"), "schemathesis, \(name):\n\(run.output.suffix(12_000))")
        }
        // A handler that threw something unexpected is a logged 500; none may have happened, even one schemathesis missed.
        #expect(!server.logText.contains("request failed"), "the server logged unexpected errors:\n\(server.logText.suffix(4000))")
    }
}
