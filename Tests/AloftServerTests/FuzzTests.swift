import AloftCore
import AloftServer
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// Seeded fuzzing: thousands of almost-valid inputs (2000 requests, 5000 manifests; about 8 s in a debug build), the same ones on every run. Every answer must be a 2xx, or a
/// 4xx with the protocol's JSON error body; never a 5xx, a trap, or a server that stops answering.
///
/// `ALOFT_FUZZ_SEED` and `ALOFT_FUZZ_CASES` run other or more cases; a failure prints the seed and the case's bytes,
/// and whatever it found is kept as a named test below.
@Suite struct FuzzTests {
    static let seed = ProcessInfo.processInfo.environment["ALOFT_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0xA10F_7001
    static let scale = ProcessInfo.processInfo.environment["ALOFT_FUZZ_CASES"].flatMap { Int($0) } ?? 1000

    static let checkIn: [(String, String)] = [
        ("id", #""dev-1""#), ("version", #""1.0.0""#), ("sequence", "1"), ("board", #""esp32""#), ("micropython", #""1.22.0""#),
        ("agent", #""0.2.0""#), ("mpy", "2822"), ("free", "1500000"), ("rejected", "0"),
    ]
    static let event: [(String, String)] = [
        ("id", #""dev-1""#), ("type", #""failed""#), ("version", #""1.0.0""#), ("sequence", "1"), ("reason", #""sha256 mismatch""#),
    ]

    /// A manifest as flat fields in canonical (sorted) order, with one file's fields and the compat object to mutate too.
    static func manifestFields(_ manifest: ReleaseManifest, mutator: inout JSONMutator) -> String {
        let file = manifest.files[0]
        let fileFields = [("path", JSONMutator.quote(file.path)), ("sha256", JSONMutator.quote(file.sha256)), ("size", String(file.size))]
        let compat = [("boards", #"["*"]"#), ("micropython", #""1.21""#)]
        let choice = Int.random(in: 0..<4, using: &mutator.random)
        var fileText = mutator.render(fileFields)
        var compatText = mutator.render(compat)
        if choice == 0 { fileText = String(decoding: mutator.mutate(fileFields), as: UTF8.self) }
        if choice == 1 { compatText = String(decoding: mutator.mutate(compat), as: UTF8.self) }
        let rest = manifest.files.dropFirst().map {
            mutator.render([("path", JSONMutator.quote($0.path)), ("sha256", JSONMutator.quote($0.sha256)), ("size", String($0.size))])
        }
        let top: [(String, String)] = [
            ("channel", JSONMutator.quote(manifest.channel)), ("compat", compatText), ("created", JSONMutator.quote(manifest.created)),
            ("files", "[" + ([fileText] + rest).joined(separator: ",") + "]"), ("format", "1"), ("sequence", String(manifest.sequence)),
            ("version", JSONMutator.quote(manifest.version.description)),
        ]
        return choice >= 2 ? String(decoding: mutator.mutate(top), as: UTF8.self) : mutator.render(top)
    }

    @Test func theServerAnswersEveryMutatedBodySanely() async throws {
        try await TestFleet.run(rateLimits: .off) { fleet in
            let token = try await fleet.registerDevice("dev-1")
            let secret = try #require(
                try await fleet.send(.post, "/api/v1/admin/enrollments", json: #"{"name":"fuzz","channel":"stable"}"#).object["secret"] as? String)
            let release = TestRelease(version: "1.0.0", sequence: 1)
            for file in release.files { try await fleet.putBlob(file.bytes) }
            var mutator = JSONMutator(random: SeededRandom(seed: Self.seed))
            var failures: [String] = []
            var statuses: [Int: Int] = [:]

            func check(_ uri: String, _ body: [UInt8], token: String, case number: Int) async throws {
                let response = try await fleet.send(.post, uri, token: token, body: ByteBuffer(bytes: body), headers: [.contentType: "application/json"])
                let code = response.status.code
                statuses[code, default: 0] += 1
                let sane = (200..<300).contains(code) || ((400..<500).contains(code) && response.errorCode != nil && response.object["message"] is String)
                if !sane, failures.count < 10 {
                    failures.append("case \(number) \(uri) → \(code) \(response.text.prefix(200)); body (base64): \(Data(body).base64EncodedString().prefix(400))")
                }
            }

            for number in 0..<(Self.scale * 2) {
                switch number % 6 {
                case 0, 1:
                    try await check("/api/v1/device/checkin", mutator.mutate(Self.checkIn), token: token, case: number)
                case 2, 3:
                    try await check("/api/v1/device/events", mutator.mutate(Self.event), token: token, case: number)
                case 4:
                    var manifest = release.manifest
                    manifest.sequence = number + 1
                    let text = Self.manifestFields(manifest, mutator: &mutator)
                    let signature = #"[{"keyid":"0123456789abcdef","sig":"\#(Data(count: 64).base64EncodedString())"}]"#
                    let envelope: [(String, String)] = [("manifest", JSONMutator.quote(text)), ("signatures", signature)]
                    let body = Bool.random(using: &mutator.random) ? Array(mutator.render(envelope).utf8) : mutator.mutate(envelope)
                    try await check("/api/v1/admin/releases", body, token: TestFleet.adminToken, case: number)
                default:
                    try await check("/api/v1/device/enroll", mutator.mutate([("id", "\"dev-\(number)\"")]), token: secret, case: number)
                }
            }
            #expect(failures.isEmpty, "seed \(Self.seed):\n\(failures.joined(separator: "\n"))")
            // Both outcomes were exercised: a fuzzer that only ever hits the first parse error tests little.
            #expect(statuses.keys.contains { (200..<300).contains($0) } && statuses[400, default: 0] > 0, "\(statuses)")
            #expect(try await fleet.send(.get, "/healthz", token: nil).status == .ok)
            #expect(try await fleet.checkIn("dev-1", token: token).status == .ok, "the fleet still works")
        }
    }

    @Test func manifestParsingNeverTraps() throws {
        var mutator = JSONMutator(random: SeededRandom(seed: Self.seed ^ 0x5EED))
        let release = TestRelease(
            files: [.init(path: "lib/a.py", bytes: Array("a".utf8)), .init(path: "main.py", bytes: Array("b".utf8))])
        #expect(try ReleaseManifest.parse(canonical: release.manifest.canonicalJSON()) == release.manifest)
        var accepted = 0
        for _ in 0..<(Self.scale * 5) {
            let text = Self.manifestFields(release.manifest, mutator: &mutator)
            do {
                let manifest = try ReleaseManifest.parse(canonical: text)
                // Whatever parses is canonical: it encodes back to exactly the bytes given.
                #expect(manifest.canonicalJSON() == text)
                accepted += 1
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
        #expect(accepted > 0, "some mutations (a different version or size) are still valid manifests")
    }
}
