import TestSupport

@testable import AloftCore

/// ESP-IDF app images laid out as esptool's elf2image writes them (header, segments, zero padding to ≡ 15 mod 16, the
/// checksum byte, the appended SHA-256), built here so that tests can read them and break them one byte at a time.
struct ESPTestImage {
    /// Where each chip maps flash data (DROM), RAM (DRAM, IRAM) and flash code (IROM): esptool's MEMORY_MAP.
    static func addresses(_ chip: ESPChip) -> (drom: UInt32, dram: UInt32, iram: UInt32, irom: UInt32) {
        switch chip {
        case .esp32: (0x3F40_0020, 0x3FFB_0000, 0x4008_0000, 0x400D_0020)
        case .esp32s2: (0x3F00_0020, 0x3FFB_0000, 0x4002_0000, 0x4008_0020)
        case .esp32s3: (0x3C00_0020, 0x3FC8_8000, 0x4037_0000, 0x4200_0020)
        case .esp32c2, .esp32c3: (0x3C00_0020, 0x3FCA_0000, 0x4038_0000, 0x4200_0020)
        case .esp32c5, .esp32c6, .esp32h2: (0x4200_0020, 0x4080_0000, 0x4080_4000, 0x4201_0020)
        case .esp32p4: (0x4000_0020, 0x4FF0_0000, 0x4FF1_0000, 0x4001_0020)
        }
    }

    static let banner = "MicroPython v1.26.0 on 2025-08-09; Generic ESP32 module with ESP32"
    static let elfSHA256 = [UInt8](0..<32)

    /// `esp_app_desc_t` as a MicroPython build has it: version and project name empty.
    static func descriptor(idf: String = "v5.4.2", date: String = "Aug  9 2025", time: String = "12:34:56", secureVersion: UInt32 = 0) -> [UInt8] {
        var d = le32(ESPAppImage.descriptorMagic) + le32(secureVersion) + [UInt8](repeating: 0, count: 8)
        d += field("", 32) + field("", 32) + field(time, 16) + field(date, 16) + field(idf, 32) + elfSHA256
        return d + [UInt8](repeating: 0, count: 256 - d.count)
    }

    /// A four-segment image for `chip`: DROM (the descriptor, the banners, then `dromFiller` bytes), DRAM, IRAM, IROM.
    static func standard(chip: ESPChip = .esp32, banners: [String] = [banner], dromFiller: Int = 1000, seed: UInt64 = 1) -> [UInt8] {
        var drom = descriptor()
        for banner in banners { drom += Array(banner.utf8) + [0] }
        drom += filler(dromFiller, seed: seed)
        let a = addresses(chip)
        return image(chip: chip, segments: [
            (a.drom, align4(drom)), (a.dram, filler(64, seed: seed + 1)), (a.iram, filler(128, seed: seed + 2)), (a.irom, filler(512, seed: seed + 3)),
        ])
    }

    /// The image of these segments, as esptool lays it out.
    static func image(chip: ESPChip, segments: [(UInt32, [UInt8])], hashAppended: UInt8 = 1, entry: UInt32 = 0x4008_1234) -> [UInt8] {
        var out: [UInt8] = [0xE9, UInt8(segments.count), 0x02, 0x20] + le32(entry)
        out += [0xEE, 0, 0, 0] + le16(chip.imageChipID) + [0] + le16(0) + le16(399) + [0, 0, 0, 0] + [hashAppended]
        var checksum: UInt8 = 0xEF
        for (address, data) in segments {
            out += le32(address) + le32(UInt32(data.count)) + data
            for byte in data { checksum ^= byte }
        }
        while out.count % 16 != 15 { out.append(0) }
        out.append(checksum)
        if hashAppended == 1 { out += sha256(out) }
        return out
    }

