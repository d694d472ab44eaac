/// An ESP32-family chip that MicroPython runs on, as docs/firmware.md spells it and as an image header names it.
///
/// Chip ids: `IMAGE_CHIP_ID` of esptool's targets/esp32*.py (esptool 5.6.0), the numbers of ESP-IDF's `esp_chip_id_t`.
public enum ESPChip: String, CaseIterable, Codable, Sendable {
    case esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c5, esp32c6, esp32h2, esp32p4

    /// The chip id an app image carries at bytes 12-13 of its header (little-endian).
    public var imageChipID: UInt16 {
        switch self {
        case .esp32: 0
        case .esp32s2: 2
        case .esp32c3: 5
        case .esp32s3: 9
        case .esp32c2: 12
        case .esp32c6: 13
        case .esp32h2: 16
        case .esp32p4: 18
        case .esp32c5: 23
        }
    }

    public init?(imageChipID id: UInt16) {
        guard let chip = Self.allCases.first(where: { $0.imageChipID == id }) else { return nil }
        self = chip
    }

    /// Where the second-stage bootloader sits in flash, which is where MicroPython's full `firmware.bin` starts: the
    /// `flash_offset` of each board.json's `deploy_options` (ports/esp32/boards/*/board.json; ESP-IDF's
    /// CONFIG_BOOTLOADER_OFFSET_IN_FLASH, which makeimg.py reads).
    public var bootloaderOffset: Int {
        switch self {
        case .esp32, .esp32s2: 0x1000
        case .esp32s3, .esp32c2, .esp32c3, .esp32c6, .esp32h2: 0
        case .esp32c5, .esp32p4: 0x2000
        }
    }

    /// What the chip maps at `address`, by esptool's `MEMORY_MAP` for the chip (esptool 5.6.0 targets/esp32*.py; the
    /// esp32h2 inherits the esp32c6's): `DROM`, `IRAM`, ... as `esptool image-info` prints them; empty when nothing is mapped
    /// there. Some ranges overlap (the esp32c6 maps flash as DROM and IROM at the same addresses), so there can be several.
    public func memoryKinds(at address: UInt32) -> [String] {
        memoryMap.filter { $0.start <= address && address < $0.end }.map(\.kind)
    }

