import AloftCore
import Foundation
import Testing

/// Firmware images in the real format (device/sim/espimage.py), checked by an independent parser (esptool image-info) and
/// then read by Aloft's (ESPAppImage, `aloft firmware inspect`): both must see the same image, and Aloft must refuse what
/// publish must not take, with the line a person needs.
@Suite(.serialized) struct FirmwareInspectTests {
    /// Builds an image with the simulator's builder under the MicroPython unix port; its path.
    static func build(_ scratch: Scratch, _ name: String, _ arguments: [String]) throws -> String {
        let out = scratch.path(name)
        let script = Paths.repo.appendingPathComponent("device/sim/espimage.py").path
        let result = try runCommand(Paths.micropython, [script, "build"] + arguments + ["--out", out])
        guard result.code == 0 else { throw AloftError("espimage.py build \(arguments.joined(separator: " ")) failed: \(result.output)") }
        return out
    }

    /// What `esptool image-info` reports about an app image.
    struct EsptoolInfo {
        var chipID: Int
        var segments: [(length: Int, address: UInt32, fileOffset: Int, memory: String)]
        var checksum: String
        var hash: String
        var compileTime: String
        var elfSHA256: String
        var idf: String
        var size: Int

        init(_ path: String) throws {
            let esptool = Paths.repo.appendingPathComponent(".venv/bin/esptool").path
            let result = try runCommand(esptool, ["image-info", path])
            guard result.code == 0 else { throw AloftError("esptool image-info \(path) failed: \(result.output)") }
            let lines = result.stdout.split(separator: "\n").map(String.init)
            func value(_ label: String) throws -> String {
                guard let line = lines.first(where: { $0.hasPrefix(label + ": ") }) else { throw AloftError("esptool printed no '\(label)': \(result.stdout)") }
                return String(line.dropFirst(label.count + 2))
            }
            func number(_ text: some StringProtocol) -> Int { Int(text.dropFirst(2), radix: 16)! }
            chipID = Int(try value("Chip ID").split(separator: " ")[0])!
            segments = []
            for line in lines {
                // "      0  0x53330  0x3f400020  0x00000018  DROM"
                let fields = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespaces) }
                guard fields.count == 5, Int(fields[0]) != nil, fields[1].hasPrefix("0x") else { continue }
                segments.append((number(fields[1]), UInt32(number(fields[2])), number(fields[3]), fields[4]))
            }
            checksum = try value("Checksum")
            hash = try value("Validation hash")
            compileTime = try value("Compile time")
            elfSHA256 = try value("ELF file SHA256")
            idf = try value("ESP-IDF")
            size = Int(try value("Image size").split(separator: " ")[0])!
        }
    }

    /// Each chip's image, as a build of that chip would publish it: esptool finds it valid, and Aloft reads what esptool reads.
    @Test(arguments: [
        ("esp32", "ESP32_GENERIC-OTA", "1.26.0", 196_608), ("esp32", "ESP32_GENERIC", "1.24.1", 65_536), ("esp32s2", "ESP32_GENERIC_S2", "1.25.0", 196_608),
        ("esp32s3", "ARDUINO_NANO_ESP32", "1.27.0", 262_144), ("esp32c2", "ESP32_GENERIC_C2", "1.26.0", 196_608),
        ("esp32c3", "ESP32_GENERIC_C3", "1.22.2", 196_608), ("esp32c5", "ESP32_GENERIC_C5", "1.27.0", 196_608),
        ("esp32c6", "ESP32_GENERIC_C6", "1.26.1", 196_608), ("esp32h2", "ESP32_GENERIC_H2", "1.26.0", 196_608),
        ("esp32p4", "ESP32_GENERIC_P4", "1.27.0", 196_608),
    ])
    func aloftReadsWhatEsptoolReads(chip: String, build: String, micropython: String, size: Int) throws {
        let scratch = try Scratch("aloft-firmware")
        let path = try Self.build(scratch, "app.bin", ["--chip", chip, "--build", build, "--micropython", micropython, "--size", String(size)])
        let esptool = try EsptoolInfo(path)
        #expect(esptool.checksum.hasSuffix("(valid)") && esptool.hash.hasSuffix(" (valid)"), "\(esptool.checksum) \(esptool.hash)")

        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let image = try ESPAppImage(parsing: bytes)
        #expect(image.chip.rawValue == chip && Int(image.chip.imageChipID) == esptool.chipID)
        #expect(image.size == size && esptool.size == size)
        #expect(image.segments.count == esptool.segments.count && (3...4).contains(image.segments.count))
        for (ours, theirs) in zip(image.segments, esptool.segments) {
            #expect(ours.loadAddress == theirs.address && ours.length == theirs.length && ours.fileOffset == theirs.fileOffset)
            #expect(image.chip.memoryKinds(at: ours.loadAddress).joined(separator: ", ") == theirs.memory)
        }
        #expect(esptool.checksum == "\(hexByte(image.checksum)) (valid)")
        #expect(esptool.hash == "\(image.appendedSHA256) (valid)")
        #expect(esptool.compileTime == "\(image.descriptor.date) \(image.descriptor.time)")
        #expect(esptool.elfSHA256 == image.descriptor.elfSHA256 && esptool.idf == image.descriptor.idfVersion)
        #expect(image.descriptor.version.isEmpty && image.descriptor.projectName.isEmpty)

        let entry = try FirmwareImage(build: build, image: image)
        #expect(entry == FirmwareImage(build: build, chip: chip, micropython: micropython, mpy: 6, sha256: Digest.sha256Hex(bytes), size: size))
        #expect(try image.micropythonVersion().banner?.text.hasPrefix("MicroPython v\(micropython) on 2025-01-01; ") == true)
    }

    @Test func inspectPrintsWhatPublishReads() throws {
        let scratch = try Scratch("aloft-firmware")
        let path = try Self.build(scratch, "ota.bin", ["--chip", "esp32", "--build", "ESP32_GENERIC-OTA", "--micropython", "1.26.0"])
        let esptool = try EsptoolInfo(path)
        let sha256 = Digest.sha256Hex(Array(try Data(contentsOf: URL(fileURLWithPath: path))))

        let plain = try runCommand(Paths.aloft, ["firmware", "inspect", path])
        #expect(plain.code == 0 && plain.stderr.isEmpty, "\(plain.output)")
        let lines = plain.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(lines.contains("sha256 \(sha256)") && lines.contains("size 196608 bytes"), "\(plain.stdout)")
        #expect(lines.contains("chip esp32 (chip id 0), revisions v0.0 to v3.99"), "\(plain.stdout)")
        for (index, segment) in esptool.segments.enumerated() {
            let row = "\(index) 0x\(String(segment.address, radix: 16)) 0x\(String(segment.length, radix: 16)) 0x\(String(segment.fileOffset, radix: 16)) "
            #expect(lines.contains(row + segment.memory.split(separator: " ").joined(separator: " ")), "\(row) in \(plain.stdout)")
        }
        #expect(lines.contains { $0.hasPrefix("checksum \(esptool.checksum.prefix(4)) at ") && $0.hasSuffix(" (valid)") }, "\(plain.stdout)")
        #expect(lines.contains("appended sha256 \(esptool.hash)"), "\(plain.stdout)")
        #expect(lines.contains("idf_ver \(esptool.idf)") && lines.contains("app_elf_sha256 \(esptool.elfSHA256)"), "\(plain.stdout)")
        #expect(lines.contains("micropython 1.26.0, from the banner at 0x189: MicroPython v1.26.0 on 2025-01-01; Generic ESP32 module with OTA with ESP32"),
                "\(plain.stdout)")
        #expect(lines.contains("mpy 6") && !lines.contains { $0.hasPrefix("verdict") }, "\(plain.stdout)")

        let accepted = try runCommand(Paths.aloft, ["firmware", "inspect", path, "--build", "ESP32_GENERIC-OTA"])
        #expect(accepted.code == 0, "\(accepted.output)")
        #expect(accepted.stdout.contains("ESP32_GENERIC-OTA: esp32, OTA slot 0x180000 (1572864 bytes) in partitions-4MiB-ota.csv"), "\(accepted.stdout)")
        #expect(accepted.stdout.contains(
            #"publish accepts it: {"build":"ESP32_GENERIC-OTA","chip":"esp32","micropython":"1.26.0","mpy":6,"sha256":"\#(sha256)","size":196608}"#),
                "\(accepted.stdout)")

        let json = try runCommand(Paths.aloft, ["firmware", "inspect", path, "--build", "ESP32_GENERIC-OTA", "--json"])
        #expect(json.code == 0, "\(json.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(report["chipId"] as? Int == 0 && report["sha256"] as? String == sha256 && report["size"] as? Int == 196_608)
        let segments = try #require(report["segments"] as? [[String: Any]])
        #expect(segments.map { $0["loadAddress"] as? Int } == esptool.segments.map { Int($0.address) })
        #expect((report["micropython"] as? [String: Any])?["version"] as? String == "1.26.0")
        let build = try #require(report["build"] as? [String: Any])
        #expect(build["verdict"] as? String == "accepted" && build["otaSlotSize"] as? Int == 0x18_0000)
        #expect((build["entry"] as? [String: Any])?["sha256"] as? String == sha256)
    }

    @Test func inspectRefusesWhatPublishRefuses() throws {
        let scratch = try Scratch("aloft-firmware")
        let app = try Self.build(scratch, "app.bin", ["--chip", "esp32", "--build", "ESP32_GENERIC-OTA", "--micropython", "1.26.0"])
        let appBytes = try Data(contentsOf: URL(fileURLWithPath: app))
        func inspect(_ arguments: [String]) throws -> CommandResult { try runCommand(Paths.aloft, ["firmware", "inspect"] + arguments) }
        func expectOneLine(_ result: CommandResult, _ line: String, sourceLocation: SourceLocation = #_sourceLocation) {
            expectClearFailure(result, mentions: line, sourceLocation: sourceLocation)
            #expect(result.stderr == "Error: \(line)\n", "\(result.output)", sourceLocation: sourceLocation)
        }

        // An image for another chip than the build's.
        let s3 = try Self.build(scratch, "s3.bin", ["--chip", "esp32s3", "--build", "ESP32_GENERIC-OTA", "--micropython", "1.26.0"])
        expectOneLine(try inspect([s3, "--build", "ESP32_GENERIC-OTA"]), "chip esp32s3 is not what ESP32_GENERIC-OTA runs (esp32)")
        let wrongChip = try inspect([s3, "--build", "ESP32_GENERIC-OTA"])
        #expect(wrongChip.stdout.contains("verdict           publish refuses it: chip esp32s3 is not what ESP32_GENERIC-OTA runs (esp32)"), "\(wrongChip.stdout)")

        // Larger than the build's OTA slot, which a build without an OTA table does not check.
        let big = try Self.build(scratch, "big.bin", ["--chip", "esp32", "--build", "ESP32_GENERIC-OTA", "--micropython", "1.26.0", "--size", "1703936"])
        #expect(try EsptoolInfo(big).hash.hasSuffix("(valid)"))
        expectOneLine(try inspect([big, "--build", "ESP32_GENERIC-OTA"]), "the image is larger than the OTA slot of ESP32_GENERIC-OTA (1703936 > 1572864)")
        #expect(try inspect([big, "--build", "ESP32_GENERIC"]).code == 0)

        // A build Aloft does not know: only with its chip.
        expectOneLine(try inspect([app, "--build", "MY_BOARD"]),
                      "unknown firmware build 'MY_BOARD' (not a board or variant of MicroPython's ports/esp32): give the chip it runs on to publish it")
        #expect(try inspect([app, "--build", "MY_BOARD", "--chip", "esp32"]).code == 0)
        expectOneLine(try inspect([app, "--build", "MY_BOARD", "--chip", "esp8266"]),
                      "unknown chip 'esp8266': one of esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c5, esp32c6, esp32h2, esp32p4")

        // The full flash images MicroPython publishes as firmware.bin: refused, saying where the app is, and the app is there.
        for (chip, build, table, offset, start) in [
            ("esp32", "ESP32_GENERIC-OTA", "0x7000", 0xF000, "0x1000"), ("esp32s3", "ESP32_GENERIC_S3", "0x8000", 0x10000, "0x0"),
            ("esp32c5", "ESP32_GENERIC_C5", "0x6000", 0xE000, "0x2000"),
        ] {
            let full = try Self.build(scratch, "full-\(chip).bin", ["--chip", chip, "--build", build, "--micropython", "1.26.0", "--full-flash"])
            let partition = chip == "esp32" ? "ota_0" : "factory"
            expectOneLine(try inspect([full]),
                          "this is a full flash image (firmware.bin: bootloader, partition table at \(table), app), not an app image: "
                            + "publish the app alone, micropython.org's .app-bin, or this file's bytes from 0x\(String(offset, radix: 16)) on "
                            + "(partition \(partition) at flash 0x10000; the file starts at flash \(start))")
            let alone = try Self.build(scratch, "alone-\(chip).bin", ["--chip", chip, "--build", build, "--micropython", "1.26.0"])
            let fullBytes = try Data(contentsOf: URL(fileURLWithPath: full))
            #expect(fullBytes.dropFirst(offset) == (try Data(contentsOf: URL(fileURLWithPath: alone))), "\(chip)")
        }

        // A truncated copy and a tampered one. esptool sees the tampering too.
        let truncated = scratch.path("truncated.bin")
        try appBytes.prefix(100_000).write(to: URL(fileURLWithPath: truncated))
        expectOneLine(try inspect([truncated]),
                      "truncated: the file ends at 0x186a0 (100000 bytes), inside segment 3 (load address 0x400d0020, 0x1ffbc bytes from 0x10020)")
        var changed = Array(appBytes)
        changed[0x5000] ^= 0x01
        let tampered = scratch.path("tampered.bin")
        try Data(changed).write(to: URL(fileURLWithPath: tampered))
        let stored = changed[changed.count - 33]
        expectOneLine(try inspect([tampered]),
                      "bad checksum: the image says \(hexByte(stored)) at 0x2ffdf, its segments give \(hexByte(stored ^ 1)): "
                        + "the image is damaged")
        #expect(try EsptoolInfo(tampered).checksum.contains("invalid"))
        let padded = scratch.path("padded.bin")
        try (appBytes + Data(repeating: 0xFF, count: 4096)).write(to: URL(fileURLWithPath: padded))
        expectOneLine(try inspect([padded]),
                      "4096 bytes after the image's end at 0x30000 (its appended SHA-256 ends there): publish the image alone, without padding")
        expectOneLine(try inspect([scratch.path("missing.bin")]), "no such file: \(scratch.path("missing.bin"))")
    }
}

/// `0x0f`: a byte as esptool prints the checksum.
private func hexByte(_ byte: UInt8) -> String { "0x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16) }
