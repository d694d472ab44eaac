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
///
/// The text is a format-2 manifest (``ManifestHeader``), or a format-1 one in a release's legacy envelope
/// (docs/protocol.md, "Format 1").
public struct SignedRelease: Codable, Sendable, Equatable {
    public static let maxSignatures = 8

    public var manifest: String
    public var signatures: [ReleaseSignature]

    public init(manifest: String, signatures: [ReleaseSignature]) {
        self.manifest = manifest
        self.signatures = signatures
    }

    /// Signs the release's format-2 manifest once with each key (a key given twice signs once).
    public init(signing manifest: ReleaseManifest, with keys: [ReleasePrivateKey]) throws(AloftError) {
        try self.init(signing: manifest.canonicalJSON(), with: keys)
    }

    /// Signs the release's format-1 manifest, for agents before 0.3.0; refuses a release too large for format 1.
    public init(signingLegacy manifest: ReleaseManifest, with keys: [ReleasePrivateKey]) throws(AloftError) {
        try self.init(signing: manifest.legacyCanonicalJSON(), with: keys)
    }

    private init(signing text: String, with keys: [ReleasePrivateKey]) throws(AloftError) {
        guard (1...Self.maxSignatures).contains(keys.count) else { throw AloftError("sign with 1-\(Self.maxSignatures) keys, not \(keys.count)") }
        var signatures: [ReleaseSignature] = []
        for key in keys where !signatures.contains(where: { $0.keyid == key.publicKey.keyID }) {
            signatures.append(try key.signature(for: text))
        }
        self.init(manifest: text, signatures: signatures)
    }

    /// The format-2 manifest, parsed strictly. Does not check signatures (the server cannot; devices do).
    public func parsedHeader() throws(AloftError) -> ManifestHeader {
        try checkShape()
        return try ManifestHeader.parse(canonical: manifest)
    }

    /// The format-1 manifest of a legacy envelope, parsed strictly. Does not check signatures.
    public func parsedLegacyManifest() throws(AloftError) -> ReleaseManifest {
        try checkShape()
        return try ReleaseManifest.parse(legacy: manifest)
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

    /// What a device does with an offered format-2 release, in the order docs/protocol.md gives: envelope shape, then
    /// signatures by at least `threshold` distinct trusted keys over the bytes as received, then the manifest's
    /// rules, then expiry against `now`. Pass nil for `now` only for a verifier without a clock: expiry is then not checked.
    /// The file list comes next, checked against what this returns (``ManifestHeader/release(fileList:)``).
    public func verified(trusting trusted: [ReleasePublicKey], threshold: Int = 1, now: Date? = nil) throws(AloftError) -> ManifestHeader {
        try checkSignatures(trusting: trusted, threshold: threshold)
        let header = try ManifestHeader.parse(canonical: manifest)
        if header.isExpired(at: now) { throw AloftError("this release expired at \(header.expires ?? "")") }
        return header
    }

    /// ``verified(trusting:threshold:now:)`` under a device's current trust.
    public func verified(under trust: ReleaseTrust, now: Date?) throws(AloftError) -> ManifestHeader {
        try trust.validate()
        return try verified(trusting: trust.publicKeys, threshold: trust.threshold, now: now)
    }

    /// What an agent before 0.3.0 does with an offered legacy envelope: the same steps, on a format-1 manifest.
    public func verifiedLegacy(trusting trusted: [ReleasePublicKey], threshold: Int = 1, now: Date? = nil) throws(AloftError) -> ReleaseManifest {
        try checkSignatures(trusting: trusted, threshold: threshold)
        let manifest = try ReleaseManifest.parse(legacy: manifest)
        if manifest.isExpired(at: now) { throw AloftError("this release expired at \(manifest.expires ?? "")") }
        return manifest
    }

    private func checkSignatures(trusting trusted: [ReleasePublicKey], threshold: Int) throws(AloftError) {
        guard threshold >= 1, threshold <= Set(trusted).count else {
            throw AloftError("the threshold must be between 1 and the number of trusted keys (\(Set(trusted).count)), got \(threshold)")
        }
        try checkShape()
        let count = verifiedKeys(trusting: trusted).count
        guard count > 0 else { throw AloftError("no trusted key signed this release") }
        guard count >= threshold else { throw AloftError("this release is signed by \(count) trusted key(s); \(threshold) are needed") }
    }
}

/// What a publisher posts (docs/protocol.md, "Management API"): the signed format-2 manifest and, for agents before
/// 0.3.0, the signed format-1 manifest of the same release as its `legacy` envelope.
public struct ReleasePublication: Codable, Sendable, Equatable {
    public var manifest: String
    public var signatures: [ReleaseSignature]
    public var legacy: SignedRelease?
    /// Store it signed but offer it to no device until a rollout starts it; absent is false.
    public var held: Bool?
    /// Its firmware may go to boards whose bootloader does not roll back a failed firmware (`--firmware-without-rollback`,
    /// docs/firmware.md); absent is false. Not signed: it is the publisher's say over this server's offers, not the release.
    public var firmwareWithoutRollback: Bool?

    public init(_ envelope: SignedRelease, legacy: SignedRelease? = nil, held: Bool? = nil, firmwareWithoutRollback: Bool? = nil) {
        self.manifest = envelope.manifest
        self.signatures = envelope.signatures
        self.legacy = legacy
        self.held = held
        self.firmwareWithoutRollback = firmwareWithoutRollback
    }

    /// The format-2 envelope, as devices that read format 2 receive it.
    public var envelope: SignedRelease { SignedRelease(manifest: manifest, signatures: signatures) }

    /// The format-2 manifest, parsed strictly; a format-1 manifest in its place is refused with what to send instead.
    public func parsedHeader() throws(AloftError) -> ManifestHeader {
        try JSONLimits.checkDepth(manifest.utf8)
        if ReleaseManifest.format(of: manifest) == ReleaseManifest.legacyFormat {
            throw AloftError(
                legacy == nil
                    ? "a format-1 manifest alone cannot be published: send the format-2 manifest, with this one as its \"legacy\" envelope"
                        + " (aloft release publish does)"
                    : "the manifest must be format 2; the format-1 one goes in \"legacy\"")
        }
        return try envelope.parsedHeader()
    }

    /// The release, after every check a server makes before storing it: the format-2 manifest with `fileList`, the blob
    /// it names, and the legacy envelope, when there is one, as a format-1 manifest of exactly the same release.
    public func parsedRelease(fileList: some Collection<UInt8>) throws(AloftError) -> ReleaseManifest {
        let release = try parsedHeader().release(fileList: fileList)
        if let legacy {
            var old: ReleaseManifest
            do { old = try legacy.parsedLegacyManifest() } catch { throw AloftError("legacy: \(error.message)") }
            // What format 1 cannot say: its agents take the files alone, as its compat allows.
            if old.compat == release.compat.legacy { old.compat = release.compat }
            old.firmware = release.firmware
            if let why = release.legacyRefusal { throw AloftError("a legacy envelope must not be published for this release: \(why)") }
            let differences = release.differences(from: old)
            guard differences.isEmpty else {
                throw AloftError(
                    "the legacy manifest does not describe the same release as the manifest: \(differences.joined(separator: ", ")) "
                        + (differences.count == 1 ? "differs" : "differ"))
            }
        }
        return release
    }
}
