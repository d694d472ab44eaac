/// The release keys a device trusts and how many of them must sign a release (docs/protocol.md, "Trust and key rotation").
///
/// A device starts with the trust it was provisioned with; a release carrying `trust` replaces it once the device has
/// verified that release under its current trust and confirmed it. Keys are raw Ed25519 public keys as 64 lowercase hex
/// characters, sorted and distinct, so that the same set has one spelling in a manifest.
public struct ReleaseTrust: Codable, Sendable, Equatable {
    public static let maxKeys = 8

    public var keys: [String]
    public var threshold: Int

    /// Sorts and de-duplicates the keys; ``validate()`` checks the threshold.
    public init(keys: [ReleasePublicKey], threshold: Int = 1) {
        self.keys = Set(keys.map(\.rawHex)).sorted()
        self.threshold = threshold
    }

    public func validate() throws(AloftError) {
        guard (1...Self.maxKeys).contains(keys.count) else { throw AloftError("trust.keys needs 1-\(Self.maxKeys) keys, it has \(keys.count)") }
        var keyIDs = Set<String>()
        for (index, key) in keys.enumerated() {
            guard Digest.isSHA256Hex(key), (try? ReleasePublicKey(rawHex: key)) != nil else {
                throw AloftError("trust.keys[\(index)] must be an Ed25519 public key as 64 lowercase hex characters")
            }
            guard index == 0 || keys[index - 1] < key else {
                throw AloftError(keys[index - 1] == key ? "trust.keys lists \(key.prefix(16))… twice" : "trust.keys must be sorted")
            }
            // Devices look keys up by key id; two keys with one id would hide each other.
            guard keyIDs.insert(try ReleasePublicKey(rawHex: key).keyID).inserted else { throw AloftError("two trust.keys share a key id") }
        }
        guard (1...keys.count).contains(threshold) else {
            throw AloftError("trust.threshold must be between 1 and the number of keys (\(keys.count)), got \(threshold)")
        }
    }

    public var publicKeys: [ReleasePublicKey] { keys.compactMap { try? ReleasePublicKey(rawHex: $0) } }

    /// The trust in force after confirming the release `manifest` heads: its own `trust` when it has one, else this one unchanged.
    public func adopting(_ manifest: ManifestHeader) -> ReleaseTrust { manifest.trust ?? self }

    var canonicalValue: CanonicalJSON {
        .object(["keys": .array(keys.map { .string($0) }), "threshold": .integer(threshold)])
    }
}
