import Foundation

/// What a device's failure with a release says about trying again.
public enum FailureKind: String, Sendable, Equatable, CaseIterable {
    /// It failed for lack of free flash: the same release fails the same way until the device has more free flash.
    case noFlash = "no-flash"
    /// It fails the same way at every attempt: the release, the board or the device's configuration is what refuses.
    case lasting
    /// Another attempt may succeed: the network, the server, a state of the device that passes.
    case passing

    /// Lasting kinds are not offered again until something changes; passing ones back off.
    public var isLasting: Bool { self != .passing }

    /// As people read it: `lasting (no flash)`, `lasting`, `passing`.
    public var label: String {
        switch self {
        case .noFlash: "lasting (no flash)"
        case .lasting: "lasting"
        case .passing: "passing"
        }
    }
}

/// The kind of every failure an agent reports, from the `reason` of its `failed` event: the agents (0.2.0 on) send
/// nothing else, so the text is classified.
///
/// ``rules`` holds every reason the agent's source (device/aloft/*.py) can produce, as the format string it is written
/// with there (`%d`, `%s`, `%r`: any value), and ``exceptionRules`` the texts the agent composes from an exception's
/// class (`core.reason`). A test reads the agent's files and fails for a reason that is not in the table, so a new one
/// is classified when it is written. Text no rule matches is ``FailureKind/passing``: retried, with backoff, which
/// costs a download now and then where calling it lasting could keep a device from a release for good.
public enum FailureReasons {
    /// One reason the agent reports, its kind, and why it has that kind.
    public struct Rule: Sendable, Equatable {
        /// The reason as the agent's source writes it: a Python format string, or its literal parts with `%s` between.
        public var pattern: String
        public var kind: FailureKind
        public var why: String

        init(_ pattern: String, _ kind: FailureKind, _ why: String) {
            self.pattern = pattern
            self.kind = kind
            self.why = why
        }
    }

    // Why each rule has its kind; one sentence per family of reasons.
    static let flash = "the files do not fit the free flash; the same release needs the same space until something frees some"
    static let signed = "what the signed release says (manifest, file list, signatures, firmware image): the same bytes at every attempt"
    static let board = "what the board is (chip, partitions, bootloader, MicroPython, firmware it ran or refused): it does not change by itself"
    static let configured = "the device's configuration (keys, CA, server URL): it changes only when someone provisions it again"
    static let inTheWay = "files on the device that no release installed stand where the release puts files: someone has to move them"
    static let ram = "the agent's stages or a file's inflater need more RAM than the device has free while its application runs"
    static let network = "the network, a proxy or the server's answer: another attempt may get through"
    static let damaged = "the agent's own pack on the device is damaged: every attempt fails the same way until it is provisioned again"
    static let passes = "a state of the device that passes (an install or a firmware trial under way) or a fault of one attempt"

