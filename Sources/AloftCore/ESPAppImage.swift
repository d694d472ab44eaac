import Crypto
import Foundation

/// An ESP-IDF app image (what micropython.org publishes as `.app-bin`, what goes into an OTA slot), read from its bytes
/// and checked as the bootloader checks it before booting it: header, segments, checksum and appended SHA-256.
///
/// Layout (ESP-IDF esp_app_format.h, app_image_format.rst; esptool's bin_image.py; research notes R1.5): a 24-byte
/// header (magic 0xE9, segment count, chip id at 12-13, `hash_appended` at 23), the segments (load address, length, data),
/// zero padding up to the offset ≡ 15 (mod 16), a checksum byte (0xEF XOR every segment data byte), then the SHA-256 of
/// everything before it. The first segment starts with the app descriptor, `esp_app_desc_t`, at 0x20. The file must be
/// exactly the image: a refusal says where a short file ends and how many bytes a long one has past the image's end.
public struct ESPAppImage: Sendable, Equatable {
    /// One segment: where it loads and how long it is.
    public struct Segment: Sendable, Equatable {
        public let loadAddress: UInt32
        public let length: Int
        /// Where the segment's 8-byte header starts in the file (esptool's "File offs").
        public let fileOffset: Int

        public init(loadAddress: UInt32, length: Int, fileOffset: Int) {
            self.loadAddress = loadAddress
            self.length = length
            self.fileOffset = fileOffset
        }
    }

    public static let magic: UInt8 = 0xE9
    public static let headerSize = 24
    public static let maxSegments = 16
    /// Where `esp_app_desc_t` starts: the data of the first segment, after the header and that segment's header.
    public static let descriptorOffset = 0x20
    public static let descriptorMagic: UInt32 = 0xABCD_5432
    public static let descriptorSize = 256
    static let checksumSeed: UInt8 = 0xEF

    public let chip: ESPChip
    public let entryPoint: UInt32
    /// `min_chip_rev_full` and `max_chip_rev_full` of the header: major × 100 + minor (301 is v3.1).
    public let minChipRevision: Int
    public let maxChipRevision: Int
    public let segments: [Segment]
    /// The checksum byte (always the one the segments give: a bad one is refused) and where it is.
    public let checksum: UInt8
    public let checksumOffset: Int
    /// The SHA-256 the image carries in its last 32 bytes, of everything before them (checked), as 64 lowercase hex.
    public let appendedSHA256: String
    /// Of the whole file, which is the whole image.
    public let size: Int
    public let sha256: String
    public let descriptor: ESPAppDescriptor
    /// Every `MicroPython vX.Y.Z on ...` banner in the image, in file order (at most ``maxBanners``).
    public let banners: [MicroPythonBanner]
    static let maxBanners = 16

