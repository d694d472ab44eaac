/// One firmware image a release carries: an ESP-IDF app image for one MicroPython firmware build (docs/firmware.md).
///
/// The manifest lists these under `firmware`, sorted by ``build``; a device whose firmware build is ``build`` and whose
/// running image is another takes this one first (``FirmwareStep``).
public struct FirmwareImage: Codable, Sendable, Equatable, Hashable {
    /// Most images one release carries.
    public static let maxImages = 8
    public static let maxBuildCharacters = 48
    /// Smallest and largest image: an app image is at least its header and descriptor; no ESP32 OTA slot is above 16 MiB.
    public static let minSize = 256
    public static let maxSize = 16 * 1024 * 1024
    /// The chips an image may be for, as esptool and `idf.py` name them.
    public static let chips = ["esp32", "esp32c2", "esp32c3", "esp32c5", "esp32c6", "esp32h2", "esp32p4", "esp32s2", "esp32s3"]

    /// The firmware build, as `sys.implementation._build` reports it: `ESP32_GENERIC-OTA`.
    public var build: String
    public var chip: String
    /// The MicroPython version the image runs, `X.Y.Z`.
    public var micropython: String
    /// The `.mpy` major version the firmware loads.
    public var mpy: Int
    public var sha256: String
    public var size: Int

    public init(build: String, chip: String, micropython: String, mpy: Int, sha256: String, size: Int) {
        self.build = build
        self.chip = chip
        self.micropython = micropython
        self.mpy = mpy
        self.sha256 = sha256
        self.size = size
    }

    /// The MicroPython version as a comparable value (validated images always have one).
    public var version: MicroPythonVersion? { MicroPythonVersion(micropython) }

    /// Checks the rules of docs/firmware.md, "Manifest"; the message names the build and the rule.
    public func validate() throws(AloftError) {
        guard Self.isBuildName(build) else {
            throw AloftError("firmware build must be 1-\(Self.maxBuildCharacters) of A-Z a-z 0-9 _ -, got '\(build.prefix(60))'")
        }
        guard Self.chips.contains(chip) else {
            throw AloftError("firmware \(build): chip must be one of \(Self.chips.joined(separator: ", ")), got '\(chip.prefix(20))'")
        }
        guard Self.isPlainVersion(micropython) else {
            throw AloftError("firmware \(build): micropython must be a version X.Y.Z (digits only), got '\(micropython.prefix(30))'")
        }
        guard (1...255).contains(mpy) else { throw AloftError("firmware \(build): mpy must be between 1 and 255, got \(mpy)") }
        guard Digest.isSHA256Hex(sha256) else { throw AloftError("firmware \(build): sha256 must be 64 lowercase hex characters") }
        guard (Self.minSize...Self.maxSize).contains(size) else {
            throw AloftError("firmware \(build): size must be between \(Self.minSize) and \(Self.maxSize) bytes, got \(size)")
        }
    }

    /// The rules of a manifest's `firmware` list: 1 to ``maxImages`` valid images, sorted by build, each build once.
    public static func validate(_ images: [FirmwareImage]) throws(AloftError) {
        guard (1...maxImages).contains(images.count) else {
            throw AloftError("firmware lists 1-\(maxImages) images, got \(images.count) (leave it out for a release without firmware)")
        }
        for image in images { try image.validate() }
        for (a, b) in zip(images, images.dropFirst()) {
            guard Array(a.build.utf8).lexicographicallyPrecedes(Array(b.build.utf8)) else {
                throw AloftError(a.build == b.build ? "firmware lists build \(a.build) twice" : "firmware is not sorted by build (\(a.build) before \(b.build))")
            }
        }
    }

    /// `images` sorted as a manifest lists them.
    public static func sorted(_ images: [FirmwareImage]) -> [FirmwareImage] {
        images.sorted { Array($0.build.utf8).lexicographicallyPrecedes(Array($1.build.utf8)) }
    }

    /// The `.mpy` major version a MicroPython version loads (docs/reference/mpyfiles.rst): 6 from 1.19, 5 from 1.12; nil before.
    public static func mpyVersion(forMicroPython version: MicroPythonVersion) -> Int? {
        if version >= MicroPythonVersion("1.19")! { return 6 }
        if version >= MicroPythonVersion("1.12")! { return 5 }
        return nil
    }

    static func isBuildName(_ s: String) -> Bool {
        (1...maxBuildCharacters).contains(s.utf8.count)
            && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F || $0 == 0x2D }
    }

    /// `X.Y.Z`, digits only, no leading zeros, at most 6 digits a part.
    public static func isPlainVersion(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3
            && parts.allSatisfy { part in
                (1...6).contains(part.count) && part.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && (part == "0" || part.first != "0")
            }
    }

    var canonicalValue: CanonicalJSON {
        .object([
            "build": .string(build), "chip": .string(chip), "micropython": .string(micropython), "mpy": .integer(mpy), "sha256": .string(sha256),
            "size": .integer(size),
        ])
    }
}
