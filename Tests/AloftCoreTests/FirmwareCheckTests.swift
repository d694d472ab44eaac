import Foundation
import Testing

@testable import AloftCore

/// The check publish makes to write a release's firmware entry (docs/firmware.md, "Manifest") from an image.
@Suite struct FirmwareCheckTests {
    @Test func makesTheEntryOfAnImage() throws {
        let bytes = ESPTestImage.standard()
        let entry = try FirmwareImage(build: "ESP32_GENERIC-OTA", imageBytes: bytes)
        #expect(entry == FirmwareImage(build: "ESP32_GENERIC-OTA", chip: "esp32", micropython: "1.26.0", mpy: 6, sha256: Digest.sha256Hex(bytes), size: bytes.count))
        // The fields the manifest names, and no others.
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(entry)) as? [String: Any]
        #expect(json.map { Set($0.keys) } == ["build", "chip", "micropython", "mpy", "sha256", "size"])
        #expect(try JSONDecoder().decode(FirmwareImage.self, from: JSONEncoder().encode(entry)) == entry)
    }

    @Test func theChipMustBeTheBuilds() throws {
        let s3 = try ESPAppImage(parsing: ESPTestImage.standard(chip: .esp32s3))
        #expect(throws: AloftError("chip esp32s3 is not what ESP32_GENERIC-OTA runs (esp32)")) { try FirmwareImage(build: "ESP32_GENERIC-OTA", image: s3) }
        #expect(try FirmwareImage(build: "ESP32_GENERIC_S3", image: s3).chip == "esp32s3")
        #expect(try FirmwareImage(build: "ARDUINO_NANO_ESP32", image: s3).chip == "esp32s3")
        // A chip given for a known build must be the table's, and does not make another chip's image fit.
        #expect(throws: AloftError("ESP32_GENERIC-OTA runs on the esp32 (MicroPython's board.json), not the esp32s3 given")) {
            try FirmwareImage(build: "ESP32_GENERIC-OTA", image: s3, chip: .esp32s3)
        }
        #expect(try FirmwareImage(build: "ESP32_GENERIC_S3", image: s3, chip: .esp32s3).build == "ESP32_GENERIC_S3")
    }

    @Test func anUnknownBuildNeedsItsChip() throws {
        let image = try ESPAppImage(parsing: ESPTestImage.standard())
        #expect(throws: AloftError(
            "unknown firmware build 'MY_BOARD-CUSTOM' (not a board or variant of MicroPython's ports/esp32): give the chip it runs on to publish it")
        ) { try FirmwareImage(build: "MY_BOARD-CUSTOM", image: image) }
        #expect(try FirmwareImage(build: "MY_BOARD-CUSTOM", image: image, chip: .esp32).chip == "esp32")
        #expect(throws: AloftError("chip esp32 is not what MY_BOARD-CUSTOM runs (esp32c3, as given)")) {
            try FirmwareImage(build: "MY_BOARD-CUSTOM", image: image, chip: .esp32c3)
        }
        // Build names are case-sensitive, as sys.implementation._build is.
        #expect(throws: AloftError.self) { try FirmwareImage(build: "esp32_generic-ota", image: image) }
    }

    /// Each OTA build against its own slot: one byte more than the slot is refused, the slot itself fits.
    @Test(arguments: [("ESP32_GENERIC-OTA", 0x18_0000), ("SIL_WESP32", 0x27_0000), ("SIL_MANT1S", 0x20_0000)])
    func theImageMustFitTheSlot(build: String, slot: Int) throws {
        let fixed = ESPTestImage.standard().count - 1000  // everything but the filler
        let fits = try ESPAppImage(parsing: ESPTestImage.standard(dromFiller: slot - fixed))
        #expect(fits.size == slot)
        #expect(try FirmwareImage(build: build, image: fits).size == slot)
        let over = try ESPAppImage(parsing: ESPTestImage.standard(dromFiller: slot - fixed + 16))
        #expect(over.size == slot + 16)
        #expect(throws: AloftError("the image is larger than the OTA slot of \(build) (\(slot + 16) > \(slot))")) {
            try FirmwareImage(build: build, image: over)
        }
        // A build without an OTA table has no slot to check here (a board converted by hand reports its slot at check-in).
        #expect(try FirmwareImage(build: "ESP32_GENERIC", image: over).size == slot + 16)
    }

    @Test func theVersionComesFromTheBannerOrIsGiven() throws {
        let noBanner = try ESPAppImage(parsing: ESPTestImage.standard(banners: []))
        #expect(throws: AloftError("the image has no MicroPython banner ('MicroPython vX.Y.Z on ...') to read its version from: give the version")) {
            try FirmwareImage(build: "ESP32_GENERIC-OTA", image: noBanner)
        }
        #expect(try FirmwareImage(build: "ESP32_GENERIC-OTA", image: noBanner, micropython: "1.24.1").micropython == "1.24.1")
        let preview = try ESPAppImage(parsing: ESPTestImage.standard(banners: ["MicroPython v1.27.0-preview.123.gabcdef on 2025-10-01; Generic"]))
        let entry = try FirmwareImage(build: "ESP32_GENERIC-OTA", image: preview)
        #expect(entry.micropython == "1.27.0" && entry.mpy == 6)
        #expect(throws: AloftError("the image's banner says MicroPython 1.27.0, not the 1.26.0 given")) {
            try FirmwareImage(build: "ESP32_GENERIC-OTA", image: preview, micropython: "1.26.0")
        }
    }

    @Test(arguments: [
        ("1.12.0", 5), ("1.12.9", 5), ("1.18.0", 5), ("1.18.99", 5), ("1.19.0", 6), ("1.19.1", 6), ("1.26.0", 6), ("2.0.0", 6),
    ])
    func mpyFollowsTheVersion(version: String, mpy: Int) throws {
        #expect(FirmwareImage.mpyVersion(forMicroPython: MicroPythonVersion(version)!) == mpy)
        let image = try ESPAppImage(parsing: ESPTestImage.standard(banners: ["MicroPython v\(version) on 2020-01-01; ESP32 module with ESP32"]))
        #expect(try FirmwareImage(build: "ESP32_GENERIC", image: image).mpy == mpy)
    }

    @Test func firmwareBefore112IsRefused() throws {
        let image = try ESPAppImage(parsing: ESPTestImage.standard(banners: ["MicroPython v1.11 on 2019-05-29; ESP32 module with ESP32"]))
        #expect(throws: AloftError("MicroPython 1.11.0 is too old: firmware updates need 1.12 or later (.mpy version 5 or 6)")) {
            try FirmwareImage(build: "ESP32_GENERIC", image: image)
        }
    }

    @Test func aBrokenImageIsRefusedAsTheParserRefusesIt() {
        var bytes = ESPTestImage.standard()
        bytes[0x700] ^= 0x40
        #expect(throws: AloftError.self) { try FirmwareImage(build: "ESP32_GENERIC-OTA", imageBytes: bytes) }
        do {
            _ = try FirmwareImage(build: "ESP32_GENERIC-OTA", imageBytes: bytes)
        } catch {
            #expect(error.message.hasPrefix("bad checksum"), "\(error.message)")
        }
        #expect(throws: AloftError("firmware build must be 1-48 of A-Z a-z 0-9 _ -, got 'ESP32 GENERIC'")) {
            try FirmwareImage(build: "ESP32 GENERIC", imageBytes: ESPTestImage.standard())
        }
    }
}