    private var memoryMap: [(start: UInt32, end: UInt32, kind: String)] {
        switch self {
        case .esp32:
            [(0x0000_0000, 0x0001_0000, "PADDING"), (0x3F40_0000, 0x3F80_0000, "DROM"), (0x3F80_0000, 0x3FC0_0000, "EXTRAM_DATA"),
             (0x3FF8_0000, 0x3FF8_2000, "RTC_DRAM"), (0x3FF9_0000, 0x4000_0000, "BYTE_ACCESSIBLE"), (0x3FFA_E000, 0x4000_0000, "DRAM"),
             (0x3FFE_0000, 0x3FFF_FFFC, "DIRAM_DRAM"), (0x4000_0000, 0x4007_0000, "IROM"), (0x4007_0000, 0x4007_8000, "CACHE_PRO"),
             (0x4007_8000, 0x4008_0000, "CACHE_APP"), (0x4008_0000, 0x400A_0000, "IRAM"), (0x400A_0000, 0x400B_FFFC, "DIRAM_IRAM"),
             (0x400C_0000, 0x400C_2000, "RTC_IRAM"), (0x400D_0000, 0x4040_0000, "IROM"), (0x5000_0000, 0x5000_2000, "RTC_DATA")]
        case .esp32s2:
            [(0x0000_0000, 0x0001_0000, "PADDING"), (0x3F00_0000, 0x3FF8_0000, "DROM"), (0x3F50_0000, 0x3FF8_0000, "EXTRAM_DATA"),
             (0x3FF9_E000, 0x3FFA_0000, "RTC_DRAM"), (0x3FF9_E000, 0x4000_0000, "BYTE_ACCESSIBLE"), (0x3FF9_E000, 0x4007_2000, "MEM_INTERNAL"),
             (0x3FFB_0000, 0x4000_0000, "DRAM"), (0x4000_0000, 0x4001_A100, "IROM_MASK"), (0x4002_0000, 0x4007_0000, "IRAM"),
             (0x4007_0000, 0x4007_2000, "RTC_IRAM"), (0x4008_0000, 0x4080_0000, "IROM"), (0x5000_0000, 0x5000_2000, "RTC_DATA")]
        case .esp32s3:
            [(0x0000_0000, 0x0001_0000, "PADDING"), (0x3C00_0000, 0x3D00_0000, "DROM"), (0x3D00_0000, 0x3E00_0000, "EXTRAM_DATA"),
             (0x600F_E000, 0x6010_0000, "RTC_DRAM"), (0x3FC8_8000, 0x3FD0_0000, "BYTE_ACCESSIBLE"), (0x3FC8_8000, 0x403E_2000, "MEM_INTERNAL"),
             (0x3FC8_8000, 0x3FD0_0000, "DRAM"), (0x4000_0000, 0x4001_A100, "IROM_MASK"), (0x4037_0000, 0x403E_0000, "IRAM"),
             (0x600F_E000, 0x6010_0000, "RTC_IRAM"), (0x4200_0000, 0x4280_0000, "IROM"), (0x5000_0000, 0x5000_2000, "RTC_DATA")]
        case .esp32c2:
            [(0x0000_0000, 0x0001_0000, "PADDING"), (0x3C00_0000, 0x3C40_0000, "DROM"), (0x3FCA_0000, 0x3FCE_0000, "DRAM"),
             (0x3FC8_8000, 0x3FD0_0000, "BYTE_ACCESSIBLE"), (0x3FF0_0000, 0x3FF5_0000, "DROM_MASK"), (0x4000_0000, 0x4009_0000, "IROM_MASK"),
             (0x4200_0000, 0x4240_0000, "IROM"), (0x4037_C000, 0x403C_0000, "IRAM")]
        case .esp32c3:
            [(0x0000_0000, 0x0001_0000, "PADDING"), (0x3C00_0000, 0x3C80_0000, "DROM"), (0x3FC8_0000, 0x3FCE_0000, "DRAM"),
             (0x3FC8_8000, 0x3FD0_0000, "BYTE_ACCESSIBLE"), (0x3FF0_0000, 0x3FF2_0000, "DROM_MASK"), (0x4000_0000, 0x4006_0000, "IROM_MASK"),
             (0x4200_0000, 0x4280_0000, "IROM"), (0x4037_C000, 0x403E_0000, "IRAM"), (0x5000_0000, 0x5000_2000, "RTC_IRAM"),
             (0x5000_0000, 0x5000_2000, "RTC_DRAM"), (0x600F_E000, 0x6010_0000, "MEM_INTERNAL2")]
        case .esp32c5:
            [(0x0000_0000, 0x0001_0000, "PADDING"), (0x4200_0000, 0x4400_0000, "DROM"), (0x4080_0000, 0x4086_0000, "DRAM"),
             (0x4080_0000, 0x4086_0000, "BYTE_ACCESSIBLE"), (0x4003_A000, 0x4004_0000, "DROM_MASK"), (0x4000_0000, 0x4003_A000, "IROM_MASK"),
             (0x4200_0000, 0x4400_0000, "IROM"), (0x4080_0000, 0x4086_0000, "IRAM"), (0x5000_0000, 0x5000_4000, "RTC_IRAM"),
             (0x5000_0000, 0x5000_4000, "RTC_DRAM"), (0x600F_E000, 0x6010_0000, "MEM_INTERNAL2")]
        case .esp32c6, .esp32h2:
            [(0x0000_0000, 0x0001_0000, "PADDING"), (0x4200_0000, 0x4300_0000, "DROM"), (0x4080_0000, 0x4088_0000, "DRAM"),
             (0x4080_0000, 0x4088_0000, "BYTE_ACCESSIBLE"), (0x4004_AC00, 0x4005_0000, "DROM_MASK"), (0x4000_0000, 0x4004_AC00, "IROM_MASK"),
             (0x4200_0000, 0x4300_0000, "IROM"), (0x4080_0000, 0x4088_0000, "IRAM"), (0x5000_0000, 0x5000_4000, "RTC_IRAM"),
             (0x5000_0000, 0x5000_4000, "RTC_DRAM"), (0x600F_E000, 0x6010_0000, "MEM_INTERNAL2")]
        case .esp32p4:
            [(0x0000_0000, 0x0001_0000, "PADDING"), (0x4000_0000, 0x4C00_0000, "DROM"), (0x4FF0_0000, 0x4FFA_0000, "DRAM"),
             (0x4FF0_0000, 0x4FFA_0000, "BYTE_ACCESSIBLE"), (0x4FC0_0000, 0x4FC2_0000, "DROM_MASK"), (0x4FC0_0000, 0x4FC2_0000, "IROM_MASK"),
             (0x4000_0000, 0x4C00_0000, "IROM"), (0x4FF0_0000, 0x4FFA_0000, "IRAM"), (0x5010_8000, 0x5011_0000, "RTC_IRAM"),
             (0x5010_8000, 0x5011_0000, "RTC_DRAM"), (0x600F_E000, 0x6010_0000, "MEM_INTERNAL2")]
        }
    }

    /// The chips and their ids, for messages: `esp32 0, esp32s2 2, ...`.
    static var idList: String { allCases.map { "\($0.rawValue) \($0.imageChipID)" }.joined(separator: ", ") }
}
