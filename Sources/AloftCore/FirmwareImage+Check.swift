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
    ///   (``ESPAppImage/micropythonVersion(given:)``); `mpy` follows from it (``mpyVersion(forMicroPython:)``), and
    ///   versions before 1.12 are refused.
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
        guard let mpy = MicroPythonVersion(version).flatMap(Self.mpyVersion(forMicroPython:)) else {
            throw AloftError("MicroPython \(version) is too old: firmware updates need 1.12 or later (.mpy version 5 or 6)")
        }
        self.init(build: build, chip: image.chip.rawValue, micropython: version, mpy: mpy, sha256: image.sha256, size: image.size)
        try validate()
    }

    /// ``init(build:image:chip:micropython:)`` of the image in `imageBytes` (the whole file); the build name is checked first.
    public init(build: String, imageBytes: some Collection<UInt8>, chip: ESPChip? = nil, micropython: String? = nil) throws(AloftError) {
        try Self.validateBuild(build)
        try self.init(build: build, image: try ESPAppImage(parsing: imageBytes), chip: chip, micropython: micropython)
    }

    /// Refuses anything but a build name (1 to ``maxBuildCharacters`` of `A-Z a-z 0-9 _ -`), as ``validate()`` does.
    public static func validateBuild(_ build: String) throws(AloftError) {
        guard isBuildName(build) else {
            throw AloftError("firmware build must be 1-\(maxBuildCharacters) of A-Z a-z 0-9 _ -, got '\(build.prefix(60))'")
        }
    }
}
