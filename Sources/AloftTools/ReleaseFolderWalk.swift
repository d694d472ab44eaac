import AloftCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A kind of file that tools leave in a folder and that is never code for the device: a release never carries it,
/// whatever the folder's `.aloftignore` says.
public struct ReleaseJunk: Sendable, Equatable {
    /// The pattern, in gitignore syntax (``IgnoreRules``): it matches a name at any depth, a file or a folder.
    public let pattern: String
    /// What such a file is, for `--dry-run`.
    public let what: String

    /// Every kind of junk: the one list publishing consults.
    public static let all: [ReleaseJunk] = [
        ReleaseJunk(pattern: "__pycache__", what: "Python bytecode cache"),
        ReleaseJunk(pattern: "*.pyc", what: "CPython bytecode"),
        ReleaseJunk(pattern: "*~", what: "editor backup"),
        ReleaseJunk(pattern: "\\#*#", what: "Emacs auto-save file"),
        ReleaseJunk(pattern: ".#*", what: "Emacs lock file"),
        ReleaseJunk(pattern: "*.swp", what: "Vim swap file"),
        ReleaseJunk(pattern: "*.swo", what: "Vim swap file"),
        ReleaseJunk(pattern: "*.bak", what: "backup"),
        ReleaseJunk(pattern: "*.orig", what: "merge leftover"),
        ReleaseJunk(pattern: "*.rej", what: "rejected patch hunk"),
        ReleaseJunk(pattern: ".DS_Store", what: "macOS Finder metadata"),
        ReleaseJunk(pattern: "Thumbs.db", what: "Windows thumbnail cache"),
        ReleaseJunk(pattern: "desktop.ini", what: "Windows folder settings"),
    ]

    /// ``all`` as rules: line n is `all[n - 1]`.
    private static let rules = IgnoreRules(parsing: all.map(\.pattern).joined(separator: "\n"))

    /// The junk `path` is (its last segment decides), if any.
    public static func kind(of path: String, isDirectory: Bool) -> ReleaseJunk? {
        rules.lastMatch(path, isDirectory: isDirectory).map { all[$0.line - 1] }
    }

    /// The pattern as people write it (`#*#`, not the escaped `\#*#`).
    public var shownPattern: String { pattern.hasPrefix("\\") ? String(pattern.dropFirst()) : pattern }
}

/// The walk of a release folder: the files `aloft release publish` takes, where each one's bytes come from, and what it
/// leaves out and why. It reads names, link targets and `.aloftignore`; ``ReleaseFolder`` reads the files themselves.
///
/// - Junk (``ReleaseJunk``) and hidden names (a segment starting with `.`, so `.git` and `.aloftignore` itself) are
///   always left out; then what the `.aloftignore` at the top of the folder says (``IgnoreRules``). A folder left out is
///   not looked into. All of these apply to the path a file lands at: a link's own path, not its target's; a link to a
///   folder counts as a folder.
/// - A symbolic link whose target, resolved fully (through chains of links, relative or absolute), is inside the folder
///   is published as its target: a file's bytes at the link's path, a folder's files below the link's path. A link out
///   of the folder, a dangling one, and one that leads back into a folder the walk is in (a loop) are refused with an
///   error naming the link, unless the rules above leave it out first.
public struct ReleaseFolderWalk: Sendable {
    /// A file to publish.
    public struct Found: Sendable, Equatable {
        /// Where it lands on the device, e.g. `lib/util.py`.
        public let path: String
        /// Where its bytes are read: the file itself, or the file a link leads to.
        public let url: URL
        /// The folder it was found in, as walked from the root (links by their own names): for messages.
        public let folder: URL
    }

    /// A file or folder left out.
    public struct Skipped: Sendable, Equatable {
        public enum Reason: Sendable, Equatable, CustomStringConvertible {
            case junk(ReleaseJunk)
            case hidden
            case ignored(IgnoreRules.Rule)

            public var description: String {
                switch self {
                case .junk(let junk): "junk: \(junk.what) (\(junk.shownPattern))"
                case .hidden: "hidden"
                case .ignored(let rule): "ignored by \(ReleaseFolderWalk.ignoreFileName) line \(rule.line): \(rule.text)"
                }
            }
        }

