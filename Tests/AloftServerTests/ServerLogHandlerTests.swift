import Logging
import Synchronization
import Testing

@testable import AloftServer

/// `aloft serve`'s log handler writes StreamLogHandler's lines, though it formats the logger's metadata only per line.
@Suite struct ServerLogHandlerTests {
    final class Lines: TextOutputStream, Sendable {
        private let text = Mutex("")
        func write(_ string: String) { text.withLock { $0 += string } }
        /// The lines written, each without its timestamp (up to the first space), which may tick between two handlers.
        var lines: [Substring] { text.withLock { $0 }.split(separator: "\n").map { $0.drop { $0 != " " } } }
    }

    /// The same calls through both handlers: metadata set on the logger (as Hummingbird sets a request's id), a line's own
    /// metadata winning over it, a level below the threshold.
    static func log(_ logger: inout Logger) {
        logger[metadataKey: "hb.request.id"] = "7"
        logger.debug("below the level")
        logger.info("served", metadata: ["status": "200", "hb.request.id": "8"])
        logger[metadataKey: "device"] = "kitchen"
        logger.warning("plain")
        logger[metadataKey: "hb.request.id"] = nil
        logger.error("after a removal")
    }

    @Test func writesTheLinesStreamLogHandlerWrites() {
        let ours = Lines(), theirs = Lines()
        var logger = Logger(label: "aloft.test") { ServerLogHandler(label: $0, level: .info, stream: ours) }
        var reference = Logger(label: "aloft.test") { label in
            var handler = StreamLogHandler(label: label, stream: theirs)
            handler.logLevel = .info
            return handler
        }
        Self.log(&logger)
        Self.log(&reference)
        #expect(ours.lines.count == 3)
        #expect(ours.lines == theirs.lines)
        #expect(ours.lines.first?.hasSuffix("info aloft.test: hb.request.id=8 status=200 [AloftServerTests] served") == true, "\(ours.lines)")
        #expect(ours.lines.last?.hasSuffix("error aloft.test: device=kitchen [AloftServerTests] after a removal") == true, "\(ours.lines)")
    }
}
