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
        ("agent", #""0.2.0""#), ("mpy", "2822"), ("free", "1500000"), ("rejected", "0"), ("build", #""ESP32_GENERIC-OTA""#), ("ota", "true"),
        ("chip", #""esp32""#), ("slot", "1572864"), ("running", #""ota_0""#), ("fw_state", #""valid""#), ("rollback", "true"),
        ("fw_sha256", JSONMutator.quote(String(repeating: "1", count: 64))),
    ]
    static let event: [(String, String)] = [
        ("id", #""dev-1""#), ("type", #""failed""#), ("version", #""1.0.0""#), ("sequence", "1"), ("reason", #""sha256 mismatch""#),
        ("step", #""firmware""#),
    ]

    /// A format-2 manifest as flat fields in canonical (sorted) order, with its `files` object and the compat object to mutate too.
    static func headerFields(_ manifest: ReleaseManifest, mutator: inout JSONMutator) -> String {
        let list = FileListReference(of: manifest.files)
        let reference = [("count", String(list.count)), ("sha256", JSONMutator.quote(list.sha256)), ("size", String(list.size))]
        return fields(manifest, format: 2, files: reference, wrap: { $0 }, mutator: &mutator)
    }

    /// A format-1 manifest as flat fields in canonical (sorted) order, with one file's fields and the compat object to mutate too.
    static func legacyFields(_ manifest: ReleaseManifest, mutator: inout JSONMutator) -> String {
        func entry(_ file: FileEntry) -> [(String, String)] {
            [("path", JSONMutator.quote(file.path)), ("sha256", JSONMutator.quote(file.sha256)), ("size", String(file.size))]
        }
        let rest = manifest.files.dropFirst().map { mutator.render(entry($0)) }
        return fields(manifest, format: 1, files: entry(manifest.files[0]), wrap: { "[" + ([$0] + rest).joined(separator: ",") + "]" }, mutator: &mutator)
    }

    /// The top-level fields; `files` (the given fields, then `wrap`ped), `compat` or the top level itself gets mutated, or nothing.
    private static func fields(
        _ manifest: ReleaseManifest, format: Int, files: [(String, String)], wrap: (String) -> String, mutator: inout JSONMutator
    ) -> String {
        let compat = [("boards", #"["*"]"#), ("micropython", #""1.21""#)]
        let choice = Int.random(in: 0..<4, using: &mutator.random)
        var filesText = wrap(mutator.render(files))
        var compatText = mutator.render(compat)
        if choice == 0 { filesText = wrap(String(decoding: mutator.mutate(files), as: UTF8.self)) }
        if choice == 1 { compatText = String(decoding: mutator.mutate(compat), as: UTF8.self) }
        let top: [(String, String)] = [
            ("channel", JSONMutator.quote(manifest.channel)), ("compat", compatText), ("created", JSONMutator.quote(manifest.created)),
            ("files", filesText), ("format", String(format)), ("sequence", String(manifest.sequence)),
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
            try await fleet.putBlob(release.fileList)
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
                    let text = Self.headerFields(manifest, mutator: &mutator)
                    let signature = #"[{"keyid":"0123456789abcdef","sig":"\#(Data(count: 64).base64EncodedString())"}]"#
                    var envelope: [(String, String)] = [("manifest", JSONMutator.quote(text)), ("signatures", signature)]
                    if Bool.random(using: &mutator.random) {
                        // The same release in format 1 (mutated or not) as its legacy envelope.
                        let legacy = [("manifest", JSONMutator.quote(Self.legacyFields(manifest, mutator: &mutator))), ("signatures", signature)]
                        envelope.insert(("legacy", mutator.render(legacy)), at: 0)
                    }
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
        #expect(try ManifestHeader.parse(canonical: release.manifest.canonicalJSON()) == release.manifest.header)
        #expect(try ReleaseManifest.parse(legacy: release.manifest.legacyCanonicalJSON()) == release.manifest)
        var accepted = (header: 0, legacy: 0, list: 0)
        for _ in 0..<(Self.scale * 5) {
            let text = Self.headerFields(release.manifest, mutator: &mutator)
            do {
                // Whatever parses is canonical: it encodes back to exactly the bytes given.
                #expect(try ManifestHeader.parse(canonical: text).canonicalJSON() == text)
                accepted.header += 1
            } catch {
                #expect(!error.message.isEmpty)
            }
            let legacy = Self.legacyFields(release.manifest, mutator: &mutator)
            do {
                #expect(try ReleaseManifest.parse(legacy: legacy).legacyCanonicalJSON() == legacy)
                accepted.legacy += 1
            } catch {
                #expect(!error.message.isEmpty)
            }
            let list = mutator.mutateBytes(release.fileList)
            do {
                #expect(Array(FileList.encode(try FileList.parse(list)).utf8) == list)
                accepted.list += 1
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
        // Some mutations (a different version, size or hash digit) are still valid.
        #expect(accepted.header > 0 && accepted.legacy > 0 && accepted.list > 0, "\(accepted)")
    }
}
