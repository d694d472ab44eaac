/// Where a ``FluentFleetStore`` keeps its tables.
public enum FleetDatabase: Sendable, Equatable, CustomStringConvertible {
    /// An SQLite file, created when missing.
    case sqlite(path: String)
    /// A private SQLite database that disappears with the store; for tests.
    case sqliteMemory
    /// A PostgreSQL server, e.g. `postgres://user:pass@host:5432/aloft`.
    case postgres(url: String)

    /// Reads the command-line form: a `postgres://` or `postgresql://` URL, `:memory:`, or an SQLite file path
    /// (optionally written `sqlite:PATH`).
    public init(argument: String) {
        if argument.hasPrefix("postgres://") || argument.hasPrefix("postgresql://") {
            self = .postgres(url: argument)
        } else if argument == ":memory:" {
            self = .sqliteMemory
        } else if argument.hasPrefix("sqlite:") {
            self = .sqlite(path: String(argument.dropFirst("sqlite:".count)))
        } else {
            self = .sqlite(path: argument)
        }
    }

    /// Safe to log: a PostgreSQL password is replaced by `***`.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .sqliteMemory: return "sqlite::memory:"
        case .postgres(let url):
            guard let schemeEnd = url.range(of: "://"), let at = url[schemeEnd.upperBound...].lastIndex(of: "@") else { return url }
            let userInfo = url[schemeEnd.upperBound..<at]
            guard let colon = userInfo.firstIndex(of: ":") else { return url }
            return String(url[..<colon]) + ":***" + String(url[at...])
        }
    }
}