    /// Reads and checks an app image; the error says, in one line, the first thing wrong and where.
    public init(parsing input: some Collection<UInt8>) throws(AloftError) {
        let bytes = Array(input)
        let file = ImageBytes(bytes)
        guard !bytes.isEmpty else { throw AloftError("the file is empty, not an ESP app image") }
        guard bytes[0] == Self.magic else {
            if let full = FullFlashImage(bytes) { throw full.refusal }
            throw AloftError("not an ESP app image: it starts with byte \(hexByte(bytes[0])), not the image magic 0xe9")
        }
        guard bytes.count >= Self.headerSize else {
            throw Self.truncated(bytes.count, "inside the \(Self.headerSize)-byte image header")
        }
        // The app descriptor first: an ESP image without one is a bootloader, which is how a full flash image starts.
        let descriptorEnd = Self.descriptorOffset + Self.descriptorSize
        guard bytes.count >= Self.descriptorOffset + 4 else {
            throw Self.truncated(bytes.count, "before the app descriptor's magic (0x20-0x24)")
        }
        guard file.u32(Self.descriptorOffset) == Self.descriptorMagic else {
            if let full = FullFlashImage(bytes) { throw full.refusal }
            throw AloftError("no app descriptor (magic 0xabcd5432) at 0x20: not an ESP-IDF app image")
        }
        guard bytes.count >= descriptorEnd else { throw Self.truncated(bytes.count, "inside the app descriptor (0x20-\(hex(descriptorEnd)))") }

        let segmentCount = Int(bytes[1])
        guard (1...Self.maxSegments).contains(segmentCount) else {
            throw AloftError("the image header says \(segmentCount) segments; an app image has 1 to \(Self.maxSegments)")
        }
        let chipID = file.u16(12)
        guard let chip = ESPChip(imageChipID: chipID) else {
            throw AloftError("chip id \(chipID) in the image header is none of the chips Aloft knows (\(ESPChip.idList))")
        }
        switch bytes[23] {
        case 1: break
        case 0:
            throw AloftError(
                "the image carries no SHA-256 of itself (hash_appended, header byte 23, is 0): the bootloader could not check it, so it is refused")
        default: throw AloftError("header byte 23 (hash_appended) is \(hexByte(bytes[23])), not 1")
        }

        var segments: [Segment] = []
        var checksum = Self.checksumSeed
        var offset = Self.headerSize
        for index in 0..<segmentCount {
            guard bytes.count - offset >= 8 else {
                throw Self.truncated(bytes.count, "inside the header of segment \(index) (at \(hex(offset)))")
            }
            let address = file.u32(offset), length = Int(file.u32(offset + 4))
            let place = "segment \(index) (at \(hex(offset)), load address \(hex(address)))"
            guard length % 4 == 0 else { throw AloftError("\(place) is \(hex(length)) bytes long, not a multiple of 4") }
            let start = offset + 8
            guard bytes.count - start >= length else {
                throw Self.truncated(bytes.count, "inside segment \(index) (load address \(hex(address)), \(hex(length)) bytes from \(hex(start)))")
            }
            for byte in bytes[start..<start + length] { checksum ^= byte }
            segments.append(Segment(loadAddress: address, length: length, fileOffset: offset))
            offset = start + length
        }
        guard segments[0].length >= Self.descriptorSize else {
            throw AloftError("segment 0 is \(segments[0].length) bytes, too short to hold the app descriptor (\(Self.descriptorSize))")
        }
        // Zero padding to the offset ≡ 15 (mod 16), then the checksum byte: the image is whole 16-byte blocks up to here.
        let checksumOffset = offset | 15
        guard bytes.count > checksumOffset else { throw Self.truncated(bytes.count, "before the checksum byte at \(hex(checksumOffset))") }
        let hashOffset = checksumOffset + 1
        let end = hashOffset + 32
        guard bytes.count >= end else {
            throw Self.truncated(bytes.count, "inside the appended SHA-256 (\(hex(hashOffset))-\(hex(end)))")
        }
        guard bytes[checksumOffset] == checksum else {
            throw AloftError(
                "bad checksum: the image says \(hexByte(bytes[checksumOffset])) at \(hex(checksumOffset)), its segments give \(hexByte(checksum)): "
                    + "the image is damaged")
        }
        let appended = Digest.hex(bytes[hashOffset..<end])
        guard Digest.hex(SHA256.hash(data: bytes[..<hashOffset])) == appended else {
            throw AloftError(
                "bad appended SHA-256: the image's last 32 bytes are not the SHA-256 of the rest: the image is damaged or was changed")
        }
        guard bytes.count == end else {
            throw AloftError(
                "\(bytes.count - end) bytes after the image's end at \(hex(end)) (its appended SHA-256 ends there): "
                    + "publish the image alone, without padding")
        }

        self.chip = chip
        entryPoint = file.u32(4)
        minChipRevision = Int(file.u16(15))
        maxChipRevision = Int(file.u16(17))
        self.segments = segments
        self.checksum = checksum
        self.checksumOffset = checksumOffset
        appendedSHA256 = appended
        size = bytes.count
        sha256 = Digest.sha256Hex(bytes)
        descriptor = ESPAppDescriptor(file, at: Self.descriptorOffset)
        banners = MicroPythonBanner.find(in: bytes, limit: Self.maxBanners)
    }

    /// The MicroPython version the image runs, `X.Y.Z`: its banner's, or `given` when it has no banner or banners that
    /// name different versions. A `given` version must be the banner's (one of them, when they disagree).
    public func micropythonVersion(given: String? = nil) throws(AloftError) -> FirmwareVersion {
        if let given {
            guard FirmwareImage.isPlainVersion(given) else {
                throw AloftError("the MicroPython version given must be X.Y.Z (digits only), got '\(given.prefix(40))'")
            }
        }
        var versions: [String] = []
        for banner in banners where !versions.contains(banner.version) { versions.append(banner.version) }
        switch (versions.count, given) {
        case (0, nil):
            throw AloftError("the image has no MicroPython banner ('MicroPython vX.Y.Z on ...') to read its version from: give the version")
        case (0, let given?):
            return FirmwareVersion(version: given, banner: nil, note: "given; the image has no MicroPython banner")
        case (1, nil):
            return FirmwareVersion(version: versions[0], banner: banners[0], note: nil)
        case (1, let given?):
            guard given == versions[0] else {
                throw AloftError("the image's banner says MicroPython \(versions[0]), not the \(given) given")
            }
            return FirmwareVersion(version: given, banner: banners[0], note: nil)
        case (_, nil):
            throw AloftError("the image's banners name several MicroPython versions (\(versions.joined(separator: ", "))): give the version")
        case (_, let given?):
            guard let banner = banners.first(where: { $0.version == given }) else {
                throw AloftError("the image's banners name MicroPython \(versions.joined(separator: ", ")), not the \(given) given")
            }
            return FirmwareVersion(version: given, banner: banner, note: "given; the image's banners name \(versions.joined(separator: ", "))")
        }
    }

