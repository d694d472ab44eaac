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
        let text = manifest.canonicalJSON()
        let signature: Data
        do {
            signature = try key.signature(for: Data(text.utf8))
        } catch {
            throw AloftError("signing failed: \(error)")
        }
        return SignedRelease(manifest: text, signatures: [ReleaseSignature(keyid: publicKey.keyID, sig: signature.base64EncodedString())])
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

    /// The manifest, parsed strictly. Does not check signatures (the server cannot; devices do).
    public func parsedManifest() throws(AloftError) -> ReleaseManifest {
        guard (1...Self.maxSignatures).contains(signatures.count) else {
            throw AloftError("a release needs 1-\(Self.maxSignatures) signatures, it has \(signatures.count)")
        }
        for signature in signatures {
            guard signature.keyid.utf8.count == 16, Digest.bytes(fromHex: signature.keyid) != nil,
                  let raw = Data(base64Encoded: signature.sig), raw.count == 64
            else { throw AloftError("malformed signature: keyid must be 16 hex characters and sig 64 bytes of base64") }
        }
        return try ReleaseManifest.parse(canonical: manifest)
    }

    /// The keys among `trusted` that signed these exact bytes; what a device computes.
    public func verifiedKeys(trusting trusted: [ReleasePublicKey]) -> [ReleasePublicKey] {
        let message = Array(manifest.utf8)
        return trusted.filter { key in
            signatures.contains { $0.keyid == key.keyID && Data(base64Encoded: $0.sig).map { key.isValidSignature(Array($0), for: message) } == true }
        }
    }

    /// Parses the manifest only when at least one trusted key signed it (threshold 1).
    public func verified(trusting trusted: [ReleasePublicKey]) throws(AloftError) -> ReleaseManifest {
        let manifest = try parsedManifest()
        guard !verifiedKeys(trusting: trusted).isEmpty else { throw AloftError("no trusted key signed this release") }
        return manifest
    }
}
