/// One firmware image of a release (docs/firmware.md, "Manifest"): the ESP32 app image that devices running `build` take,
/// with the MicroPython version it runs and the `.mpy` version that firmware loads.
public struct FirmwareImage: Codable, Sendable, Equatable {
    /// `BOARD` or `BOARD-VARIANT`, as `sys.implementation._build` reports it.
    public var build: String
    /// One of ``ESPChip``'s names.
    public var chip: String
    /// `X.Y.Z`, digits only.
    public var micropython: String
    /// The `.mpy` major version the firmware loads: 6 for MicroPython 1.19 and later, 5 for 1.12 to 1.18.
    public var mpy: Int
    /// Of the image file.
    public var sha256: String
    public var size: Int

    public static let maxBuildLength = 48
    public static let minSize = 256
    public static let maxSize = 16 * 1024 * 1024

    public init(build: String, chip: String, micropython: String, mpy: Int, sha256: String, size: Int) {
        self.build = build
        self.chip = chip
        self.micropython = micropython
        self.mpy = mpy
        self.sha256 = sha256
        self.size = size
    }

    /// Checks the field rules of docs/firmware.md, "Manifest"; the message names the first one broken. Whether the entries
    /// of a release are sorted and unique is the manifest's concern.
    public func validate() throws(AloftError) {
        try Self.validateBuild(build)
        func fail(_ why: String) -> AloftError { AloftError("firmware '\(build)': \(why)") }
        guard ESPChip(rawValue: chip) != nil else {
            throw fail("chip must be one of \(ESPChip.allCases.map(\.rawValue).joined(separator: ", ")), got '\(chip.prefix(40))'")
        }
        guard FirmwareVersion.isRelease(micropython) else { throw fail("micropython must be a version X.Y.Z (digits only), got '\(micropython.prefix(40))'") }
        guard let expected = Self.mpy(forMicroPython: micropython) else {
            throw fail("MicroPython \(micropython) is older than 1.12, the first whose .mpy files (version 5) Aloft knows")
        }
        guard mpy == expected else { throw fail("mpy must be \(expected) for MicroPython \(micropython), got \(mpy)") }
        guard Digest.isSHA256Hex(sha256) else { throw fail("sha256 must be 64 lowercase hex characters") }
        guard (Self.minSize...Self.maxSize).contains(size) else { throw fail("size must be \(Self.minSize)...\(Self.maxSize) bytes, got \(size)") }
    }

    /// A build name: 1 to ``maxBuildLength`` of `A-Z a-z 0-9 _ -`.
    public static func validateBuild(_ build: String) throws(AloftError) {
        let allowed = build.utf8.allSatisfy {
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
        guard (1...maxBuildLength).contains(build.utf8.count), allowed else {
            throw AloftError("a firmware build is 1-\(maxBuildLength) of A-Z a-z 0-9 _ -, like ESP32_GENERIC-OTA; got '\(build.prefix(60))'")
        }
    }

    /// The `.mpy` major version MicroPython `version` (`X.Y.Z`) loads: 6 from 1.19 on, 5 from 1.12 to 1.18
    /// (docs/firmware.md; MicroPython's docs/reference/mpyfiles.rst); nil before 1.12 or for anything but a version.
    public static func mpy(forMicroPython version: String) -> Int? {
        guard FirmwareVersion.isRelease(version), let v = MicroPythonVersion(version) else { return nil }
        if v >= MicroPythonVersion("1.19.0")! { return 6 }
        if v >= MicroPythonVersion("1.12.0")! { return 5 }
        return nil
    }
}

extension FirmwareImage {
    /// The entry publish writes for `image` as the firmware of `build`, after every check publish makes, or the reason it
    /// refuses, in one line.
    ///
    /// - The chip: a build MicroPython makes (``FirmwareBuilds``) runs on the chip its board.json names, and the image must
    ///   be for that chip; any other build needs `chip`, the chip the caller says it runs on. A `chip` given for a known
    ///   build must be the table's.
    /// - The size: at most the OTA slot of the build's partition table, when it ships one; a build without one (a board
    ///   converted to an OTA table by hand) has its slot checked at check-in, where the device reports it.
    /// - The MicroPython version: the image's banner, or `micropython` when the banner is missing or ambiguous
    ///   (``ESPAppImage/micropythonVersion(given:)``); `mpy` follows from it, and versions before 1.12 are refused.
    public init(build: String, image: ESPAppImage, chip: ESPChip? = nil, micropython: String? = nil) throws(AloftError) {
        try Self.validateBuild(build)
        let expected: ESPChip
        let known = FirmwareBuilds.build(named: build)
        switch (known, chip) {
        case (let known?, let given?) where known.chip != given:
            throw AloftError("\(build) runs on the \(known.chip.rawValue) (MicroPython's board.json), not the \(given.rawValue) given")
        case (let known?, _):
            expected = known.chip
        case (nil, let given?):
            expected = given
        case (nil, nil):
            throw AloftError(
                "unknown firmware build '\(build)' (not a board or variant of MicroPython's ports/esp32): give the chip it runs on to publish it")
        }
        guard image.chip == expected else {
            throw AloftError("chip \(image.chip.rawValue) is not what \(build) runs (\(expected.rawValue)\(known == nil ? ", as given" : ""))")
        }
        if let slot = known?.otaSlotSize, image.size > slot {
            throw AloftError("the image is larger than the OTA slot of \(build) (\(image.size) > \(slot))")
        }
        let version = try image.micropythonVersion(given: micropython).version
        guard let mpy = Self.mpy(forMicroPython: version) else {
            throw AloftError("MicroPython \(version) is too old: firmware updates need 1.12 or later (.mpy version 5 or 6)")
        }
        self.init(build: build, chip: image.chip.rawValue, micropython: version, mpy: mpy, sha256: image.sha256, size: image.size)
        try validate()
    }

    /// ``init(build:image:chip:micropython:)`` of the image in `imageBytes` (the whole file).
    public init(build: String, imageBytes: some Collection<UInt8>, chip: ESPChip? = nil, micropython: String? = nil) throws(AloftError) {
        try self.init(build: build, image: try ESPAppImage(parsing: imageBytes), chip: chip, micropython: micropython)
    }
}
