import AloftCore
import ArgumentParser
import Foundation

/// Firmware images (ESP32 app images) as releases carry them.
struct FirmwareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "firmware", abstract: "MicroPython firmware images for ESP32 boards.", subcommands: [Inspect.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read an ESP32 app image as publish reads it: chip, segments, checksum, SHA-256, app descriptor, MicroPython version.",
            discussion: """
                The image is what micropython.org publishes as .app-bin (a build's micropython.bin), not the full firmware.bin. \
                With --build, also the verdict publish would give for that build, and the OTA slot the image is checked against.
                """)

        @Argument(help: "The image file.")
        var file: String

        @Option(help: "The firmware build the image is for, as sys.implementation._build reports it, e.g. ESP32_GENERIC-OTA.")
        var build: String?

        @Option(help: "The chip a build Aloft does not know runs on: \(ESPChip.allCases.map(\.rawValue).joined(separator: ", ")).")
        var chip: String?

        @Option(help: "The MicroPython version (X.Y.Z) the image runs, when its banner is missing or names several.")
        var micropythonVersion: String?

        @Flag(help: "JSON output.")
        var json = false

        /// Larger than any ESP32 flash: read no further than this.
        static let maxFileSize = 64 * 1024 * 1024

        func run() throws {
            let chip = try chip.map { name throws(AloftError) -> ESPChip in
                guard let chip = ESPChip(rawValue: name) else {
                    throw AloftError("unknown chip '\(name.prefix(40))': one of \(ESPChip.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return chip
            }
            if let build { try FirmwareImage.validateBuild(build) }
            let image = try ESPAppImage(parsing: try Self.read(file))
            let version = Result { () throws(AloftError) in try image.micropythonVersion(given: micropythonVersion) }
            var verdict: Result<FirmwareImage, AloftError>?
            if let build {
                verdict = Result { () throws(AloftError) in try FirmwareImage(build: build, image: image, chip: chip, micropython: micropythonVersion) }
            }
            if json {
                try printJSON(Report(file: file, image: image, version: version, build: build, verdict: verdict))
            } else {
                for line in Self.lines(file: file, image: image, version: version, build: build, verdict: verdict) { print(line) }
            }
            if case .failure(let refusal)? = verdict { throw refusal }
        }

        static func read(_ path: String) throws(AloftError) -> [UInt8] {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw AloftError("no such file: \(path)") }
            guard !isFolder.boolValue else { throw AloftError("\(path) is a folder, not an image file") }
            guard let handle = FileHandle(forReadingAtPath: path) else { throw AloftError("cannot read \(path)") }
            defer { try? handle.close() }
            let data: Data?
            do { data = try handle.read(upToCount: maxFileSize + 1) } catch { throw AloftError("cannot read \(path): \(error.localizedDescription)") }
            let bytes = Array(data ?? Data())
            guard bytes.count <= maxFileSize else { throw AloftError("\(path) is larger than \(maxFileSize / 1024 / 1024) MiB: no firmware image is") }
            return bytes
        }

        static func lines(
            file: String, image: ESPAppImage, version: Result<FirmwareVersion, AloftError>, build: String?, verdict: Result<FirmwareImage, AloftError>?
        ) -> [String] {
            func row(_ label: String, _ value: String) -> String { label.padding(toLength: 18, withPad: " ", startingAt: 0) + value }
            let d = image.descriptor
            let revisions = "revisions \(revision(image.minChipRevision)) to \(revision(image.maxChipRevision))"
            var lines = [
                row("file", file),
                row("size", "\(image.size) bytes"),
                row("sha256", image.sha256),
                row("chip", "\(image.chip.rawValue) (chip id \(image.chip.imageChipID)), \(revisions)"),
                row("entry point", hex(image.entryPoint)),
                row("segments", "\(image.segments.count)"),
            ]
            var table = [["#", "load address", "length", "file offset", "memory"]]
            for (index, segment) in image.segments.enumerated() {
                let kinds = image.chip.memoryKinds(at: segment.loadAddress)
                let memory = kinds.isEmpty ? "-" : kinds.joined(separator: ", ")
                table.append([String(index), hex(segment.loadAddress), hex(segment.length), hex(segment.fileOffset), memory])
            }
            lines += tableLines(table).map { "  " + $0 }
            lines += [
                row("checksum", "\(hexByte(image.checksum)) at \(hex(image.checksumOffset)) (valid)"),
                row("appended", "sha256 \(image.appendedSHA256) (valid)"),
                "app descriptor at 0x20:",
                row("  secure_version", "\(d.secureVersion)"),
                row("  version", quoted(d.version)),
                row("  project_name", quoted(d.projectName)),
                row("  compiled", "\(d.date) \(d.time)"),
                row("  idf_ver", d.idfVersion),
                row("  app_elf_sha256", d.elfSHA256),
            ]
            switch version {
            case .success(let version):
                let prerelease = version.banner.map { $0.isPrerelease ? ", a pre-release (\($0.tag))" : "" } ?? ""
                lines.append(row("micropython", "\(version.version)\(prerelease), from \(version.source)"))
                lines.append(row("mpy", mpy(version.version).map(String.init) ?? "none: before 1.12"))
            case .failure(let error):
                lines.append(row("micropython", "unknown: \(error.message)"))
            }
            guard let build, let verdict else { return lines }
            if let known = FirmwareBuilds.build(named: build) {
                let slot = known.otaSlotSize.map { "OTA slot \(hex($0)) (\($0) bytes) in \(known.partitionTable ?? "its partition table")" }
                    ?? "no OTA partition table in MicroPython's build: the device's slot is checked at check-in"
                lines.append(row("build", "\(build): \(known.chip.rawValue), \(slot)\(known.autoConfirms ? "; its board code confirms every image" : "")"))
            } else {
                lines.append(row("build", "\(build): not a build of MicroPython's ports/esp32"))
            }
            switch verdict {
            case .success(let entry): lines.append(row("verdict", "publish accepts it: \(entryJSON(entry))"))
            case .failure(let refusal): lines.append(row("verdict", "publish refuses it: \(refusal.message)"))
            }
            return lines
        }

        static func revision(_ full: Int) -> String { "v\(full / 100).\(full % 100)" }
        static func quoted(_ text: String) -> String { "'\(text)'" }

        static func entryJSON(_ entry: FirmwareImage) -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? String(decoding: encoder.encode(entry), as: UTF8.self)) ?? ""
        }
    }
}

