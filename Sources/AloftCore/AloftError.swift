/// The one error type the core throws: a sentence a person can act on.
public struct AloftError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
