import AloftCore
import AloftServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `expires` and `trust` as the server sees them: it refuses expired releases, stops offering them, and passes
/// signatures and trust through untouched.
@Suite struct ReleaseTrustAPITests {
    @Test func publishRefusesAnExpiredRelease() async throws {
        try await TestFleet.run { fleet in
            var release = TestRelease(sequence: 1)
            release.manifest.created = "2020-01-01T00:00:00Z"
            release.manifest.expires = "2020-02-01T00:00:00Z"
            let refused = try await fleet.publish(release)
            #expect(refused.status == .badRequest && refused.errorCode == "bad_request")
            #expect((refused.object["message"] as? String)?.contains("expired at 2020-02-01T00:00:00Z") == true, "\(refused.text)")
            release.manifest.expires = ReleaseManifest.timestamp(Date().addingTimeInterval(86_400))
            #expect(try await fleet.publish(release).status == .created)

            var badTrust = TestRelease(sequence: 2)
            badTrust.manifest.trust = ReleaseTrust(keys: [TestFleet.signingKey.publicKey], threshold: 2)
            let invalid = try await fleet.publish(badTrust)
            #expect(invalid.status == .badRequest && (invalid.object["message"] as? String)?.contains("trust.threshold") == true, "\(invalid.text)")
        }
    }

    @Test func anExpiredReleaseIsNoLongerOffered() async throws {
        // The server's clock is the test's: the release expires when the test says, however slow the machine.
        let clock = TestClock(Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
        try await TestFleet.run(clock: clock.read) { fleet in
            let token = try await fleet.registerDevice("dev-1")
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            var expiring = TestRelease(version: "1.1.0", sequence: 2)
            let end = clock.now.addingTimeInterval(2)
            expiring.manifest.expires = ReleaseManifest.timestamp(end)
            try #require(try await fleet.publish(expiring).status == .created)

            func offered(from sequence: Int, format: Int? = nil) async throws -> Int? {
                try await fleet.offeredSequence("dev-1", token: token, sequence: sequence, format: format)
            }
            #expect(try await offered(from: 0) == 2)
            #expect(try await offered(from: 0, format: 2) == 2)
            let expiry = try #require(ReleaseManifest.date(fromTimestamp: expiring.manifest.expires!))
            clock.set(expiry)
            // The newest release still in date is offered instead; a device already on it hears "none".
            #expect(try await offered(from: 0) == 1)
            #expect(try await offered(from: 0, format: 2) == 1)
            #expect(try await offered(from: 1) == nil)
            #expect(try await offered(from: 1, format: 2) == nil)
        }
    }

    @Test func signaturesAndTrustReachTheDeviceUnchanged() async throws {
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            let old = TestFleet.signingKey, new = ReleasePrivateKey.generate()
            var release = TestRelease(sequence: 1)
            release.manifest.trust = ReleaseTrust(keys: [new.publicKey])
            release.manifest.expires = ReleaseManifest.timestamp(Date().addingTimeInterval(3_600))
            let envelope = try SignedRelease(signing: release.manifest, with: [old, new])
            let legacy = try SignedRelease(signingLegacy: release.manifest, with: [old, new])
            for file in release.files { try await fleet.putBlob(file.bytes) }
            try await fleet.putBlob(release.fileList)
            let publication = ReleasePublication(envelope, legacy: legacy)
            #expect(try await fleet.send(.post, "/api/v1/admin/releases", encoding: publication).status == .created)

            let response = try await fleet.checkIn("dev-1", token: token, format: 2)
            let offered = try JSONDecoder().decode(OfferedRelease.self, from: Data(response.body.readableBytesView)).release
            #expect(offered == envelope)
            let manifest = try offered.verified(under: ReleaseTrust(keys: [old.publicKey]), now: Date())
            #expect(manifest.trust == ReleaseTrust(keys: [new.publicKey]))

            let legacyResponse = try await fleet.checkIn("dev-1", token: token)
            let offeredLegacy = try JSONDecoder().decode(OfferedRelease.self, from: Data(legacyResponse.body.readableBytesView)).release
            #expect(offeredLegacy == legacy)
            let legacyManifest = try offeredLegacy.verifiedLegacy(trusting: [old.publicKey], now: Date())
            #expect(legacyManifest.trust == ReleaseTrust(keys: [new.publicKey]))
        }
    }
}
