import Foundation
import Testing

@testable import AloftCore

/// A device's view of releases in Swift terms: verify under the current trust, refuse what is not newer, and adopt a
/// release's `trust` once it is confirmed (here: at once). The MicroPython agent implements the same rules.
private struct TrustingDevice {
    var trust: ReleaseTrust
    var installed = 0

    mutating func install(_ release: SignedRelease, now: Date? = nil) throws(AloftError) -> ManifestHeader {
        let manifest = try release.verified(under: trust, now: now)
        guard manifest.sequence > installed else { throw AloftError("sequence \(manifest.sequence) is not above \(installed)") }
        installed = manifest.sequence
        trust = trust.adopting(manifest)
        return manifest
    }
}

private func release(_ sequence: Int, trust: ReleaseTrust? = nil, expires: String? = nil) -> ReleaseManifest {
    var manifest = sampleManifest(sequence: sequence)
    manifest.trust = trust
    manifest.expires = expires
    return manifest
}

@Suite struct KeyRotationTests {
    let a = ReleasePrivateKey.generate(), b = ReleasePrivateKey.generate(), c = ReleasePrivateKey.generate()

    @Test func rotatesFromOneKeyToAnother() throws {
        var device = TrustingDevice(trust: ReleaseTrust(keys: [a.publicKey]))
        // Release 2, signed by A, introduces B alongside A.
        #expect(try device.install(SignedRelease(signing: release(2, trust: ReleaseTrust(keys: [a.publicKey, b.publicKey])), with: [a])).sequence == 2)
        #expect(device.trust == ReleaseTrust(keys: [b.publicKey, a.publicKey]))
        // Release 3 signed by B alone is now enough.
        #expect(try device.install(SignedRelease(signing: release(3), with: [b])).sequence == 3)
        // Release 4, signed by B, retires A.
        #expect(try device.install(SignedRelease(signing: release(4, trust: ReleaseTrust(keys: [b.publicKey])), with: [b])).sequence == 4)
        // Release 5 signed only by A (a lost or stolen old key) is refused; the device keeps release 4 and trust {B}.
        #expect(throws: AloftError("no trusted key signed this release")) { try device.install(SignedRelease(signing: release(5), with: [a])) }
        #expect(device.installed == 4 && device.trust == ReleaseTrust(keys: [b.publicKey]))
        #expect(try device.install(SignedRelease(signing: release(5), with: [a, b])).sequence == 5)
    }

    @Test func aDeviceThatSkippedTheTransitionFollowsAReleaseSignedByBothKeys() throws {
        // Devices jump to the newest release; one still trusting {A} meets release 4 (trust {B}) directly.
        var device = TrustingDevice(trust: ReleaseTrust(keys: [a.publicKey]))
        let retiring = release(4, trust: ReleaseTrust(keys: [b.publicKey]))
        #expect(throws: AloftError("no trusted key signed this release")) { try device.install(SignedRelease(signing: retiring, with: [b])) }
        #expect(try device.install(SignedRelease(signing: retiring, with: [a, b])).sequence == 4)
        #expect(device.trust == ReleaseTrust(keys: [b.publicKey]))
    }