    /// Every reason of the agent's source, most specific first: the first rule whose pattern matches the whole text wins.
    public static let rules: [Rule] = [
        // Flash (plan.py, verify.py, transfer.py)
        Rule("insufficient storage: need %d bytes, %d free", .noFlash, flash),
        Rule("insufficient storage: flash full while writing %s", .noFlash, flash),
        Rule("insufficient storage: flash full", .noFlash, flash),
        // RAM (update.py, transfer.py)
        Rule("no RAM to load the %s stage (%s)", .lasting, ram),
        Rule("no RAM to inflate %s, and the server sends it packed unasked", .lasting, ram),
        // The release as signed (verify.py, signature.py, manifest.py, optional.py, compat.py, listing.py, paths.py, blob.py)
        Rule("sequence %d is not above installed %d", .lasting, signed),
        Rule("expired at %s", .lasting, signed),
        Rule("incompatible: %s", .lasting, board),
        Rule("the release has no firmware for build %s", .lasting, signed),
        Rule("malformed release envelope", .lasting, signed),
        Rule("signed by %d trusted key(s), %d needed", .lasting, signed),
        Rule("manifest is not JSON", .lasting, signed),
        Rule("unsupported manifest format", .lasting, signed),
        Rule("expires %s is not after created %s", .lasting, signed),
        Rule("file list has more than the %d lines files.count says", .lasting, signed),
        Rule("files not sorted by path or not unique at %s", .lasting, signed),
        Rule("path %s is both a file and a folder", .lasting, signed),
        Rule("file list has %d lines, files.count says %d", .lasting, signed),
        Rule("a release that carries the agent must carry all of it: lib/aloft/__init__.py is missing", .lasting, signed),
        Rule("a release carries at most %d agent files", .lasting, signed),
        Rule("%s: not <sha256> <size> <path>", .lasting, signed),
        Rule("%s: bad sha256", .lasting, signed),
        Rule("%s: bad size", .lasting, signed),
        Rule("bad path %r: %s", .lasting, signed),
        Rule("%s is empty but its sha256 is not that of no bytes", .lasting, signed),
        Rule("answer too large", .lasting, signed),
        // The firmware image and the board (flash.py, switch.py, fwimage.py)
        Rule("no OTA partition table: this board cannot take a firmware update", .lasting, board),
        Rule("not an ESP app image (magic 0x%02x)", .lasting, signed),
        Rule("not an app image: no app descriptor at 0x20 (a full flash image? publish the .app-bin)", .lasting, signed),
        Rule("image is for chip id %d, this board is %d", .lasting, board),
        Rule("image has %d segments", .lasting, signed),
        Rule("image carries no SHA-256 (hash_appended is 0)", .lasting, signed),
        Rule("image runs past its slot", .lasting, board),
        Rule("no slot to update into besides the running one", .lasting, board),
        Rule("the image is for %s, this board is %s", .lasting, board),
        Rule("the image (%d bytes) is larger than the slot %s (%d bytes)", .lasting, board),
        Rule("the image in %s is %d bytes long, the release says %d", .lasting, signed),
        Rule("this board runs that firmware already", .lasting, board),
        Rule("this board rolled that firmware back before", .lasting, board),
        Rule("a downgrade (MicroPython %d.%d.%d to %s)", .lasting, board),
        Rule("the LittleFS 2.1 line lies between MicroPython %d.%d.%d and %s (a rollback could not mount the files)", .lasting, board),
        Rule("set_boot() refused the firmware: %s", .lasting, board),
        Rule("an install is under way", .passing, passes),
        Rule("the running firmware is on trial", .passing, passes),
        Rule("after set_boot() the boot slot is %s, not %s", .passing, passes),
        Rule("the firmware read back from %s does not hash right", .passing, passes),
        Rule("otadata does not say the firmware is valid after mark_app_valid_cancel_rollback()", .passing, passes),
        // Files in the way (dirs.py, put.py, folders.py)
        Rule("folder %s holds files no release installed; it is in the way of the file %s", .lasting, inTheWay),
        Rule("folder %s holds files no release installed; it is in the way of a new file", .lasting, inTheWay),
        Rule("file %s is in the way of %s", .lasting, inTheWay),
        Rule("more than %d folders are in the way of new files", .lasting, inTheWay),
        Rule("the agent is not in %s (frozen into the firmware?): a release cannot replace it", .lasting, inTheWay),
        // The agent's own code (aloft/__init__.py, the pack's file system)
        Rule("damaged agent pack %s: %s", .lasting, damaged),
        // Configuration (config.py, signature.py, tls.py, net.py)
        Rule("no %s: the device is not provisioned", .lasting, configured),
        Rule("config.json has no %s", .lasting, configured),
        Rule("config.json has a bad key %r: not 64 hex characters", .lasting, configured),
        Rule("bad threshold %r for %d key(s)", .lasting, configured),
        Rule("this firmware has no ssl module; use an http:// server", .lasting, configured),
        Rule("config.json's ca is not a PEM certificate", .lasting, configured),
        Rule("config.json's ca is not a usable certificate (%s)", .lasting, configured),
        Rule("unsupported server URL %s", .lasting, configured),
        // The network and the server (http.py, reply.py, stream.py, transfer.py, api.py, blob.py, tls.py, enroll.py).
        // A 4xx for a blob, or a size the manifest contradicts, is the server's state, which an operator mends on the
        // server without the device changing: backing off finds the mended server. A blob that does not hash right was
        // hashed by the server when it was uploaded: the bytes broke on their way.
        Rule("server too slow: answer not complete in time", .passing, network),
        Rule("bad status line %r", .passing, network),
        Rule("connection closed in headers", .passing, network),
        Rule("too many header lines", .passing, network),
        Rule("connection closed after %d of %d bytes of %s", .passing, network),
        Rule("connection closed after %d of %d bytes", .passing, network),
        Rule("%s too slow: %d of %d bytes in time", .passing, network),
        Rule("%s inflates to more than %d bytes", .passing, network),
        Rule("range refused for %s", .passing, network),
        Rule("HTTP %d for %s", .passing, network),
        Rule("HTTP %d from %s: %s", .passing, network),
        Rule("server sends %d bytes for %s, manifest says %d", .passing, network),
        Rule("download of %s failed: connection closed inside the zlib stream", .passing, network),
        Rule("download of %s failed: %s", .passing, network),
        Rule("sha256 mismatch for %s", .passing, network),
        Rule("file list does not match files.sha256", .passing, network),
        Rule("TLS with %s failed (server certificate checked against config.json's ca): %s", .passing, network),
        Rule("enrollment as %s failed: malformed answer", .passing, network),
        Rule("enrollment as %s failed: %s", .passing, network),
        // The install (install.py, apply.py, ops.py): the undo put the old release back; the next attempt fetches again.
        Rule("install failed: %s", .passing, passes),
        Rule("staged file for %s is missing", .passing, passes),
        Rule("the journal's ops are missing", .passing, passes),
        // Not a failure: `deferred` (verify.py), which the server does not remember.
        Rule("battery %d%% is below %d%%", .passing, passes),
        // Manifest fields (manifest.py, optional.py, compat.py): after every other reason that starts with "bad ".
        Rule("bad version", .lasting, signed),
        Rule("bad channel", .lasting, signed),
        Rule("bad created time", .lasting, signed),
        Rule("bad files", .lasting, signed),
        Rule("bad files.sha256", .lasting, signed),
        Rule("bad expires time", .lasting, signed),
        Rule("bad trust", .lasting, signed),
        Rule("bad trust.keys: not sorted, distinct, 64 lowercase hex", .lasting, signed),
        Rule("bad trust.keys: two share a key id", .lasting, signed),
        Rule("bad trust.threshold", .lasting, signed),
        Rule("bad firmware", .lasting, signed),
        Rule("bad firmware build (or not sorted, distinct)", .lasting, signed),
        Rule("bad firmware %s sha256", .lasting, signed),
        Rule("bad firmware %s %s", .lasting, signed),
        Rule("bad firmware %s", .lasting, signed),
        Rule("bad compat.boards", .lasting, signed),
        Rule("bad compat.micropython", .lasting, signed),
        Rule("bad compat.mpy", .lasting, signed),
        Rule("bad %s", .lasting, signed),
    ]

