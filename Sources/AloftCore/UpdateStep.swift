/// What a device says about the firmware it runs (agents since 0.4.0 report it at every check-in; docs/firmware.md).
public struct DeviceFirmware: Sendable, Equatable {
    /// The firmware build, `sys.implementation._build` (or config.json's `build`); nil when unknown.
    public var build: String?
    /// Whether the board can take a firmware update: it has an OTA partition table.
    public var ota: Bool
    public var chip: String?
    /// Bytes of the slot a new firmware would go to.
    public var slot: Int?
    /// The running slot's label, `ota_0`.
    public var running: String?
    /// The running firmware is on trial (not yet confirmed or rolled back).
    public var onTrial: Bool
    /// Whether the bootloader rolls back a new firmware that fails before it is confirmed: learned at the first firmware
    /// trial boot; nil until then.
    public var rollback: Bool?
    /// SHA-256 of the running image.
    public var sha256: String?
    /// SHA-256 of the last image the device rolled back.
    public var rejected: String?

    public init(
        build: String? = nil, ota: Bool, chip: String? = nil, slot: Int? = nil, running: String? = nil, onTrial: Bool = false, rollback: Bool? = nil,
        sha256: String? = nil, rejected: String? = nil
    ) {
        self.build = build
        self.ota = ota
        self.chip = chip
        self.slot = slot
        self.running = running
        self.onTrial = onTrial
        self.rollback = rollback
        self.sha256 = sha256
        self.rejected = rejected
    }
}

/// The firmware fields of a check-in as the device sent them (docs/firmware.md, "Check-in"): what the server keeps of a
/// device, and what ``firmware`` turns into the decision's ``DeviceFirmware``.
public struct FirmwareReport: Sendable, Equatable {
    /// Values of ``state`` (`fw_state`).
    public static let states = ["valid", "trial"]

    public var build: String?
    /// Sent by every agent since 0.4.0, by no older one.
    public var ota: Bool?
    public var chip: String?
    public var slot: Int?
    public var running: String?
    /// `fw_state`: `valid`, or `trial` while a new firmware is on trial.
    public var state: String?
    public var rollback: Bool?
    /// `fw_sha256`.
    public var sha256: String?
    /// `fw_rejected`.
    public var rejected: String?

    public init(
        build: String? = nil, ota: Bool? = nil, chip: String? = nil, slot: Int? = nil, running: String? = nil, state: String? = nil,
        rollback: Bool? = nil, sha256: String? = nil, rejected: String? = nil
    ) {
        self.build = build
        self.ota = ota
        self.chip = chip
        self.slot = slot
        self.running = running
        self.state = state
        self.rollback = rollback
        self.sha256 = sha256
        self.rejected = rejected
    }

    /// Nothing reported: an agent before 0.4.0.
    public var isEmpty: Bool { self == FirmwareReport() }

    public var onTrial: Bool { state == "trial" }

    /// What the decision looks at; nil without `ota`: an agent before 0.4.0, which cannot update firmware.
    public var firmware: DeviceFirmware? {
        guard let ota else { return nil }
        return DeviceFirmware(
            build: build, ota: ota, chip: chip, slot: slot, running: running, onTrial: onTrial, rollback: rollback, sha256: sha256, rejected: rejected)
    }
}

/// Which part of a release a device takes at this check: its firmware first, or its files.
public enum UpdateStep: String, Sendable, Equatable, Codable, CaseIterable {
    case files
    case firmware
}

/// How a device can take a release: the step, the image of a firmware step, and why a firmware the release has for the
/// device's build is left out of a files step.
public struct UpdatePlan: Sendable, Equatable {
    public var step: UpdateStep
    /// The image of a firmware step.
    public var image: FirmwareImage?
    /// With a files step: why the device does not take the image the release has for its build (nil when there is none
    /// or it runs it already).
    public var firmwareSkipped: String?

    public static let files = UpdatePlan(step: .files)

    public init(step: UpdateStep, image: FirmwareImage? = nil, firmwareSkipped: String? = nil) {
        self.step = step
        self.image = image
        self.firmwareSkipped = firmwareSkipped
    }
}