        /// Its path in the folder, e.g. `lib/tests`.
        public let path: String
        public let isDirectory: Bool
        public let reason: Reason
    }

    /// The rules file read at the top of a release folder.
    public static let ignoreFileName = ".aloftignore"

    public let root: URL
    /// The folder's `.aloftignore`, or no rules when it has none.
    public let rules: IgnoreRules
    /// The files to publish, sorted by path (bytewise).
    public private(set) var files: [Found] = []
    /// What was left out, sorted by path (bytewise). Nothing below a skipped folder is listed.
    public private(set) var skipped: [Skipped] = []

    /// Walks `root`, which must be a folder; throws on a refused link, an unreadable folder or an unreadable `.aloftignore`.
    public init(root: URL) throws(AloftError) {
        guard case .resolved(let realRoot) = Self.resolve(root.path) else { throw AloftError("release folder not found: \(root.path)") }
        self.root = root
        rules = try Self.readRules(in: root)
        try walk(root, shown: root, real: realRoot, prefix: "", within: [realRoot], realRoot: realRoot)
        files.sort { Self.precedes($0.path, $1.path) }
        skipped.sort { Self.precedes($0.path, $1.path) }
    }

    private static func readRules(in root: URL) throws(AloftError) -> IgnoreRules {
        let url = root.appendingPathComponent(ignoreFileName)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return IgnoreRules(parsing: "") }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: url.path) else {
            throw AloftError("cannot read \(url.path)")
        }
        return IgnoreRules(parsing: String(decoding: data, as: UTF8.self))
    }

    /// Why `path` is left out, if it is: junk, then hidden, then the folder's rules.
    private func skipReason(_ path: String, isDirectory: Bool) -> Skipped.Reason? {
        if let junk = ReleaseJunk.kind(of: path, isDirectory: isDirectory) { return .junk(junk) }
        if path.split(separator: "/").last?.hasPrefix(".") == true { return .hidden }
        return rules.exclusion(of: path, isDirectory: isDirectory).map { .ignored($0) }
    }

    /// One folder: `folder` is where its names are read, `shown` the same folder as walked from the root, `real` its
    /// real path, `within` the real paths of the folders the walk is in (for loops through links).
    private mutating func walk(
        _ folder: URL, shown: URL, real: String, prefix: String, within: [String], realRoot: String
    ) throws(AloftError) {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
            throw AloftError("cannot read folder \(shown.path)")
        }
        // Sorted, so a folder with two refused links always names the same one.
        for name in names.sorted(by: Self.precedes) {
            let path = prefix.isEmpty ? name : prefix + "/" + name
            let url = folder.appendingPathComponent(name)
            let entry = Self.entry(url, path: path, real: Self.join(real, name), within: within, realRoot: realRoot)
            if let reason = skipReason(path, isDirectory: entry.isDirectory) {
                skipped.append(Skipped(path: path, isDirectory: entry.isDirectory, reason: reason))
                continue
            }
            switch entry {
            case .file(let source):
                files.append(Found(path: path, url: source, folder: shown))
            case .folder(let source, let sourceReal):
                try walk(source, shown: shown.appendingPathComponent(name), real: sourceReal, prefix: path, within: within + [sourceReal],
                         realRoot: realRoot)
            case .refused(let message, _):
                throw AloftError(message)
            }
        }
    }

    /// What one name of a folder is, links followed.
    private enum Entry {
        case file(URL)
        case folder(URL, real: String)
        case refused(String, isDirectory: Bool)

        var isDirectory: Bool {
            switch self {
            case .file: false
            case .folder: true
            case .refused(_, let isDirectory): isDirectory
            }
        }
    }

    /// `url` is the name as walked, `real` its real path if it is not a link itself.
    private static func entry(_ url: URL, path: String, real: String, within: [String], realRoot: String) -> Entry {
        let type = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.type] as? FileAttributeType
        switch type {
        case .typeRegular?: return .file(url)
        case .typeDirectory?: return .folder(url, real: real)
        case .typeSymbolicLink?: break
        default: return .refused("cannot publish \(path): not a regular file, folder or symbolic link", isDirectory: false)
        }
        let destination = (try? FileManager.default.destinationOfSymbolicLink(atPath: url.path)) ?? "?"
        let link = "\(path) is a symbolic link to \(destination)"
        let target: String
        switch resolve(url.path) {
        case .resolved(let resolved): target = resolved
        case .missing: return .refused("\(link), which does not exist", isDirectory: false)
        case .loop: return .refused("\(link), which leads back to itself (a loop of links)", isDirectory: false)
        case .failed(let why): return .refused("cannot follow the symbolic link \(path) (to \(destination)): \(why)", isDirectory: false)
        }
        let targetType = (try? FileManager.default.attributesOfItem(atPath: target))?[.type] as? FileAttributeType
        let isDirectory = targetType == .typeDirectory
        guard isInside(target, realRoot) else {
            let resolvedNote = destination == target ? "" : " (\(target))"
            return .refused("\(link)\(resolvedNote), outside the release folder", isDirectory: isDirectory)
        }
        switch targetType {
        case .typeRegular?: return .file(URL(fileURLWithPath: target))
        case .typeDirectory?:
            // Walking a folder that holds one the walk is already in would come back here for ever.
            if within.contains(where: { isInside($0, target) }) {
                return .refused("\(link), which leads back into a folder it is in (a loop)", isDirectory: true)
            }
            return .folder(URL(fileURLWithPath: target), real: target)
        default: return .refused("\(link), which is not a regular file or folder", isDirectory: false)
        }
    }

    private enum Resolution: Equatable {
        case resolved(String)
        case missing
        case loop
        case failed(String)
    }

    /// realpath(3): every link on the way followed, relative or absolute; the kernel detects chains that loop.
    private static func resolve(_ path: String) -> Resolution {
        guard let pointer = realpath(path, nil) else {
            let code = errno
            switch code {
            case ENOENT: return .missing
            case ELOOP: return .loop
            default: return .failed(String(cString: strerror(code)))
            }
        }
        defer { free(pointer) }
        return .resolved(String(cString: pointer))
    }

    /// Whether the real path `path` is `folder` or below it.
    static func isInside(_ path: String, _ folder: String) -> Bool {
        folder == "/" || path == folder || path.hasPrefix(folder + "/")
    }

    private static func join(_ folder: String, _ name: String) -> String {
        folder == "/" ? "/" + name : folder + "/" + name
    }

    static func precedes(_ a: String, _ b: String) -> Bool {
        Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
    }
}