/// What `aloft firmware inspect --json` prints.
private struct Report: Encodable {
    struct Segment: Encodable {
        var loadAddress: UInt32
        var length: Int
        var fileOffset: Int
        var memory: [String]
    }
    struct Checksum: Encodable {
        var value: UInt8
        var offset: Int
        var valid: Bool
    }
    struct AppendedSHA256: Encodable {
        var value: String
        var valid: Bool
    }
    struct Descriptor: Encodable {
        var secureVersion: UInt32
        var version: String
        var projectName: String
        var time: String
        var date: String
        var idfVersion: String
        var elfSHA256: String
    }
    struct MicroPython: Encodable {
        var version: String?
        var source: String?
        var banner: String?
        var tag: String?
        var prerelease: Bool?
        var mpy: Int?
        var error: String?
    }
    struct Build: Encodable {
        var name: String
        var known: Bool
        var chip: String?
        var otaSlotSize: Int?
        var partitionTable: String?
        var autoConfirms: Bool
        var verdict: String
        var reason: String?
        var entry: FirmwareImage?
    }

    var file: String
    var size: Int
    var sha256: String
    var chip: String
    var chipId: UInt16
    var minChipRevision: Int
    var maxChipRevision: Int
    var entryPoint: UInt32
    var segments: [Segment]
    var checksum: Checksum
    var appendedSHA256: AppendedSHA256
    var appDescriptor: Descriptor
    var micropython: MicroPython
    var build: Build?

    init(file: String, image: ESPAppImage, version: Result<FirmwareVersion, AloftError>, build: String?, verdict: Result<FirmwareImage, AloftError>?) {
        self.file = file
        size = image.size
        sha256 = image.sha256
        chip = image.chip.rawValue
        chipId = image.chip.imageChipID
        minChipRevision = image.minChipRevision
        maxChipRevision = image.maxChipRevision
        entryPoint = image.entryPoint
        segments = image.segments.map {
            Segment(loadAddress: $0.loadAddress, length: $0.length, fileOffset: $0.fileOffset, memory: image.chip.memoryKinds(at: $0.loadAddress))
        }
        checksum = Checksum(value: image.checksum, offset: image.checksumOffset, valid: true)
        appendedSHA256 = AppendedSHA256(value: image.appendedSHA256, valid: true)
        let d = image.descriptor
        appDescriptor = Descriptor(
            secureVersion: d.secureVersion, version: d.version, projectName: d.projectName, time: d.time, date: d.date, idfVersion: d.idfVersion,
            elfSHA256: d.elfSHA256)
        switch version {
        case .success(let v):
            micropython = MicroPython(
                version: v.version, source: v.source, banner: v.banner?.text, tag: v.banner?.tag, prerelease: v.banner?.isPrerelease,
                mpy: mpy(v.version))
        case .failure(let error):
            micropython = MicroPython(error: error.message)
        }
        if let build, let verdict {
            let known = FirmwareBuilds.build(named: build)
            var report = Build(
                name: build, known: known != nil, chip: known?.chip.rawValue, otaSlotSize: known?.otaSlotSize, partitionTable: known?.partitionTable,
                autoConfirms: known?.autoConfirms ?? false, verdict: "accepted")
            switch verdict {
            case .success(let entry): report.entry = entry
            case .failure(let refusal):
                report.verdict = "refused"
                report.reason = refusal.message
            }
            self.build = report
        }
    }
}

/// The `.mpy` version MicroPython `version` (X.Y.Z) loads, as publish writes it.
private func mpy(_ version: String) -> Int? { MicroPythonVersion(version).flatMap(FirmwareImage.mpyVersion(forMicroPython:)) }

/// `0x1f`: lowercase hex, as esptool prints addresses and sizes.
private func hex(_ value: some BinaryInteger) -> String { "0x" + String(value, radix: 16) }

/// `0x0f`: a byte in two hex digits, as esptool prints the checksum.
private func hexByte(_ byte: UInt8) -> String { "0x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16) }
