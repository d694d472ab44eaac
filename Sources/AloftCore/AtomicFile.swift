#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that readers see either nothing or the whole file: temp file, fsync, then rename(2).
///
/// Never `FileManager.replaceItemAt`: on Linux Foundation it deletes the original first.
public enum AtomicFile {
    /// Writes `bytes` to `path`. With `overwrite: false` an existing file is left alone and this throws.
    public static func write(_ bytes: some Collection<UInt8>, to path: String, mode: mode_t = 0o644, overwrite: Bool = true) throws(AloftError) {
        let temp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw AloftError("cannot write \(path): \(errorText())") }
        var failure: String? = nil
        let buffer = Array(bytes)
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errorText()
                    return
                }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = errorText() }
        close(fd)
        // open() applies the umask; the mode asked for is the mode wanted (keys need 0600 exactly).
        if failure == nil, chmod(temp, mode) != 0 { failure = errorText() }
        if failure == nil {
            if overwrite {
                if rename(temp, path) != 0 { failure = errorText() }
            } else if link(temp, path) != 0 {
                // link(2) refuses to replace an existing name, which is exactly "never overwrite".
                failure = errno == EEXIST ? "it already exists" : errorText()
            }
        }
        if failure != nil || !overwrite { unlink(temp) }
        if let failure { throw AloftError("cannot write \(path): \(failure)") }
    }

    static func errorText() -> String {
        String(cString: strerror(errno))
    }
}
