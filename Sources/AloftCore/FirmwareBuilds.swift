/// What MicroPython's own tree says about one of its ESP32 firmware builds.
public struct FirmwareBuild: Sendable, Equatable {
    /// `BOARD` or `BOARD-VARIANT`, as `sys.implementation._build` reports it (py/mkrules.cmake, MICROPY_BOARD_BUILD_NAME).
    public let name: String
    /// The board's `mcu` in its board.json (the same as the IDF_TARGET its cmake files set).
    public let chip: ESPChip
    /// Bytes of each OTA app slot (`ota_0`, `ota_1`) in the partition table the build selects; nil when its table has none.
    public let otaSlotSize: Int?
    /// That table, as its sdkconfig names it (relative to ports/esp32), when it has OTA slots.
    public let partitionTable: String?
    /// Whether the board's own code marks every image valid at startup, so that no image is ever on trial
    /// (ARDUINO_NANO_ESP32's board_init.c calls esp_ota_mark_app_valid_cancel_rollback() on a PENDING_VERIFY image).
    public let autoConfirms: Bool

    init(_ name: String, _ chip: ESPChip, otaSlotSize: Int? = nil, partitionTable: String? = nil, autoConfirms: Bool = false) {
        self.name = name
        self.chip = chip
        self.otaSlotSize = otaSlotSize
        self.partitionTable = partitionTable
        self.autoConfirms = autoConfirms
    }
}