    @Test func thresholdTwo() throws {
        var device = TrustingDevice(trust: ReleaseTrust(keys: [a.publicKey, b.publicKey], threshold: 2))
        let one = release(2)
        #expect(throws: AloftError("this release is signed by 1 trusted key(s); 2 are needed")) {
            try device.install(SignedRelease(signing: one, with: [a]))
        }
        // The same key twice is one key.
        var twice = try SignedRelease(signing: one, with: [a])
        twice.signatures.append(twice.signatures[0])
        #expect(throws: AloftError("this release is signed by 1 trusted key(s); 2 are needed")) { try device.install(twice) }
        // An untrusted key does not make up the count.
        #expect(throws: AloftError.self) { try device.install(SignedRelease(signing: one, with: [a, c])) }
        // A and B; an extra untrusted signature is ignored. The release adds C, keeping two of three.
        let three = ReleaseTrust(keys: [a.publicKey, b.publicKey, c.publicKey], threshold: 2)
        #expect(try device.install(SignedRelease(signing: release(2, trust: three), with: [c, a, b])).sequence == 2)
        // Any two of the three now; a stolen single key (C) is not enough.
        #expect(try device.install(SignedRelease(signing: release(3), with: [b, c])).sequence == 3)
        #expect(throws: AloftError.self) { try device.install(SignedRelease(signing: release(4), with: [c])) }
        // A signature that claims B's key id but was made by C does not count for B.
        var forged = try SignedRelease(signing: release(4), with: [c, c])
        forged.signatures.append(ReleaseSignature(keyid: b.publicKey.keyID, sig: forged.signatures[0].sig))
        #expect(throws: AloftError("this release is signed by 1 trusted key(s); 2 are needed")) { try device.install(forged) }
        #expect(device.installed == 3)
    }

    @Test func aRefusedReleaseDoesNotChangeTrust() throws {
        // Verified first, adopted only after: a release signed by an untrusted key cannot install its own trust.
        var device = TrustingDevice(trust: ReleaseTrust(keys: [a.publicKey]))
        let takeover = release(2, trust: ReleaseTrust(keys: [c.publicKey]))
        #expect(throws: AloftError.self) { try device.install(SignedRelease(signing: takeover, with: [c])) }
        #expect(device.trust == ReleaseTrust(keys: [a.publicKey]) && device.installed == 0)
    }

    @Test func verifierChecksItsOwnThreshold() throws {
        let signed = try SignedRelease(signing: release(1), with: [a])
        #expect(throws: AloftError.self) { try signed.verified(trusting: [a.publicKey], threshold: 2) }
        #expect(throws: AloftError.self) { try signed.verified(trusting: [a.publicKey], threshold: 0) }
        #expect(throws: AloftError.self) { try signed.verified(trusting: [a.publicKey, a.publicKey], threshold: 2) }
        #expect(try signed.verified(trusting: [a.publicKey, b.publicKey], threshold: 1).sequence == 1)
    }

    @Test func signingWithSeveralKeys() throws {
        let signed = try SignedRelease(signing: release(1), with: [a, b, a])
        #expect(signed.signatures.map(\.keyid) == [a.publicKey.keyID, b.publicKey.keyID])
        #expect(Set(signed.verifiedKeys(trusting: [a.publicKey, b.publicKey, c.publicKey])) == [a.publicKey, b.publicKey])
        #expect(throws: AloftError.self) { try SignedRelease(signing: release(1), with: []) }
        #expect(throws: AloftError.self) { try SignedRelease(signing: release(1), with: (0..<9).map { _ in ReleasePrivateKey.generate() }) }
    }
}

@Suite struct TrustFieldTests {
    let a = ReleasePrivateKey.generate().publicKey, b = ReleasePrivateKey.generate().publicKey

    @Test func encodesSortedAndRoundTrips() throws {
        let trust = ReleaseTrust(keys: [a, b, a], threshold: 2)
        #expect(trust.keys == [a.rawHex, b.rawHex].sorted())
        let manifest = release(1, trust: trust)
        let text = manifest.canonicalJSON()
        #expect(text.hasSuffix(#","trust":{"keys":["\#(trust.keys[0])","\#(trust.keys[1])"],"threshold":2},"version":"1.2.0"}"#))
        #expect(try ReleaseManifest.parse(canonical: text, fileList: sampleFileList(manifest)) == manifest)
        #expect(try ReleaseManifest.parse(legacy: manifest.legacyCanonicalJSON()) == manifest)
    }

    @Test func rejectsEachBrokenRule() {
        let hexes = [a.rawHex, b.rawHex].sorted()
        let cases: [(ReleaseTrust, String)] = [
            (ReleaseTrust(keys: []), "trust.keys needs 1-8 keys, it has 0"),
            (ReleaseTrust(keys: (0..<9).map { _ in ReleasePrivateKey.generate().publicKey }), "trust.keys needs 1-8 keys, it has 9"),
            (ReleaseTrust(keys: [a], threshold: 0), "trust.threshold must be between 1 and the number of keys (1), got 0"),
            (ReleaseTrust(keys: [a, b], threshold: 3), "trust.threshold must be between 1 and the number of keys (2), got 3"),
        ]
        for (trust, message) in cases {
            #expect(throws: AloftError(message)) { try release(1, trust: trust).validate() }
        }
        func raw(_ keys: [String]) -> ReleaseTrust {
            var trust = ReleaseTrust(keys: [a])
            trust.keys = keys
            return trust
        }
        #expect(throws: AloftError("trust.keys must be sorted")) { try raw(hexes.reversed()).validate() }
        #expect(throws: AloftError("trust.keys lists \(hexes[0].prefix(16))… twice")) { try raw([hexes[0], hexes[0]]).validate() }
        for bad in [hexes[0].uppercased(), String(hexes[0].dropLast(2)), hexes[0] + "00", "zz" + hexes[0].dropFirst(2)] {
            #expect(throws: AloftError("trust.keys[0] must be an Ed25519 public key as 64 lowercase hex characters")) { try raw([bad]).validate() }
        }
    }

