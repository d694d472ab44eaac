import Testing

@testable import AloftCore

/// Reading ESP-IDF app images (ESPAppImage): what a good one says, and every broken one refused with a line that says where.
@Suite struct ESPAppImageTests {

    @Test func readsAWellFormedImage() throws {
        let bytes = ESPTestImage.standard()
        let image = try ESPAppImage(parsing: bytes)
        #expect(image.chip == .esp32)
        #expect(image.entryPoint == 0x4008_1234)
        #expect(image.minChipRevision == 0 && image.maxChipRevision == 399)
        // DROM: descriptor 256, banner 66 and its NUL, filler 1000, a zero to a whole word: 1324 bytes.
        #expect(image.segments == [
            .init(loadAddress: 0x3F40_0020, length: 1324, fileOffset: 0x18),
            .init(loadAddress: 0x3FFB_0000, length: 64, fileOffset: 0x18 + 8 + 1324),
            .init(loadAddress: 0x4008_0000, length: 128, fileOffset: 0x18 + 16 + 1324 + 64),
            .init(loadAddress: 0x400D_0020, length: 512, fileOffset: 0x18 + 24 + 1324 + 64 + 128),
        ])
        let end = 0x18 + 32 + 1324 + 64 + 128 + 512  // 2084 = 0x824: padded to 0x82f
        #expect(image.checksumOffset == 0x82F && image.checksumOffset % 16 == 15 && image.checksumOffset >= end)
        #expect(bytes[end..<image.checksumOffset].allSatisfy { $0 == 0 })
        #expect(image.checksum == bytes[0x82F])
        #expect(image.size == 0x82F + 1 + 32 && image.size == bytes.count)
        #expect(image.sha256 == Digest.sha256Hex(bytes))
        #expect(image.appendedSHA256 == Digest.sha256Hex(bytes[..<0x830]))
        let d = image.descriptor
        #expect(d.secureVersion == 0 && d.version == "" && d.projectName == "" && d.time == "12:34:56" && d.date == "Aug  9 2025")
        #expect(d.idfVersion == "v5.4.2" && d.elfSHA256 == Digest.hex(ESPTestImage.elfSHA256))
        #expect(image.banners.map(\.text) == [ESPTestImage.banner])
        #expect(image.banners.first?.offset == 0x120)
        #expect(try image.micropythonVersion().version == "1.26.0")
    }

    /// The checksum sits at the first offset ≡ 15 (mod 16) after the segments: segments are whole words, so they end
    /// 3, 7, 11 or 15 bytes before it.
    @Test(arguments: [(1000, 11), (1004, 7), (1008, 3), (1012, 15), (1001, 11)])
    func putsTheChecksumWhereEsptoolDoes(filler: Int, padding: Int) throws {
        let bytes = ESPTestImage.standard(dromFiller: filler)
        let image = try ESPAppImage(parsing: bytes)
        let end = image.segments.last!.fileOffset + 8 + image.segments.last!.length
        #expect(image.checksumOffset == end + padding)
        #expect(image.checksumOffset % 16 == 15)
        #expect(image.size == end + padding + 1 + 32)
        // One byte of padding more or less puts the checksum where the reader does not look, and the hash with it.
        #expect(throws: AloftError.self) { try ESPAppImage(parsing: Array(bytes[..<end]) + [0] + Array(bytes[end...])) }
    }

    @Test func everyChipByItsId() throws {
        for chip in ESPChip.allCases {
            let image = try ESPAppImage(parsing: ESPTestImage.standard(chip: chip))
            #expect(image.chip == chip)
            #expect(chip.memoryKinds(at: image.segments[0].loadAddress).contains("DROM"), "\(chip)")
        }
        #expect(ESPChip.allCases.map(\.imageChipID) == [0, 2, 9, 12, 5, 23, 13, 16, 18])
        #expect(ESPChip.allCases.map(\.rawValue) == ["esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3", "esp32c5", "esp32c6", "esp32h2", "esp32p4"])
        #expect(ESPChip(imageChipID: 1) == nil)
    }

    @Test func namesMemoryAsEsptoolDoes() {
        #expect(ESPChip.esp32.memoryKinds(at: 0x3F40_0020) == ["DROM"])
        #expect(ESPChip.esp32.memoryKinds(at: 0x3FFB_0000) == ["BYTE_ACCESSIBLE", "DRAM"])
        #expect(ESPChip.esp32.memoryKinds(at: 0x400D_0020) == ["IROM"])
        #expect(ESPChip.esp32c6.memoryKinds(at: 0x4200_0020) == ["DROM", "IROM"])
        #expect(ESPChip.esp32h2.memoryKinds(at: 0x4200_0020) == ["DROM", "IROM"])
        #expect(ESPChip.esp32s3.memoryKinds(at: 0x3F40_0020) == [])
    }

    // MARK: Refused, with the reason and the place

    @Test(arguments: [
        Case("empty", [], "the file is empty, not an ESP app image"),
        Case("wrong magic", ESPTestImage.flipping(good, at: 0), "not an ESP app image: it starts with byte 0xe8, not the image magic 0xe9"),
        Case("short header", Array(good.prefix(20)), "truncated: the file ends at 0x14 (20 bytes), inside the 24-byte image header"),
        Case("no descriptor", ESPTestImage.flipping(good, at: 0x20), "this is a bootloader or a full flash image (firmware.bin: magic 0xe9 but no app descriptor"),
        Case("no descriptor, unknown chip", replacing(ESPTestImage.flipping(good, at: 0x20), at: 12, with: [7, 0]),
         "no app descriptor (magic 0xabcd5432) at 0x20: not an ESP-IDF app image"),
        Case("cut before the descriptor", Array(good.prefix(0x22)), "truncated: the file ends at 0x22 (34 bytes), before the app descriptor's magic (0x20-0x24)"),
        Case("cut in the descriptor", Array(good.prefix(0x100)), "truncated: the file ends at 0x100 (256 bytes), inside the app descriptor (0x20-0x120)"),
        Case("no segments", replacing(good, at: 1, with: [0]), "the image header says 0 segments; an app image has 1 to 16"),
        Case("17 segments", replacing(good, at: 1, with: [17]), "the image header says 17 segments; an app image has 1 to 16"),
        Case("unknown chip", replacing(good, at: 12, with: [7, 0]),
         "chip id 7 in the image header is none of the chips Aloft knows (esp32 0, esp32s2 2, esp32s3 9, esp32c2 12, esp32c3 5, esp32c5 23, esp32c6 13, esp32h2 16, esp32p4 18)"),
        Case("esp8266-sized chip id", replacing(good, at: 12, with: [0, 1]), "chip id 256 in the image header is none of the chips Aloft knows"),
        Case("hash not appended", replacing(good, at: 23, with: [0]),
         "the image carries no SHA-256 of itself (hash_appended, header byte 23, is 0): the bootloader could not check it, so it is refused"),
        Case("hash_appended 2", replacing(good, at: 23, with: [2]), "header byte 23 (hash_appended) is 0x02, not 1"),
        Case("odd segment length", replacing(good, at: 0x54C + 4, with: [63]),
         "segment 1 (at 0x54c, load address 0x3ffb0000) is 0x3f bytes long, not a multiple of 4"),
        Case("cut in a segment header", Array(good.prefix(0x54C + 5)),
         "truncated: the file ends at 0x551 (1361 bytes), inside the header of segment 1 (at 0x54c)"),
        Case("cut in a segment", Array(good.prefix(0x600)),
         "truncated: the file ends at 0x600 (1536 bytes), inside segment 2 (load address 0x40080000, 0x80 bytes from 0x59c)"),
        Case("cut at the checksum", Array(good.prefix(checksumAt)), "truncated: the file ends at 0x82f (2095 bytes), before the checksum byte at 0x82f"),
        Case("cut in the SHA-256", Array(good.dropLast(1)), "truncated: the file ends at 0x84f (2127 bytes), inside the appended SHA-256 (0x830-0x850)"),
        Case("segment data changed", ESPTestImage.flipping(good, at: 0x700),
         "bad checksum: the image says \(hexByte(good[checksumAt])) at 0x82f, its segments give \(hexByte(good[checksumAt] ^ 1)): the image is damaged"),
        Case("checksum changed", ESPTestImage.flipping(good, at: checksumAt),
         "bad checksum: the image says \(hexByte(good[checksumAt] ^ 1)) at 0x82f, its segments give \(hexByte(good[checksumAt])): the image is damaged"),
        Case("entry point changed", ESPTestImage.flipping(good, at: 4),
         "bad appended SHA-256: the image's last 32 bytes are not the SHA-256 of the rest: the image is damaged or was changed"),
        Case("padding changed", ESPTestImage.flipping(good, at: checksumAt - 1),
         "bad appended SHA-256: the image's last 32 bytes are not the SHA-256 of the rest: the image is damaged or was changed"),
        Case("SHA-256 changed", ESPTestImage.flipping(good, at: good.count - 1),
         "bad appended SHA-256: the image's last 32 bytes are not the SHA-256 of the rest: the image is damaged or was changed"),
        Case("one byte more", good + [0],
         "1 bytes after the image's end at 0x850 (its appended SHA-256 ends there): publish the image alone, without padding"),
        Case("padded to a sector", good + [UInt8](repeating: 0xFF, count: 4096 - good.count),
         "1968 bytes after the image's end at 0x850 (its appended SHA-256 ends there): publish the image alone, without padding"),
    ])
    func refuses(_ refused: Case) {
        #expect(throws: AloftError.self) { try ESPAppImage(parsing: refused.bytes) }
        do {
            _ = try ESPAppImage(parsing: refused.bytes)
        } catch {
            #expect(error.message.hasPrefix(refused.message), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }

    /// A broken image and the start of the line that refuses it; named by what is broken, not by its bytes.
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let message: String
        init(_ name: String, _ bytes: [UInt8], _ message: String) {
            self.name = name
            self.bytes = bytes
            self.message = message
        }
        var testDescription: String { name }
    }

    @Test func segmentZeroMustHoldTheDescriptor() {
        let a = ESPTestImage.addresses(.esp32)
        let d = ESPTestImage.descriptor()
        // The descriptor's bytes are all in the file, but segment 0 is only its first 16 bytes.
        let bytes = ESPTestImage.image(chip: .esp32, segments: [(a.drom, Array(d[..<16])), (a.dram, Array(d[16...]))])
        #expect(throws: AloftError("segment 0 is 16 bytes, too short to hold the app descriptor (256)")) { try ESPAppImage(parsing: bytes) }
    }

    @Test func anImageWithoutItsHashIsRefusedEvenWhenWellFormed() {
        let bytes = ESPTestImage.image(chip: .esp32, segments: [(ESPTestImage.addresses(.esp32).drom, ESPTestImage.descriptor())], hashAppended: 0)
        #expect(throws: AloftError(
            "the image carries no SHA-256 of itself (hash_appended, header byte 23, is 0): the bootloader could not check it, so it is refused")
        ) { try ESPAppImage(parsing: bytes) }
    }

    // MARK: Full flash images

    /// chip, where the file starts in flash (nil: at the bootloader), where the partition table and the app are in the file.
    @Test(arguments: [
        (ESPChip.esp32, nil as Int?, 0x7000, 0xF000), (.esp32s2, nil, 0x7000, 0xF000), (.esp32s3, nil, 0x8000, 0x10000),
        (.esp32c2, nil, 0x8000, 0x10000), (.esp32c3, nil, 0x8000, 0x10000), (.esp32c6, nil, 0x8000, 0x10000), (.esp32h2, nil, 0x8000, 0x10000),
        (.esp32c5, nil, 0x6000, 0xE000), (.esp32p4, nil, 0x6000, 0xE000),
        // A dump of the whole flash of an esp32: 0xFF up to the bootloader at 0x1000.
        (.esp32, 0, 0x8000, 0x10000),
    ])
    func saysWhereTheAppIsInAFullFlashImage(chip: ESPChip, start: Int?, table: Int, app: Int) throws {
        let appImage = ESPTestImage.standard(chip: chip)
        let full = ESPTestImage.fullFlash(chip: chip, app: appImage, start: start)
        let flashOffset = start ?? chip.bootloaderOffset
        #expect(throws: AloftError(
            "this is a full flash image (firmware.bin: bootloader, partition table at \(hexNumber(table)), app), not an app image: "
                + "publish the app alone, micropython.org's .app-bin, or this file's bytes from \(hexNumber(app)) on "
                + "(partition ota_0 at flash 0x10000; the file starts at flash \(hexNumber(flashOffset)))")
        ) { try ESPAppImage(parsing: full) }
        // Where it says the app is, the app is.
        #expect(try ESPAppImage(parsing: full[app...]).sha256 == Digest.sha256Hex(appImage))
    }

    @Test(arguments: [
        (ESPChip.esp32, "0xf000", "0x1000"), (.esp32s2, "0xf000", "0x1000"), (.esp32s3, "0x10000", "0x0"), (.esp32c2, "0x10000", "0x0"),
        (.esp32c3, "0x10000", "0x0"), (.esp32c6, "0x10000", "0x0"), (.esp32h2, "0x10000", "0x0"), (.esp32c5, "0xe000", "0x2000"),
        (.esp32p4, "0xe000", "0x2000"),
    ])
    func aBootloaderAloneIsTakenForTheStartOfAFullFlashImage(chip: ESPChip, app: String, offset: String) {
        #expect(throws: AloftError(
            "this is a bootloader or a full flash image (firmware.bin: magic 0xe9 but no app descriptor at 0x20), not an app image: "
                + "the app is at \(app) of an \(chip.rawValue) firmware.bin (flash 0x10000 - \(offset)); publish the app alone, micropython.org's .app-bin")
        ) { try ESPAppImage(parsing: ESPTestImage.bootloader(chip: chip)) }
    }

    // MARK: The MicroPython banner

    @Test(arguments: [
        ("MicroPython v1.26.0 on 2025-08-09; Generic ESP32 module with ESP32", "v1.26.0", "1.26.0", false),
        ("MicroPython v1.27.0-preview.123.gabcdef on 2025-10-01; Generic ESP32 module with ESP32", "v1.27.0-preview.123.gabcdef", "1.27.0", true),
        ("MicroPython v1.27.0-preview.123.gabcdef.dirty on 2025-10-01; ESP32S3 module with ESP32S3", "v1.27.0-preview.123.gabcdef.dirty", "1.27.0", true),
        ("MicroPython v1.19.1-994-ga4672149b on 2023-03-29; ESP32 module with ESP32", "v1.19.1-994-ga4672149b", "1.19.1", true),
        ("MicroPython v1.12 on 2019-12-20; ESP32 module with ESP32", "v1.12", "1.12.0", false),
        ("MicroPython (with v2.0 preview) v1.24.0 on 2024-10-25; Generic ESP32 module with ESP32", "v1.24.0", "1.24.0", false),
    ])
    func readsTheVersionFromTheBanner(banner: String, tag: String, version: String, prerelease: Bool) throws {
        let image = try ESPAppImage(parsing: ESPTestImage.standard(banners: [banner]))
        let found = try #require(image.banners.first)
        #expect(found.text == banner && found.tag == tag && found.version == version && found.isPrerelease == prerelease)
        #expect(try image.micropythonVersion().version == version)
        #expect(try image.micropythonVersion().source == "the banner at 0x120: \(banner)")
    }

    @Test(arguments: [
        "MicroPython 1c3c201 on 2025-08-09; built without tags",  // git describe --always without a tag: no version
        "MicroPython v1.26.0; no build date",
        "MicroPython vX.26.0 on 2025-08-09",
        "MicroPython v1.26.0.1 on 2025-08-09",
        "micropython v1.26.0 on 2025-08-09",
    ])
    func notEveryMentionIsABanner(text: String) throws {
        let image = try ESPAppImage(parsing: ESPTestImage.standard(banners: [text]))
        #expect(image.banners.isEmpty)
        #expect(throws: AloftError("the image has no MicroPython banner ('MicroPython vX.Y.Z on ...') to read its version from: give the version")) {
            try image.micropythonVersion()
        }
        let given = try image.micropythonVersion(given: "1.26.0")
        #expect(given.version == "1.26.0" && given.banner == nil && given.source == "given; the image has no MicroPython banner")
    }

    @Test func aGivenVersionMustAgreeWithTheBanner() throws {
        let one = try ESPAppImage(parsing: ESPTestImage.standard())
        #expect(try one.micropythonVersion(given: "1.26.0").version == "1.26.0")
        #expect(throws: AloftError("the image's banner says MicroPython 1.26.0, not the 1.25.0 given")) { try one.micropythonVersion(given: "1.25.0") }
        for bad in ["1.26", "v1.26.0", "1.26.0-preview", "01.26.0", " 1.26.0", ""] {
            #expect(throws: AloftError("the MicroPython version given must be X.Y.Z (digits only), got '\(bad)'")) { try one.micropythonVersion(given: bad) }
        }

        // sys.version's copy of the banner and the REPL's, for the same version, are one version.
        let same = try ESPAppImage(parsing: ESPTestImage.standard(banners: ["3.4.0; MicroPython v1.26.0 on 2025-08-09", ESPTestImage.banner]))
        #expect(same.banners.count == 2)
        #expect(try same.micropythonVersion().version == "1.26.0")

        let two = try ESPAppImage(parsing: ESPTestImage.standard(banners: [ESPTestImage.banner, "MicroPython v1.25.0 on 2025-04-15; Generic ESP32 module with ESP32"]))
        #expect(throws: AloftError("the image's banners name several MicroPython versions (1.26.0, 1.25.0): give the version")) {
            try two.micropythonVersion()
        }
        let chosen = try two.micropythonVersion(given: "1.25.0")
        #expect(chosen.version == "1.25.0" && chosen.banner?.version == "1.25.0" && chosen.source == "given; the image's banners name 1.26.0, 1.25.0")
        #expect(throws: AloftError("the image's banners name MicroPython 1.26.0, 1.25.0, not the 1.24.0 given")) { try two.micropythonVersion(given: "1.24.0") }
    }
}

private let good = ESPTestImage.standard()
private let checksumAt = good.count - 33

private func replacing(_ bytes: [UInt8], at offset: Int, with new: [UInt8]) -> [UInt8] {
    var copy = bytes
    copy.replaceSubrange(offset..<offset + new.count, with: new)
    return copy
}

private func hexNumber(_ n: Int) -> String { "0x" + String(n, radix: 16) }