extension ReleaseFolder {
    /// What `aloft release publish --dry-run` prints: a `publish` line for every file (path, size, SHA-256 prefix), a
    /// `skip` line for everything left out with why, then a total line.
    public var dryRunReport: [String] {
        let width = (files.map(\.entry.path.count) + skipped.map { $0.path.count + ($0.isDirectory ? 1 : 0) }).max() ?? 0
        let sizeWidth = files.map { String($0.entry.size).count }.max() ?? 0
        func pad(_ text: String, _ count: Int) -> String { text + String(repeating: " ", count: max(0, count - text.count)) }
        var lines = files.map { file in
            let size = String(file.entry.size)
            return "publish  \(pad(file.entry.path, width))  \(String(repeating: " ", count: sizeWidth - size.count))\(size) bytes  "
                + "sha256 \(file.entry.sha256.prefix(12))"
        }
        lines += skipped.map { "skip     \(pad($0.path + ($0.isDirectory ? "/" : ""), width))  \($0.reason)" }
        lines += firmware.map { f in
            "firmware \(f.image.build): \(f.url.lastPathComponent), \(f.image.size) bytes, \(f.image.chip), MicroPython \(f.image.micropython), "
                + "sha256 \(f.image.sha256.prefix(12))"
        }
        let bytes = files.reduce(0) { $0 + $1.entry.size }
        lines.append("total: \(files.count) file\(files.count == 1 ? "" : "s"), \(bytes) bytes would be published; \(skipped.count) skipped")
        return lines
    }
}
