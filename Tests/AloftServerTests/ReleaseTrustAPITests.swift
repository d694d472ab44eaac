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
        try await TestFleet.run { fleet in
            let token = try await fleet.registerDevice("dev-1")
            try await fleet.publish(TestRelease(version: "1.0.0", sequence: 1))
            var expiring = TestRelease(version: "1.1.0", sequence: 2)
            let end = Date().addingTimeInterval(2)
            expiring.manifest.expires = ReleaseManifest.timestamp(end)
            try #require(try await fleet.publish(expiring).status == .created)

            func offered(from sequence: Int) async throws -> Int? {
                let response = try await fleet.checkIn("dev-1", token: token, sequence: sequence)
                guard response.object["action"] as? String == "update" else { return nil }
                let release = try #require(response.object["release"] as? [String: Any])
                return try ReleaseManifest.parse(canonical: #require(release["manifest"] as? String)).sequence
            }
            #expect(try await offered(from: 0) == 2)
            let expiry = try #require(ReleaseManifest.date(fromTimestamp: expiring.manifest.expires!))
            try await Task.sleep(for: .milliseconds(Int(max(0, expiry.timeIntervalSinceNow) * 1000) + 100))
            // The newest release still in date is offered instead; a device already on it hears "none".
            #expect(try await offered(from: 0) == 1)
            #expect(try await offered(from: 1) == nil)
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
            for file in release.files { try await fleet.putBlob(file.bytes) }
            #expect(try await fleet.send(.post, "/api/v1/admin/releases", encoding: envelope).status == .created)

            let response = try await fleet.checkIn("dev-1", token: token)
            let offered = try JSONDecoder().decode(OfferedRelease.self, from: Data(response.body.readableBytesView)).release
            #expect(offered == envelope)
            let manifest = try offered.verified(under: ReleaseTrust(keys: [old.publicKey]), now: Date())
            #expect(manifest.trust == ReleaseTrust(keys: [new.publicKey]))
        }
    }
}

/// The envelope of a check-in answer.
private struct OfferedRelease: Decodable {
    var release: SignedRelease
}