    /// Reasons the agent composes from an exception's class (`core.reason`: `MemoryError: memory allocation failed, …`).
    /// Other classes (`TypeError`, `KeyError`) are bugs of the agent; they stay unknown, so passing.
    public static let exceptionRules: [Rule] = [
        Rule("MemoryError: %s", .lasting, ram),
        Rule("MemoryError", .lasting, ram),
    ]

    /// The agent cuts a reason to this many characters (events.py, outbox.py); a text this long may be a cut one.
    public static let agentReasonCharacters = 512

    /// The rule for `reason`, or nil when none matches (then it is passing).
    public static func rule(for reason: String) -> Rule? {
        let text = Array(reason.unicodeScalars)
        let cut = text.count >= agentReasonCharacters
        return (rules + exceptionRules).first { rule in Pattern(rule.pattern).matches(text, cut: cut) }
    }

    /// The kind of a failure from its reason; unknown or missing text is passing.
    public static func kind(of reason: String?) -> FailureKind {
        reason.flatMap(rule(for:))?.kind ?? .passing
    }

    /// A format string as parts: literal text, and the values `%…` stands for.
    struct Pattern {
        enum Part: Equatable {
            case text([Unicode.Scalar])
            /// `%d`: an integer.
            case integer
            /// `%02x`: hex digits.
            case hex
            /// `%s`, `%r`: anything, possibly empty.
            case any
        }

        var parts: [Part] = []

        init(_ format: String) {
            var literal: [Unicode.Scalar] = []
            var scalars = Array(format.unicodeScalars)[...]
            func flush() {
                if !literal.isEmpty { parts.append(.text(literal)) }
                literal = []
            }
            while let c = scalars.popFirst() {
                guard c == "%", let next = scalars.first else {
                    literal.append(c)
                    continue
                }
                if next == "%" {
                    literal.append("%")
                    scalars.removeFirst()
                    continue
                }
                // flags and width, then the conversion
                while let f = scalars.first, "0123456789-+ #.".unicodeScalars.contains(f) { scalars.removeFirst() }
                let conversion = scalars.popFirst()
                flush()
                switch conversion {
                case "d", "i", "u": parts.append(.integer)
                case "x", "X": parts.append(.hex)
                default: parts.append(.any)
                }
            }
            flush()
        }

        /// Whether `text` is this pattern with values in place of its `%…`, whole; with `cut`, a beginning of one.
        func matches(_ text: [Unicode.Scalar], cut: Bool) -> Bool {
            match(parts[...], text[...], cut: cut)
        }

        /// A text cut inside a literal part matches when what is left of it begins that part; one cut inside a value
        /// does not (the parts after it are unseen): it stays unknown.
        private func match(_ parts: ArraySlice<Part>, _ text: ArraySlice<Unicode.Scalar>, cut: Bool) -> Bool {
            guard let part = parts.first else { return text.isEmpty }
            let rest = parts.dropFirst()
            switch part {
            case .text(let literal):
                if text.starts(with: literal) { return match(rest, text.dropFirst(literal.count), cut: cut) }
                return cut && !text.isEmpty && literal.starts(with: text)
            case .integer, .hex:
                let digit: (Unicode.Scalar) -> Bool =
                    part == .integer ? { ("0"..."9").contains($0) } : { ("0"..."9").contains($0) || ("a"..."f").contains($0) || ("A"..."F").contains($0) }
                var count = part == .integer && text.first == "-" ? 1 : 0
                while count < text.count, digit(text[text.startIndex + count]) { count += 1 }
                for taken in stride(from: count, through: 1, by: -1) where match(rest, text.dropFirst(taken), cut: cut) { return true }
                return false
            case .any:
                for taken in 0...text.count where match(rest, text.dropFirst(taken), cut: cut) { return true }
                return false
            }
        }
    }
}
