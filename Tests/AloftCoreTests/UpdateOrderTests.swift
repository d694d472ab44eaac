import AloftCore
import Foundation
import Testing

private let now = Date(timeIntervalSince1970: 1_800_000_000)
private let goodSHA = String(repeating: "a", count: 64)
private let oldSHA = String(repeating: "b", count: 64)

private func image(_ build: String = "ESP32_GENERIC-OTA", chip: String = "esp32", micropython: String = "1.26.0", sha: String = goodSHA, size: Int = 1_500_000)
    -> FirmwareImage
{
    FirmwareImage(build: build, chip: chip, micropython: micropython, mpy: 6, sha256: sha, size: size)
}

private func release(_ firmware: [FirmwareImage] = [image()], micropython: String? = nil, mpy: Int? = nil, withoutRollback: Bool = false) -> ReleaseCandidate {
    ReleaseCandidate(
        sequence: 5, version: "2.0.0", compat: Compatibility(boards: ["*"], micropython: micropython, mpy: mpy), expires: nil, formats: [1, 2],
        firmware: firmware, firmwareWithoutRollback: withoutRollback)
}

/// A 0.4.0 device on an OTA board running MicroPython `micropython` (image `oldSHA`), with what `change` sets.
private func device(micropython: String = "1.24.1", _ change: (inout DeviceFirmware) -> Void = { _ in }) -> DeviceFacts {
    var firmware = DeviceFirmware(
        build: "ESP32_GENERIC-OTA", ota: true, chip: "esp32", slot: 0x180000, running: "ota_0", onTrial: false, rollback: true, sha256: oldSHA)
    change(&firmware)
    return DeviceFacts(
        id: "d", sequence: 4, board: "ESP32_GENERIC-OTA", micropython: micropython, format: 2, mpy: 2822, agent: "0.4.0", firmware: firmware)
}

private func plan(_ d: DeviceFacts, _ r: ReleaseCandidate = release()) -> Result<UpdatePlan, Unfit> { UpdateOrder.plan(for: d, release: r) }

@Suite struct UpdateOrderTests {
    @Test func firmwareGoesFirstWhenTheDeviceRunsAnotherImage() {
        #expect(plan(device()) == .success(UpdatePlan(step: .firmware, image: image())))
        // Once it runs the release's image, the files follow.
        #expect(plan(device { $0.sha256 = goodSHA }) == .success(.files))
        // No image for its build: files alone, when they fit what it runs.
        #expect(plan(device(), release([image("ESP32_GENERIC_S3", chip: "esp32s3")])) == .success(.files))
    }

    @Test func eachRefusalIsNamedAndTheFilesGoAloneWhenTheyFit() {
        func skipped(_ d: DeviceFacts, _ r: ReleaseCandidate = release()) -> String? {
            guard case .success(let p) = plan(d, r), p.step == .files else { return nil }
            return p.firmwareSkipped
        }
        #expect(skipped(device { $0.ota = false }) == "no OTA partition table (flash an OTA build over USB once)")
        #expect(skipped(device { $0.chip = "esp32s3" }) == "the image is for esp32, the board is esp32s3")
        #expect(skipped(device { $0.slot = 1_000_000 }) == "the image (1500000 bytes) is larger than its OTA slot (1000000 bytes)")
        #expect(skipped(device { $0.rejected = goodSHA }) == "it rolled this image back before")
        #expect(skipped(device(micropython: "1.27.0")) == "a downgrade (MicroPython 1.27.0 to 1.26.0)")
        #expect(skipped(device(micropython: "1.21.0"))?.hasPrefix("it crosses the LittleFS 2.1 line (1.21.0 to 1.26.0)") == true)
        #expect(skipped(device(micropython: "1.22.0"), release([image(micropython: "1.21.0")]))?.hasPrefix("a downgrade") == true)
        #expect(skipped(device { $0.rollback = false })?.hasPrefix("its bootloader does not roll back a failed firmware") == true)
        // Allowed when published so; unknown (not learned yet) is allowed.
        #expect(plan(device { $0.rollback = false }, release(withoutRollback: true)) == .success(UpdatePlan(step: .firmware, image: image())))
        #expect(plan(device { $0.rollback = nil }) == .success(UpdatePlan(step: .firmware, image: image())))
        // An agent before 0.4.0 reports nothing of its firmware.
        let old = DeviceFacts(id: "d", sequence: 4, board: "ESP32_GENERIC-OTA", micropython: "1.24.1", format: 2, agent: "0.3.0")
        #expect(skipped(old) == "the agent on it cannot update firmware (agent 0.3.0)")
        // The same image, rebuilt at the same version, is not a downgrade.
        #expect(plan(device(micropython: "1.26.0")) == .success(UpdatePlan(step: .firmware, image: image())))
    }