/// The ESP32 firmware builds MicroPython makes, and what publish checks a firmware image against: the chip a build runs
/// on and, for the builds that ship an OTA partition table, the size of its slots.
///
/// Derived from MicroPython's ports/esp32 (the mirror's HEAD, 1c3c2011, v1.29.0-preview, and the tags v1.25.0 to v1.28.0,
/// the releases whose firmware reports `_build`) by a throwaway script, not kept, that for every boards/BOARD with an
/// mpconfigboard.cmake:
/// - names the builds: BOARD, and BOARD-VARIANT for each mpconfigvariant_VARIANT.cmake (ports/esp32/CMakeLists.txt
///   accepts exactly those variants; py/mkrules.cmake joins the two with `-`);
/// - takes the chip from board.json's `mcu`, checked against the IDF_TARGET of boards/mpconfigboard_<chip>_common.cmake;
/// - follows SDKCONFIG_DEFAULTS through the board's and the variant's cmake files (include, set, list APPEND/REMOVE_ITEM)
///   to the last CONFIG_PARTITION_TABLE_CUSTOM_FILENAME, and reads the size of the `app, ota_N` entries of that csv
///   (sdkconfig.base selects partitions-4MiBplus.csv: a factory app and no OTA slots);
/// - marks the boards whose C sources call esp_ota_mark_app_valid_cancel_rollback (only ARDUINO_NANO_ESP32, board_init.c).
/// Every build agreed across those versions (chip, slot size, auto-confirm); SIL_WESP32's table was partitions-16MiB-ota.csv
/// in v1.25.0, with the same slots. ESP32_GENERIC_S3-FLASH_4M exists in v1.25.0 only.
/// Builds with an OTA table: ESP32_GENERIC-OTA (boards/ESP32_GENERIC/sdkconfig.ota), SIL_WESP32 and SIL_MANT1S
/// (their sdkconfig.board), ARDUINO_NANO_ESP32 (its sdkconfig.board; app0/app1, plus a factory recovery app).
public enum FirmwareBuilds {
    public static let all: [FirmwareBuild] = [
        FirmwareBuild(
            "ARDUINO_NANO_ESP32", .esp32s3, otaSlotSize: 0x30_0000, partitionTable: "boards/ARDUINO_NANO_ESP32/partitions-app3M_fat9M_fact512k_16MiB.csv",
            autoConfirms: true),
        FirmwareBuild("ESP32_GENERIC", .esp32),
        FirmwareBuild("ESP32_GENERIC-D2WD", .esp32),
        FirmwareBuild("ESP32_GENERIC-OTA", .esp32, otaSlotSize: 0x18_0000, partitionTable: "partitions-4MiB-ota.csv"),
        FirmwareBuild("ESP32_GENERIC-SPIRAM", .esp32),
        FirmwareBuild("ESP32_GENERIC-UNICORE", .esp32),
        FirmwareBuild("ESP32_GENERIC_C2", .esp32c2),
        FirmwareBuild("ESP32_GENERIC_C2-FLASH_2M", .esp32c2),
        FirmwareBuild("ESP32_GENERIC_C3", .esp32c3),
        FirmwareBuild("ESP32_GENERIC_C3-QEMU", .esp32c3),
        FirmwareBuild("ESP32_GENERIC_C5", .esp32c5),
        FirmwareBuild("ESP32_GENERIC_C6", .esp32c6),
        FirmwareBuild("ESP32_GENERIC_H2", .esp32h2),
        FirmwareBuild("ESP32_GENERIC_P4", .esp32p4),
        FirmwareBuild("ESP32_GENERIC_P4-C5_WIFI", .esp32p4),
        FirmwareBuild("ESP32_GENERIC_P4-C6_WIFI", .esp32p4),
        FirmwareBuild("ESP32_GENERIC_P4-PRE_REV3", .esp32p4),
        FirmwareBuild("ESP32_GENERIC_P4-PRE_REV3_C5_WIFI", .esp32p4),
        FirmwareBuild("ESP32_GENERIC_P4-PRE_REV3_C6_WIFI", .esp32p4),
        FirmwareBuild("ESP32_GENERIC_S2", .esp32s2),
        FirmwareBuild("ESP32_GENERIC_S3", .esp32s3),
        FirmwareBuild("ESP32_GENERIC_S3-FLASH_4M", .esp32s3),
        FirmwareBuild("ESP32_GENERIC_S3-SPIRAM_OCT", .esp32s3),
        FirmwareBuild("GARATRONIC_PYBSTICK26_ESP32C3", .esp32c3),
        FirmwareBuild("LILYGO_T3_S3", .esp32s3),
        FirmwareBuild("LILYGO_TTGO_LORA32", .esp32),
        FirmwareBuild("LOLIN_C3_MINI", .esp32c3),
        FirmwareBuild("LOLIN_S2_MINI", .esp32s2),
        FirmwareBuild("LOLIN_S2_PICO", .esp32s2),
        FirmwareBuild("M5STACK_ATOM", .esp32),
        FirmwareBuild("M5STACK_ATOMS3_LITE", .esp32s3),
        FirmwareBuild("M5STACK_NANOC6", .esp32c6),
        FirmwareBuild("M5STACK_NANOH2", .esp32h2),
        FirmwareBuild("OLIMEX_ESP32_EVB", .esp32),
        FirmwareBuild("OLIMEX_ESP32_POE", .esp32),
        FirmwareBuild("SEEED_XIAO_ESP32C3", .esp32c3),
        FirmwareBuild("SEEED_XIAO_ESP32C5", .esp32c5),
        FirmwareBuild("SEEED_XIAO_ESP32C6", .esp32c6),
        FirmwareBuild("SEEED_XIAO_ESP32S3", .esp32s3),
        FirmwareBuild("SIL_MANT1S", .esp32, otaSlotSize: 0x20_0000, partitionTable: "boards/SIL_MANT1S/partitions-8MiB-ota.csv"),
        FirmwareBuild("SIL_WESP32", .esp32, otaSlotSize: 0x27_0000, partitionTable: "partitions-8MiBplus-ota.csv"),
        FirmwareBuild("SOLDERED_NULA_MINI", .esp32c6),
        FirmwareBuild("SPARKFUN_IOT_REDBOARD_ESP32", .esp32),
        FirmwareBuild("SPARKFUN_THINGPLUS_ESP32C5", .esp32c5),
        FirmwareBuild("UM_FEATHERS2", .esp32s2),
        FirmwareBuild("UM_FEATHERS2NEO", .esp32s2),
        FirmwareBuild("UM_FEATHERS3", .esp32s3),
        FirmwareBuild("UM_FEATHERS3NEO", .esp32s3),
        FirmwareBuild("UM_NANOS3", .esp32s3),
        FirmwareBuild("UM_OMGS3", .esp32s3),
        FirmwareBuild("UM_PROS3", .esp32s3),
        FirmwareBuild("UM_RGBTOUCH_MINI", .esp32s3),
        FirmwareBuild("UM_TINYC6", .esp32c6),
        FirmwareBuild("UM_TINYPICO", .esp32),
        FirmwareBuild("UM_TINYS2", .esp32s2),
        FirmwareBuild("UM_TINYS3", .esp32s3),
        FirmwareBuild("UM_TINYWATCHS3", .esp32s3),
        FirmwareBuild("WAVESHARE_ESP32_S3_PICO", .esp32s3),
    ]

    private static let byName: [String: FirmwareBuild] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The build named `name`, or nil when MicroPython's tree has no such build.
    public static func build(named name: String) -> FirmwareBuild? { byName[name] }

    /// The chip `build` runs on, or nil for a build this table does not know.
    public static func chip(forBuild build: String) -> ESPChip? { byName[build]?.chip }

    /// Bytes of each OTA slot in the partition table `build` ships; nil for a build without OTA slots or an unknown one.
    public static func otaSlotSize(forBuild build: String) -> Int? { byName[build]?.otaSlotSize }

    /// Whether the board code of `build` confirms every image at startup (no trial boot); false for unknown builds.
    public static func autoConfirms(build: String) -> Bool { byName[build]?.autoConfirms ?? false }
}
