import Logging

/// `StreamLogHandler`'s lines on standard error, without its cost on every metadata change.
///
/// Hummingbird gives every request a logger with its own `hb.request.id`; `StreamLogHandler` formats its whole metadata
/// each time one is set, so a request that logs nothing paid for a line it never wrote (a fiftieth of a check-in).
/// This handler keeps the metadata as it is and hands it to a `StreamLogHandler` only when a line is written.
public struct ServerLogHandler: LogHandler {
    private var lines: StreamLogHandler
    public var metadata: Logger.Metadata = [:]

    public init(label: String, level: Logger.Level) {
        self.init(lines: StreamLogHandler.standardError(label: label), level: level)
    }

    /// Lines to `stream` instead of standard error (tests).
    init(label: String, level: Logger.Level, stream: any TextOutputStream & Sendable) {
        self.init(lines: StreamLogHandler(label: label, stream: stream), level: level)
    }

    private init(lines: StreamLogHandler, level: Logger.Level) {
        self.lines = lines
        self.lines.logLevel = level
    }

    public var logLevel: Logger.Level {
        get { lines.logLevel }
        set { lines.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { lines.metadataProvider }
        set { lines.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            // What the line itself carries wins over the logger's, as in StreamLogHandler.
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        lines.log(event: event)
    }
}