/// The table of MicroPython's ESP32 builds (FirmwareBuilds), as derived from ports/esp32 (see its comment).
@Suite struct FirmwareBuildsTests {
    @Test func knowsEachBuildsChip() {
        let expected: [String: ESPChip] = [
            "ESP32_GENERIC": .esp32, "ESP32_GENERIC-OTA": .esp32, "ESP32_GENERIC-SPIRAM": .esp32, "ESP32_GENERIC-D2WD": .esp32,
            "ESP32_GENERIC-UNICORE": .esp32, "ESP32_GENERIC_S2": .esp32s2, "ESP32_GENERIC_S3": .esp32s3, "ESP32_GENERIC_S3-SPIRAM_OCT": .esp32s3,
            "ESP32_GENERIC_S3-FLASH_4M": .esp32s3, "ESP32_GENERIC_C2": .esp32c2, "ESP32_GENERIC_C3": .esp32c3, "ESP32_GENERIC_C5": .esp32c5,
            "ESP32_GENERIC_C6": .esp32c6, "ESP32_GENERIC_H2": .esp32h2, "ESP32_GENERIC_P4": .esp32p4, "ESP32_GENERIC_P4-C6_WIFI": .esp32p4,
            "ARDUINO_NANO_ESP32": .esp32s3, "SIL_WESP32": .esp32, "SIL_MANT1S": .esp32, "LOLIN_S2_MINI": .esp32s2, "UM_TINYPICO": .esp32,
            "M5STACK_NANOC6": .esp32c6, "SEEED_XIAO_ESP32C5": .esp32c5,
        ]
        for (build, chip) in expected { #expect(FirmwareBuilds.chip(forBuild: build) == chip, "\(build)") }
        for unknown in ["", "ESP32_GENERIC-", "esp32_generic", "ESP32_GENERIC-OTA ", "GENERIC_OTA", "RPI_PICO_W", "ESP8266_GENERIC"] {
            #expect(FirmwareBuilds.chip(forBuild: unknown) == nil, "\(unknown)")
        }
        // Every generic board's chip is in its name.
        for build in FirmwareBuilds.all where build.name.hasPrefix("ESP32_GENERIC_") {
            let suffix = build.name.dropFirst("ESP32_GENERIC_".count).prefix { $0 != "-" }.lowercased()
            #expect(build.chip.rawValue == "esp32" + suffix, "\(build.name)")
        }
    }

    @Test func fourBuildsShipAnOTATable() {
        let ota = FirmwareBuilds.all.filter { $0.otaSlotSize != nil }.map { "\($0.name) \($0.otaSlotSize!)" }
        #expect(ota == ["ARDUINO_NANO_ESP32 3145728", "ESP32_GENERIC-OTA 1572864", "SIL_MANT1S 2097152", "SIL_WESP32 2555904"])
        #expect(FirmwareBuilds.otaSlotSize(forBuild: "ESP32_GENERIC-OTA") == 0x18_0000)
        #expect(FirmwareBuilds.otaSlotSize(forBuild: "ESP32_GENERIC") == nil)
        #expect(FirmwareBuilds.otaSlotSize(forBuild: "NOT_A_BOARD") == nil)
        #expect(FirmwareBuilds.all.allSatisfy { ($0.otaSlotSize == nil) == ($0.partitionTable == nil) })
    }

    @Test func onlyTheNanoConfirmsEveryImage() {
        #expect(FirmwareBuilds.all.filter(\.autoConfirms).map(\.name) == ["ARDUINO_NANO_ESP32"])
        #expect(FirmwareBuilds.autoConfirms(build: "ARDUINO_NANO_ESP32"))
        #expect(!FirmwareBuilds.autoConfirms(build: "ESP32_GENERIC-OTA"))
        #expect(!FirmwareBuilds.autoConfirms(build: "NOT_A_BOARD"))
    }

    @Test func namesAreValidUniqueAndSorted() throws {
        let names = FirmwareBuilds.all.map(\.name)
        #expect(names.count == 58)
        #expect(names == names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect(Set(names).count == names.count)
        for name in names { try FirmwareImage.validateBuild(name) }
    }

    /// The manifest's chip names and the chips images name by id are one list.
    @Test func theManifestsChipsAreTheImageChips() {
        #expect(Set(FirmwareImage.chips) == Set(ESPChip.allCases.map(\.rawValue)))
        #expect(Set(FirmwareBuilds.all.map(\.chip)) == Set(ESPChip.allCases))
    }
}