    @Test func filesThatNeedTheFirmwareWaitForIt() {
        let needs = release(micropython: "1.26")
        #expect(plan(device(), needs) == .success(UpdatePlan(step: .firmware, image: image())))
        #expect(plan(device { $0.ota = false }, needs)
            == .failure(Unfit("needs MicroPython 1.26 (runs 1.24.1); cannot take its firmware: no OTA partition table (flash an OTA build over USB once)")))
        #expect(plan(device { $0.build = "ESP32_GENERIC" }, needs)
            == .failure(Unfit("needs MicroPython 1.26 (runs 1.24.1); the release has no firmware for ESP32_GENERIC")))
        // A release whose files its own firmware cannot run is refused outright.
        #expect(plan(device(), release(micropython: "1.27")) == .failure(Unfit("needs MicroPython 1.27 (runs 1.26.0) with its firmware 1.26.0")))
    }

    @Test func theMpyVersionOfCompiledFilesIsChecked() {
        var d = device { $0.sha256 = goodSHA }
        #expect(plan(d, release(mpy: 6)) == .success(.files))
        d.mpy = 2821 & ~0xff | 5  // a firmware that loads .mpy version 5
        #expect(plan(d, release(mpy: 6)) == .failure(Unfit("needs .mpy version 6 (its firmware loads 5)")))
        // No mpy reported: what its MicroPython version loads.
        d.mpy = nil
        d.micropython = "1.18.0"
        #expect(plan(d, release(mpy: 6)) == .failure(Unfit("needs .mpy version 6 (its firmware loads 5)")))
    }

    @Test func aFirmwareOnTrialGetsNothing() {
        let d = device { $0.onTrial = true }
        let decision = ReleaseSelection.decide(for: d, releases: [release()], rollouts: [], now: now)
        #expect(decision == CheckInDecision(offer: nil, reason: .firmwareOnTrial))
        #expect(decision.reason.code == "firmware-on-trial")
    }

    @Test func theDecisionCarriesTheStepAndSaysIt() {
        let decision = ReleaseSelection.decide(for: device(), releases: [release()], rollouts: [], now: now)
        #expect(decision.offer == ReleaseOffer(sequence: 5, format: 2, plan: UpdatePlan(step: .firmware, image: image())))
        #expect(decision.why == "offered 2.0.0, the newest release of the channel: firmware first (ESP32_GENERIC-OTA, MicroPython 1.26.0)")
        let alone = ReleaseSelection.decide(for: device { $0.ota = false }, releases: [release()], rollouts: [], now: now)
        #expect(alone.offer?.plan.step == .files)
        #expect(alone.why.hasSuffix("its files alone, not its firmware (no OTA partition table (flash an OTA build over USB once))"))
        let unfit = ReleaseSelection.decide(for: device { $0.ota = false }, releases: [release(micropython: "1.26")], rollouts: [], now: now)
        #expect(unfit.offer == nil)
        #expect(unfit.reason.description.hasPrefix("2.0.0 does not fit it: needs MicroPython 1.26 (runs 1.24.1); cannot take its firmware"))
    }
}

@Suite struct FirmwareManifestTests {
    private func manifest(_ firmware: [FirmwareImage]?, compat: Compatibility = Compatibility()) -> ReleaseManifest {
        ReleaseManifest(
            version: try! SemanticVersion(parsing: "2.0.0"), sequence: 5, channel: "stable", created: "2026-12-07T12:00:00Z", compat: compat,
            files: [FileEntry(path: "main.py", sha256: goodSHA, size: 10)], firmware: firmware)
    }

    @Test func firmwareIsSignedInSortedCanonicalForm() throws {
        let m = manifest([image("ESP32_GENERIC_S3", chip: "esp32s3"), image()], compat: Compatibility(boards: ["*"], mpy: 6))
        try m.validate()
        let text = m.canonicalJSON()
        #expect(text.contains(#""compat":{"boards":["*"],"mpy":6}"#))
        #expect(text.contains(
            #""firmware":[{"build":"ESP32_GENERIC-OTA","chip":"esp32","micropython":"1.26.0","mpy":6,"sha256":"\#(goodSHA)","size":1500000},"#
                + #"{"build":"ESP32_GENERIC_S3","#))
        #expect(text.range(of: #""files""#)!.lowerBound < text.range(of: #""firmware""#)!.lowerBound)
        let parsed = try ManifestHeader.parse(canonical: text)
        #expect(parsed.firmware == m.firmware)
        #expect(parsed.compat.mpy == 6)
        // Format 1 says neither.
        let legacy = try m.legacyCanonicalJSON()
        #expect(!legacy.contains("firmware") && !legacy.contains("mpy"))
    }

    @Test func badFirmwareListsAreRefusedInOneLine() {
        func refusal(_ images: [FirmwareImage]) -> String? {
            do { try FirmwareImage.validate(images) } catch { return error.message }
            return nil
        }
        #expect(refusal([]) == "firmware lists 1-8 images, got 0 (leave it out for a release without firmware)")
        #expect(refusal([image(), image()]) == "firmware lists build ESP32_GENERIC-OTA twice")
        #expect(refusal([image("B"), image("A")]) == "firmware is not sorted by build (B before A)")
        #expect(refusal([image("bad name")])?.hasPrefix("firmware build must be 1-48 of") == true)
        #expect(refusal([image(chip: "esp8266")])?.hasPrefix("firmware ESP32_GENERIC-OTA: chip must be one of") == true)
        #expect(refusal([image(micropython: "1.26")])?.contains("must be a version X.Y.Z") == true)
        #expect(refusal([image(micropython: "1.26.0-preview")])?.contains("must be a version X.Y.Z") == true)
        #expect(refusal([image(sha: "XYZ")]) == "firmware ESP32_GENERIC-OTA: sha256 must be 64 lowercase hex characters")
        #expect(refusal([image(size: 100)])?.contains("size must be between 256") == true)
        #expect(refusal((0..<9).map { image("B\($0)") })?.hasPrefix("firmware lists 1-8 images, got 9") == true)
        #expect(refusal([image()]) == nil)
    }

    @Test func aLegacyEnvelopeStillDescribesTheSameRelease() throws {
        let key = ReleasePrivateKey.generate()
        let m = manifest([image()], compat: Compatibility(boards: ["*"], micropython: "1.21", mpy: 6))
        let publication = ReleasePublication(
            try SignedRelease(signing: m, with: [key]), legacy: try SignedRelease(signingLegacy: m, with: [key]))
        let release = try publication.parsedRelease(fileList: Array(m.fileList.utf8))
        #expect(release.firmware == [image()])
    }
}