    static func truncated(_ count: Int, _ place: String) -> AloftError {
        AloftError("truncated: the file ends at \(hex(count)) (\(count) bytes), \(place)")
    }
}

/// `esp_app_desc_t`, the app descriptor at 0x20 of an app image (ESP-IDF esp_app_desc.h). MicroPython builds leave
/// `version` and `project_name` empty (sdkconfig.base: CONFIG_APP_EXCLUDE_PROJECT_VER_VAR, ..._NAME_VAR).
public struct ESPAppDescriptor: Sendable, Equatable {
    public let secureVersion: UInt32
    public let version: String
    public let projectName: String
    /// Compile time and date, as the compiler's `__TIME__` and `__DATE__` spell them.
    public let time: String
    public let date: String
    /// The ESP-IDF version the app was built with, `v5.4.2`.
    public let idfVersion: String
    /// SHA-256 of the ELF file the image was made from, 64 lowercase hex.
    public let elfSHA256: String

    fileprivate init(_ file: ImageBytes, at base: Int) {
        secureVersion = file.u32(base + 4)
        version = file.text(base + 16, 32)
        projectName = file.text(base + 48, 32)
        time = file.text(base + 80, 16)
        date = file.text(base + 96, 16)
        idfVersion = file.text(base + 112, 32)
        elfSHA256 = Digest.hex(file.bytes[(base + 144)..<(base + 176)])
    }
}

/// A banner of the form real MicroPython builds carry in their data (py/mpconfig.h MICROPY_BANNER_NAME_AND_VERSION):
/// `MicroPython v1.26.0 on 2025-08-09; Generic ESP32 module with ESP32`, or `v1.27.0-preview.123.gabcdef on ...`
/// between releases (py/makeversionhdr.py).
public struct MicroPythonBanner: Sendable, Equatable {
    /// Where it starts in the file.
    public let offset: Int
    /// The banner up to its end (a NUL or a byte that is not printable ASCII), at most 160 characters.
    public let text: String
    /// The git tag it names, `v1.27.0-preview.123.gabcdef`.
    public let tag: String
    /// The release that tag is or leads up to, `X.Y.Z` (`v1.12` is 1.12.0).
    public let version: String

    /// A build between releases (or of a changed tree): the tag has more than `vX.Y.Z`.
    public var isPrerelease: Bool { tag.contains("-") }

    static func find(in bytes: [UInt8], limit: Int) -> [MicroPythonBanner] {
        let prefix = Array("MicroPython ".utf8), preview = Array("(with v2.0 preview) ".utf8)
        var found: [MicroPythonBanner] = []
        var i = 0
        while found.count < limit, let start = firstIndex(of: prefix, in: bytes, from: i) {
            i = start + 1
            var at = start + prefix.count
            if bytes[at...].starts(with: preview) { at += preview.count }
            guard at < bytes.count, bytes[at] == UInt8(ascii: "v") else { continue }
            var end = at + 1
            while end < bytes.count, end - at <= 64, isTagByte(bytes[end]) { end += 1 }
            guard bytes[end...].starts(with: Array(" on ".utf8)) else { continue }
            let tag = String(decoding: bytes[at..<end], as: UTF8.self)
            guard let version = release(ofTag: tag) else { continue }
            var stop = start
            while stop < bytes.count, stop - start < 160, (0x20...0x7E).contains(bytes[stop]) { stop += 1 }
            found.append(MicroPythonBanner(offset: start, text: String(decoding: bytes[start..<stop], as: UTF8.self), tag: tag, version: version))
            i = stop
        }
        return found
    }