    @Test func parseRejectsNonCanonicalTrust() {
        let text = release(1, trust: ReleaseTrust(keys: [a])).canonicalJSON()
        for (from, to) in [("\"threshold\":1", "\"threshold\":1,\"x\":1"), ("{\"keys\"", "{\"threshold\":1,\"keys\""), ("\"threshold\":1", "\"threshold\":1.0")] {
            #expect(throws: AloftError.self) { try ManifestHeader.parse(canonical: text.replacingOccurrences(of: from, with: to)) }
        }
        let withNull = sampleManifest().canonicalJSON().replacingOccurrences(of: "\"sequence\"", with: "\"trust\":null,\"sequence\"")
        #expect(throws: AloftError.self) { try ManifestHeader.parse(canonical: withNull) }
    }
}

@Suite struct ExpiryTests {
    let key = ReleasePrivateKey.generate()

    @Test func encodesOnlyWhenSetAndRoundTrips() throws {
        #expect(!sampleManifest().canonicalJSON().contains("expires"))
        let manifest = release(1, expires: "2027-01-01T00:00:00Z")
        #expect(manifest.canonicalJSON().contains(#""created":"2026-11-29T02:33:34Z","expires":"2027-01-01T00:00:00Z","files":"#))
        #expect(try manifest.legacyCanonicalJSON().contains(#""created":"2026-11-29T02:33:34Z","expires":"2027-01-01T00:00:00Z","files":"#))
        #expect(try ReleaseManifest.parse(canonical: manifest.canonicalJSON(), fileList: sampleFileList(manifest)) == manifest)
        #expect(try ReleaseManifest.parse(legacy: manifest.legacyCanonicalJSON()) == manifest)
    }

    @Test(arguments: [
        ("2027-01-01 00:00:00", "expires must be an RFC 3339 UTC time like 2027-01-31T12:00:00Z, got '2027-01-01 00:00:00'"),
        ("2027-13-01T00:00:00Z", "expires must be an RFC 3339 UTC time like 2027-01-31T12:00:00Z, got '2027-13-01T00:00:00Z'"),
        ("2027-02-29T00:00:00Z", "expires must be an RFC 3339 UTC time like 2027-01-31T12:00:00Z, got '2027-02-29T00:00:00Z'"),
        ("2027-01-01T24:00:00Z", "expires must be an RFC 3339 UTC time like 2027-01-31T12:00:00Z, got '2027-01-01T24:00:00Z'"),
        ("2026-11-29T02:33:34Z", "expires (2026-11-29T02:33:34Z) must be after created (2026-11-29T02:33:34Z)"),
        ("2020-01-01T00:00:00Z", "expires (2020-01-01T00:00:00Z) must be after created (2026-11-29T02:33:34Z)"),
    ])
    func rejectsBadExpiry(_ expires: String, _ message: String) {
        #expect(throws: AloftError(message)) { try release(1, expires: expires).validate() }
    }

    @Test func timestampsNameTheRightInstant() {
        #expect(ReleaseManifest.date(fromTimestamp: "1970-01-01T00:00:00Z") == Date(timeIntervalSince1970: 0))
        #expect(ReleaseManifest.date(fromTimestamp: "2024-02-29T23:59:59Z") != nil)
        #expect(ReleaseManifest.date(fromTimestamp: "2100-02-29T00:00:00Z") == nil)
        let formatter = ISO8601DateFormatter()
        var seed: UInt64 = 42
        for _ in 0..<500 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let date = Date(timeIntervalSince1970: TimeInterval(seed >> 31 % 8_000_000_000))
            let text = ReleaseManifest.timestamp(date)
            #expect(text == formatter.string(from: date))
            #expect(ReleaseManifest.date(fromTimestamp: text) == date)
        }
    }

    @Test func aVerifierWithAClockRefusesAnExpiredRelease() throws {
        let signed = try key.sign(release(3, expires: "2027-01-01T00:00:00Z"))
        let end = try #require(ReleaseManifest.date(fromTimestamp: "2027-01-01T00:00:00Z"))
        #expect(try signed.verified(trusting: [key.publicKey], now: end.addingTimeInterval(-1)).sequence == 3)
        #expect(throws: AloftError("this release expired at 2027-01-01T00:00:00Z")) { try signed.verified(trusting: [key.publicKey], now: end) }
        // Without a clock there is nothing to compare with: only the sequence protects the device.
        #expect(try signed.verified(trusting: [key.publicKey], now: nil).sequence == 3)
        // A release without expires never expires.
        #expect(try key.sign(release(3)).verified(trusting: [key.publicKey], now: .distantFuture).sequence == 3)
        // The same for a legacy envelope.
        let legacy = try SignedRelease(signingLegacy: release(3, expires: "2027-01-01T00:00:00Z"), with: [key])
        #expect(try legacy.verifiedLegacy(trusting: [key.publicKey], now: end.addingTimeInterval(-1)).sequence == 3)
        #expect(throws: AloftError("this release expired at 2027-01-01T00:00:00Z")) { try legacy.verifiedLegacy(trusting: [key.publicKey], now: end) }
    }
}
