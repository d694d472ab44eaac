# The ESP32 chips the simulator knows, for espimage.py (where an image's segments load) and espverify.py (what
# esp_image_verify checks): CHIPS[name]. Loaded by the bootloader (espboot.py), which hands the board's own entry to
# the esp32 module, and unloaded with it.
# chip: (chip id, bootloader offset in flash, DROM map, IROM map, DRAM, IRAM, the bootloader's own DRAM and loader
# IRAM (what an app's loaded segments must not overlap), the simulated board's chip revision, the image's max
# revision), ranges as (start, end). Maps and RAM from esptool's targets/*.py (IMAGE_CHIP_ID, *_MAP_START/END,
# MEMORY_MAP, BOOTLOADER_FLASH_OFFSET); the bootloader's regions from ESP-IDF
# components/bootloader/subproject/main/ld/<chip>/bootloader.ld (esp32: dram_seg 0x3FFF0000+0x10000, iram_loader_seg
# 0x40078000+0x8000; esp32s3: dram_seg 0x3FCD0000+0x4000, iram_loader_seg 0x403BA000+0x6000); for the other chips
# they are placed at the top of their RAM, not copied from their linker scripts (no profile uses them).
CHIPS = {
    "esp32": (0, 0x1000, (0x3F400000, 0x3F800000), (0x400D0000, 0x40400000), (0x3FFAE000, 0x40000000), (0x40070000, 0x400C0000), (0x3FFF0000, 0x40000000), (0x40078000, 0x40080000), 300, 399),
    "esp32s2": (2, 0x1000, (0x3F000000, 0x3F3F0000), (0x40080000, 0x40B80000), (0x3FFB0000, 0x40000000), (0x40020000, 0x40070000), (0x3FFE8000, 0x3FFF0000), (0x40060000, 0x40068000), 100, 199),
    "esp32s3": (9, 0, (0x3C000000, 0x3E000000), (0x42000000, 0x44000000), (0x3FC88000, 0x3FD00000), (0x40370000, 0x403E0000), (0x3FCD0000, 0x3FCD4000), (0x403BA000, 0x403C0000), 2, 99),
    "esp32c2": (12, 0, (0x3C000000, 0x3C400000), (0x42000000, 0x42400000), (0x3FCA0000, 0x3FCE0000), (0x4037C000, 0x403C0000), (0x3FCD0000, 0x3FCD8000), (0x403B0000, 0x403B8000), 100, 199),
    "esp32c3": (5, 0, (0x3C000000, 0x3C800000), (0x42000000, 0x42800000), (0x3FC80000, 0x3FCE0000), (0x4037C000, 0x403E0000), (0x3FCD0000, 0x3FCD8000), (0x403D0000, 0x403D8000), 4, 199),
    "esp32c5": (23, 0x2000, (0x42800000, 0x44000000), (0x42000000, 0x42800000), (0x40800000, 0x40860000), (0x40800000, 0x40860000), (0x40840000, 0x40848000), (0x40848000, 0x40850000), 100, 199),
    "esp32c6": (13, 0, (0x42800000, 0x43000000), (0x42000000, 0x42800000), (0x40800000, 0x40880000), (0x40800000, 0x40880000), (0x40860000, 0x40868000), (0x40868000, 0x40870000), 1, 99),
    "esp32h2": (16, 0, (0x42800000, 0x43000000), (0x42000000, 0x42800000), (0x40800000, 0x40850000), (0x40800000, 0x40850000), (0x40838000, 0x40840000), (0x40840000, 0x40848000), 1, 99),
    "esp32p4": (18, 0x2000, (0x44000000, 0x4C000000), (0x40000000, 0x44000000), (0x4FF00000, 0x4FFA0000), (0x4FF00000, 0x4FFA0000), (0x4FF80000, 0x4FF88000), (0x4FF88000, 0x4FF90000), 100, 199),
}