    /// A bootloader as ESP-IDF 5 builds it: an ESP image whose first segment starts with `esp_bootloader_desc_t` (magic
    /// byte 0x50), so it has no app descriptor at 0x20.
    static func bootloader(chip: ESPChip = .esp32) -> [UInt8] {
        let description = [0x50, 0, 0, 0] + le32(1) + field("v5.4.2", 32) + field("Aug  9 2025 12:34:56", 24) + [UInt8](repeating: 0, count: 16)
        return image(chip: chip, segments: [(addresses(chip).dram, description + filler(1024, seed: 9)), (addresses(chip).iram, filler(2048, seed: 10))])
    }

    /// MicroPython's firmware.bin (makeimg.py): the bootloader at the chip's bootloader offset, the partition table at
    /// 0x8000, the app at 0x10000, 0xFF between; the file starts at `start` in flash (the bootloader's offset, or 0 for a
    /// dump of the whole flash).
    static func fullFlash(chip: ESPChip = .esp32, app: [UInt8], start: Int? = nil) -> [UInt8] {
        let start = start ?? chip.bootloaderOffset
        var flash = [UInt8](repeating: 0xFF, count: 0x10000 - start)
        let boot = bootloader(chip: chip)
        flash.replaceSubrange((chip.bootloaderOffset - start)..<(chip.bootloaderOffset - start + boot.count), with: boot)
        let table = partitionTable([
            ("nvs", 1, 0x02, 0x9000, 0x4000), ("otadata", 1, 0x00, 0xD000, 0x2000), ("phy_init", 1, 0x01, 0xF000, 0x1000),
            ("ota_0", 0, 0x10, 0x10000, 0x18_0000), ("ota_1", 0, 0x11, 0x19_0000, 0x18_0000),
        ])
        flash.replaceSubrange((0x8000 - start)..<(0x8000 - start + table.count), with: table)
        return flash + app
    }

    /// An ESP-IDF binary partition table: 32-byte entries `<2sBBII16sI` with magic AA 50, the MD5 entry (its digest left
    /// zero: nothing here reads it), 0xFF after.
    static func partitionTable(_ entries: [(name: String, type: UInt8, subtype: UInt8, offset: UInt32, size: UInt32)]) -> [UInt8] {
        var table: [UInt8] = []
        for e in entries { table += [0xAA, 0x50, e.type, e.subtype] + le32(e.offset) + le32(e.size) + field(e.name, 16) + le32(0) }
        table += [0xEB, 0xEB] + [UInt8](repeating: 0xFF, count: 14) + [UInt8](repeating: 0, count: 16)
        return table + [UInt8](repeating: 0xFF, count: 32)
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] { Digest.bytes(fromHex: Digest.sha256Hex(bytes))! }

    static func filler(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    static func align4(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4) }
    static func field(_ text: String, _ count: Int) -> [UInt8] { Array(text.utf8.prefix(count)) + [UInt8](repeating: 0, count: max(0, count - text.utf8.count)) }
    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }

    /// `bytes` with the byte at `offset` changed.
    static func flipping(_ bytes: [UInt8], at offset: Int, with mask: UInt8 = 0x01) -> [UInt8] {
        var copy = bytes
        copy[offset] ^= mask
        return copy
    }

    /// `bytes` with the checksum and the appended SHA-256 made right again, after a change the test wants read past them.
    static func resealed(_ bytes: [UInt8], checksumAt: Int) -> [UInt8] {
        var copy = Array(bytes[..<(checksumAt + 1)])
        var checksum: UInt8 = 0xEF
        var offset = 24
        for _ in 0..<Int(copy[1]) {
            let length = Int(copy[offset + 4]) | Int(copy[offset + 5]) << 8 | Int(copy[offset + 6]) << 16 | Int(copy[offset + 7]) << 24
            for byte in copy[(offset + 8)..<(offset + 8 + length)] { checksum ^= byte }
            offset += 8 + length
        }
        copy[checksumAt] = checksum
        return copy + sha256(copy)
    }
}
