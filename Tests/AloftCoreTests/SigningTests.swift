import Foundation
import Testing

@testable import AloftCore

@Suite struct SigningTests {
    /// RFC 8032 §7.1, test 2 (one-byte message 0x72).
    @Test func verifiesRFC8032Vector() throws {
        let key = try ReleasePublicKey(rawHex: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
        let sig = Digest.bytes(fromHex: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")!
        #expect(key.isValidSignature(sig, for: [0x72]))
        #expect(!key.isValidSignature(sig, for: [0x73]))
    }

    @Test func signThenVerify() throws {
        let key = ReleasePrivateKey.generate()
        let signed = try key.sign(sampleManifest())
        #expect(signed.signatures.count == 1 && signed.signatures[0].keyid == key.publicKey.keyID)
        #expect(try signed.verified(trusting: [key.publicKey]) == sampleManifest().header)
        #expect(try signed.verified(trusting: [key.publicKey]).release(fileList: sampleFileList()) == sampleManifest())
        // The legacy envelope: the same key over the format-1 text.
        let legacy = try SignedRelease(signingLegacy: sampleManifest(), with: [key])
        #expect(try legacy.verifiedLegacy(trusting: [key.publicKey]) == sampleManifest())
        #expect(throws: AloftError("this is a format-1 manifest (files listed inline); format 2 is expected here")) {
            try legacy.verified(trusting: [key.publicKey])
        }
        #expect(throws: AloftError("expected a format-1 manifest, got format 2")) { try signed.verifiedLegacy(trusting: [key.publicKey]) }
    }

    @Test func otherKeyAndTamperingAreRefused() throws {
        let key = ReleasePrivateKey.generate(), other = ReleasePrivateKey.generate()
        let signed = try key.sign(sampleManifest())
        #expect(throws: AloftError("no trusted key signed this release")) { try signed.verified(trusting: [other.publicKey]) }
        var tampered = signed
        tampered.manifest = sampleManifest(sequence: 2).canonicalJSON()
        #expect(throws: AloftError("no trusted key signed this release")) { try tampered.verified(trusting: [key.publicKey]) }
        // A signature claiming the trusted key id but made by another key.
        var forged = try other.sign(sampleManifest())
        forged.signatures[0].keyid = key.publicKey.keyID
        #expect(throws: AloftError("no trusted key signed this release")) { try forged.verified(trusting: [key.publicKey]) }
        // Either of two trusted keys is enough.
        #expect(try signed.verified(trusting: [other.publicKey, key.publicKey]) == sampleManifest().header)
    }

    @Test func malformedSignaturesAreRefusedBeforeParsing() {
        let text = sampleManifest().canonicalJSON()
        for sigs in [[], [ReleaseSignature(keyid: "zz", sig: "AAAA")], [ReleaseSignature(keyid: "0123456789abcdef", sig: "not base64")]] {
            #expect(throws: AloftError.self) { try SignedRelease(manifest: text, signatures: sigs).parsedHeader() }
        }
    }

    @Test func pemRoundTripAndKeyID() throws {
        let key = ReleasePrivateKey.generate()
        #expect(key.pemRepresentation.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let again = try ReleasePrivateKey(pem: key.pemRepresentation)
        #expect(again.publicKey == key.publicKey)
        let pub = try ReleasePublicKey(pem: key.publicKey.pemRepresentation)
        #expect(pub.pemRepresentation.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        #expect(try ReleasePublicKey(rawHex: pub.rawHex) == pub)
        #expect(pub.keyID == String(Digest.sha256Hex(Digest.bytes(fromHex: pub.rawHex)!).prefix(16)))
        #expect(throws: AloftError.self) { try ReleasePrivateKey(pem: pub.pemRepresentation) }
        #expect(throws: AloftError.self) { try ReleasePublicKey(pem: "garbage") }
        #expect(throws: AloftError.self) { try ReleasePublicKey(rawHex: "abcd") }
    }

    @Test func envelopeJSONShape() throws {
        let signed = try ReleasePrivateKey.generate().sign(sampleManifest())
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(signed)) as! [String: Any]
        #expect(Set(json.keys) == ["manifest", "signatures"])
        #expect(try JSONDecoder().decode(SignedRelease.self, from: JSONEncoder().encode(signed)) == signed)
    }

    @Test func publicationJSONShape() throws {
        let key = ReleasePrivateKey.generate()
        let signed = try key.sign(sampleManifest())
        let legacy = try SignedRelease(signingLegacy: sampleManifest(), with: [key])
        let publication = ReleasePublication(signed, legacy: legacy)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(publication)) as! [String: Any]
        #expect(Set(json.keys) == ["manifest", "signatures", "legacy"])
        #expect(Set((json["legacy"] as! [String: Any]).keys) == ["manifest", "signatures"])
        #expect(try JSONDecoder().decode(ReleasePublication.self, from: JSONEncoder().encode(publication)) == publication)
        #expect(publication.envelope == signed)
        // Without a legacy envelope the field is left out, never null.
        let alone = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ReleasePublication(signed))) as! [String: Any]
        #expect(Set(alone.keys) == ["manifest", "signatures"])
    }

    @Test func digestHelpers() {
        #expect(Digest.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.bytes(fromHex: "0aFf") == [0x0a, 0xff])
        #expect(Digest.bytes(fromHex: "0g") == nil && Digest.bytes(fromHex: "abc") == nil)
        #expect(Digest.isSHA256Hex(String(repeating: "0", count: 64)) && !Digest.isSHA256Hex(String(repeating: "G", count: 64)))
    }
}