/// The two layers of a board in order (docs/firmware.md, "The decision"): a release's firmware before its files.
public enum UpdateOrder {
    /// The MicroPython version from which LittleFS is upgraded to on-disk version 2.1 on its first write, which earlier
    /// firmware cannot mount (research note, "LittleFS on-disk version").
    public static let littleFS21 = MicroPythonVersion("1.22")!

    /// How `device` can take `release`, or why it cannot (one line, for WHY). Pure: the compat rules, the device's
    /// firmware and the release's images decide.
    ///
    /// A release with an image for the device's build, which the device does not run, goes firmware first, unless the
    /// device cannot take that image; then, as for a release with no image for its build, the files go alone when they
    /// fit the firmware the device runs.
    public static func plan(for device: DeviceFacts, release: ReleaseCandidate) -> Result<UpdatePlan, Unfit> {
        let board = device.board ?? ""
        var skipped: String? = nil
        if let firmware = device.firmware, let build = firmware.build, let image = release.firmware.first(where: { $0.build == build }),
           image.sha256 != firmware.sha256
        {
            if let why = refusal(of: image, by: device, release: release) {
                skipped = why
            } else if let why = release.compat.incompatibility(board: board, micropython: image.micropython, mpy: image.mpy) {
                return .failure(Unfit("\(why) with its firmware \(image.micropython)"))
            } else {
                return .success(UpdatePlan(step: .firmware, image: image))
            }
        } else if device.firmware == nil, let build = device.board, release.firmware.contains(where: { $0.build == build }) {
            skipped = "the agent on it cannot update firmware (agent \(device.agent ?? "before 0.4.0"))"
        }
        let mpy = device.mpy.map { $0 & 0xff }
        if let why = release.compat.incompatibility(board: board, micropython: device.micropython, mpy: mpy) {
            if let skipped { return .failure(Unfit("\(why); cannot take its firmware: \(skipped)")) }
            if let build = device.firmware?.build, !release.firmware.isEmpty, !release.firmware.contains(where: { $0.build == build }) {
                return .failure(Unfit("\(why); the release has no firmware for \(build)"))
            }
            return .failure(Unfit(why))
        }
        return .success(UpdatePlan(step: .files, firmwareSkipped: skipped))
    }

    /// Why `device` cannot take `image` (one line), or nil when it can: the rules of docs/firmware.md in their order.
    public static func refusal(of image: FirmwareImage, by device: DeviceFacts, release: ReleaseCandidate) -> String? {
        guard let firmware = device.firmware else { return "the agent on it cannot update firmware (agent \(device.agent ?? "before 0.4.0"))" }
        guard firmware.ota else { return "no OTA partition table (flash an OTA build over USB once)" }
        if let chip = firmware.chip, chip != image.chip { return "the image is for \(image.chip), the board is \(chip)" }
        guard let slot = firmware.slot else { return "it did not report its OTA slot" }
        guard image.size <= slot else { return "the image (\(image.size) bytes) is larger than its OTA slot (\(slot) bytes)" }
        if firmware.onTrial { return "its firmware is on trial" }
        if firmware.rejected == image.sha256 { return "it rolled this image back before" }
        if let running = device.micropython.flatMap(MicroPythonVersion.init), let new = image.version {
            if new < running { return "a downgrade (MicroPython \(running) to \(new))" }
            if (running < littleFS21) != (new < littleFS21) {
                return "it crosses the LittleFS 2.1 line (\(running) to \(new)): 1.22 and later upgrade the filesystem, which 1.21 cannot mount after a rollback"
            }
        }
        if firmware.rollback == false, !release.firmwareWithoutRollback {
            return "its bootloader does not roll back a failed firmware (publish with --firmware-without-rollback to allow it)"
        }
        return nil
    }
}

/// Why a release does not fit a device, in a sentence.
public struct Unfit: Error, Sendable, Equatable {
    public var why: String
    public init(_ why: String) { self.why = why }
}