    /// `X.Y.Z` of `vX.Y[.Z][-anything]`, or nil when the tag is not a version (a bare commit hash).
    static func release(ofTag tag: String) -> String? {
        guard tag.hasPrefix("v") else { return nil }
        let core = tag.dropFirst().split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count),
            parts.allSatisfy({ (1...6).contains($0.count) && $0.utf8.allSatisfy { (0x30...0x39).contains($0) } })
        else { return nil }
        let numbers = parts.map { String(Int($0)!) }
        return (numbers + ["0"]).prefix(3).joined(separator: ".")
    }

    private static func isTagByte(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
            || b == UInt8(ascii: "+") || b == UInt8(ascii: "_")
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var i = from
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first, haystack[i..<i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

/// The MicroPython version of a firmware image and where it comes from.
public struct FirmwareVersion: Sendable, Equatable {
    /// `X.Y.Z`.
    public let version: String
    /// The banner it was read from, or that agrees with the version given.
    public let banner: MicroPythonBanner?
    /// Why the version given decided, when it did.
    public let note: String?

    /// Where the version comes from, for people: `the banner at 0x3f1c4: MicroPython v1.26.0 on ...`.
    public var source: String {
        if let note { return note }
        guard let banner else { return "given" }
        return "the banner at \(hex(banner.offset)): \(banner.text)"
    }
}

/// A full flash image (MicroPython's `firmware.bin`, ports/esp32/makeimg.py: the bootloader, the partition table at flash
/// 0x8000, the app at the first app partition, the file starting at the bootloader's offset), recognised so that a refusal
/// can say where its app is.
enum FullFlashImage {
    /// The file starts at `flashOffset` in flash (the bootloader's offset) and has a partition table whose first app
    /// partition, where makeimg.py puts the app, is `app`.
    case withTable(flashOffset: Int, app: (name: String, offset: Int))
    /// An ESP image for `chip` without an app descriptor and no partition table after it: a bootloader, alone or cut short.
    case bootloader(chip: ESPChip)

    static let partitionTableAddress = 0x8000
    /// Where the app goes when no partition table says: the first app partition of every table in ports/esp32.
    static let defaultAppAddress = 0x10000

    /// Found by its ESP-IDF partition table (entries starting `AA 50`, gen_esp32part.py) at 0x8000 less one of the
    /// bootloader offsets, or by an ESP image at 0 without an app descriptor for a chip Aloft knows.
    init?(_ bytes: [UInt8]) {
        var chip: ESPChip?
        if bytes.count >= ESPAppImage.headerSize, bytes[0] == ESPAppImage.magic {
            chip = ESPChip(imageChipID: ImageBytes(bytes).u16(12))
        }
        var offsets = [0x1000, 0, 0x2000]
        if let chip {
            offsets.removeAll { $0 == chip.bootloaderOffset }
            offsets.insert(chip.bootloaderOffset, at: 0)
        }
        for offset in offsets {
            if let app = Self.firstApp(bytes, tableAt: Self.partitionTableAddress - offset) {
                self = .withTable(flashOffset: offset, app: app)
                return
            }
        }
        guard let chip else { return nil }
        self = .bootloader(chip: chip)
    }

    var refusal: AloftError {
        switch self {
        case .bootloader(let chip):
            let offset = chip.bootloaderOffset
            return AloftError(
                "this is a bootloader or a full flash image (firmware.bin: magic 0xe9 but no app descriptor at 0x20), not an app image: "
                    + "the app is at \(hex(Self.defaultAppAddress - offset)) of an \(chip.rawValue) firmware.bin "
                    + "(flash \(hex(Self.defaultAppAddress)) - \(hex(offset))); publish the app alone, micropython.org's .app-bin")
        case .withTable(let flashOffset, let app):
            return AloftError(
                "this is a full flash image (firmware.bin: bootloader, partition table at \(hex(Self.partitionTableAddress - flashOffset)), app), "
                    + "not an app image: publish the app alone, micropython.org's .app-bin, "
                    + "or this file's bytes from \(hex(app.offset - flashOffset)) on "
                    + "(partition \(app.name) at flash \(hex(app.offset)); the file starts at flash \(hex(flashOffset)))")
        }
    }

    /// The first app partition of the table at `at`, or nil when there is no table there.
    private static func firstApp(_ bytes: [UInt8], tableAt at: Int) -> (name: String, offset: Int)? {
        let file = ImageBytes(bytes)
        var entry = at
        // At most 0xC00 bytes of entries (ESP-IDF's partition table size), ended by 0xFF or the MD5 entry (EB EB).
        while entry + 32 <= bytes.count, entry < at + 0xC00 {
            guard bytes[entry] == 0xAA, bytes[entry + 1] == 0x50 else { return nil }
            if bytes[entry + 2] == 0x00 {  // type app
                let offset = Int(file.u32(entry + 4))
                // An app partition at or below the table is not in a table ESP-IDF would make.
                guard offset > partitionTableAddress else { return nil }
                return (file.text(entry + 12, 16), offset)
            }
            entry += 32
        }
        return nil
    }
}

/// Little-endian reads of a file's bytes, in range (callers check the length first).
struct ImageBytes {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
    func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }

    /// A NUL-terminated field of `count` bytes, anything but printable ASCII shown as `?`.
    func text(_ at: Int, _ count: Int) -> String {
        let field = bytes[at..<at + count]
        let end = field.firstIndex(of: 0) ?? field.endIndex
        return String(decoding: field[at..<end].map { (0x20...0x7E).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }
}

/// `0x1f`: lowercase hex, as esptool prints addresses and sizes.
func hex(_ value: some BinaryInteger) -> String { "0x" + String(value, radix: 16) }

/// `0x0f`: a byte in two hex digits, as esptool prints the checksum.
func hexByte(_ byte: UInt8) -> String { "0x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16) }
