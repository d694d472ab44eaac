import Crypto
import CryptoExtras
import Foundation

/// The Ed25519 key that signs releases. It stays with the publisher; the server never sees it.
public struct ReleasePrivateKey: Sendable {
    let key: Curve25519.Signing.PrivateKey

    public static func generate() -> ReleasePrivateKey {
        ReleasePrivateKey(key: Curve25519.Signing.PrivateKey())
    }

    /// Reads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    public init(pem: String) throws(AloftError) {
        do {
            key = try Curve25519.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw AloftError("not an Ed25519 private key in PKCS#8 PEM form")
        }
    }

    init(key: Curve25519.Signing.PrivateKey) {
        self.key = key
    }

    public var pemRepresentation: String { key.pemRepresentation }

    public var publicKey: ReleasePublicKey { ReleasePublicKey(key: key.publicKey) }

    /// Signs the manifest's canonical bytes.
    public func sign(_ manifest: ReleaseManifest) throws(AloftError) -> SignedRelease {
        try SignedRelease(signing: manifest, with: [self])
    }

    func signature(for text: String) throws(AloftError) -> ReleaseSignature {
        do {
            return ReleaseSignature(keyid: publicKey.keyID, sig: try key.signature(for: Data(text.utf8)).base64EncodedString())
        } catch {
            throw AloftError("signing failed: \(error)")
        }
    }
}

/// An Ed25519 public key that devices trust for releases.
public struct ReleasePublicKey: Sendable, Hashable {
    let key: Curve25519.Signing.PublicKey

    init(key: Curve25519.Signing.PublicKey) {
        self.key = key
    }

    /// Reads a SubjectPublicKeyInfo PEM public key (`-----BEGIN PUBLIC KEY-----`).
    public init(pem: String) throws(AloftError) {
        do {
            key = try Curve25519.Signing.PublicKey(pemRepresentation: pem)
        } catch {
            throw AloftError("not an Ed25519 public key in PEM form")
        }
    }

    /// Reads the 64-hex-character raw form that device configs carry.
    public init(rawHex: String) throws(AloftError) {
        guard let bytes = Digest.bytes(fromHex: rawHex), bytes.count == 32,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: bytes)
        else { throw AloftError("not an Ed25519 public key: expected 64 hex characters") }
        self.key = key
    }

    public var pemRepresentation: String { key.pemRepresentation }
    public var rawHex: String { Digest.hex(key.rawRepresentation) }
    /// First 16 hex characters of SHA-256 of the raw key.
    public var keyID: String { String(Digest.sha256Hex(key.rawRepresentation).prefix(16)) }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        key.isValidSignature(signature, for: message)
    }

    public static func == (lhs: ReleasePublicKey, rhs: ReleasePublicKey) -> Bool { lhs.rawHex == rhs.rawHex }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawHex) }
}

/// One signature over a manifest's bytes.
public struct ReleaseSignature: Codable, Sendable, Equatable {
    public var keyid: String
    public var sig: String

    public init(keyid: String, sig: String) {
        self.keyid = keyid
        self.sig = sig
    }
}

/// A manifest as published and as devices receive it: its exact text plus signatures over that text.
public struct SignedRelease: Codable, Sendable, Equatable {
    public static let maxSignatures = 8

    public var manifest: String
    public var signatures: [ReleaseSignature]

    public init(manifest: String, signatures: [ReleaseSignature]) {
        self.manifest = manifest
        self.signatures = signatures
    }

    /// Signs the manifest's canonical bytes once with each key (a key given twice signs once).
    public init(signing manifest: ReleaseManifest, with keys: [ReleasePrivateKey]) throws(AloftError) {
        guard (1...Self.maxSignatures).contains(keys.count) else { throw AloftError("sign with 1-\(Self.maxSignatures) keys, not \(keys.count)") }
        let text = manifest.canonicalJSON()
        var signatures: [ReleaseSignature] = []
        for key in keys where !signatures.contains(where: { $0.keyid == key.publicKey.keyID }) {
            signatures.append(try key.signature(for: text))
        }
        self.init(manifest: text, signatures: signatures)
    }

    /// The manifest, parsed strictly. Does not check signatures (the server cannot; devices do).
    public func parsedManifest() throws(AloftError) -> ReleaseManifest {
        try checkShape()
        return try ReleaseManifest.parse(canonical: manifest)
    }

    private func checkShape() throws(AloftError) {
        guard (1...Self.maxSignatures).contains(signatures.count) else {
            throw AloftError("a release needs 1-\(Self.maxSignatures) signatures, it has \(signatures.count)")
        }
        for signature in signatures {
            guard signature.keyid.utf8.count == 16, Digest.bytes(fromHex: signature.keyid) != nil,
                  let raw = Data(base64Encoded: signature.sig), raw.count == 64
            else { throw AloftError("malformed signature: keyid must be 16 hex characters and sig 64 bytes of base64") }
        }
    }

    /// The distinct keys among `trusted` that signed these exact bytes: a key counts once however many of its
    /// signatures the envelope carries, and a signature counts only for the key its `keyid` names.
    public func verifiedKeys(trusting trusted: [ReleasePublicKey]) -> [ReleasePublicKey] {
        let message = Array(manifest.utf8)
        return Array(Set(trusted)).filter { key in
            signatures.contains { $0.keyid == key.keyID && Data(base64Encoded: $0.sig).map { key.isValidSignature(Array($0), for: message) } == true }
        }
    }

    /// What a device does with an offered release, in the order docs/protocol.md gives: envelope shape, then
    /// signatures by at least `threshold` distinct trusted keys over the bytes as received, then the manifest's
    /// rules, then expiry against `now`. Pass nil for `now` only for a verifier without a clock: expiry is then not checked.
    public func verified(trusting trusted: [ReleasePublicKey], threshold: Int = 1, now: Date? = nil) throws(AloftError) -> ReleaseManifest {
        guard threshold >= 1, threshold <= Set(trusted).count else {
            throw AloftError("the threshold must be between 1 and the number of trusted keys (\(Set(trusted).count)), got \(threshold)")
        }
        try checkShape()
        let count = verifiedKeys(trusting: trusted).count
        guard count > 0 else { throw AloftError("no trusted key signed this release") }
        guard count >= threshold else { throw AloftError("this release is signed by \(count) trusted key(s); \(threshold) are needed") }
        let manifest = try ReleaseManifest.parse(canonical: manifest)
        if manifest.isExpired(at: now) { throw AloftError("this release expired at \(manifest.expires ?? "")") }
        return manifest
    }

    /// ``verified(trusting:threshold:now:)`` under a device's current trust.
    public func verified(under trust: ReleaseTrust, now: Date?) throws(AloftError) -> ReleaseManifest {
        try trust.validate()
        return try verified(trusting: trust.publicKeys, threshold: trust.threshold, now: now)
    }
}
