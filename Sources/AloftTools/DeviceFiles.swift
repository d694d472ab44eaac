import AloftCore
import Foundation

/// The device files this build of `aloft` ships, compiled into the binary by the EmbedDevice plugin: the agent
/// (`aloft/`), its boot stage (`boot.py`) and the simulator (`sim/`), as in the repository's `device/` folder.
public enum DeviceFiles {
    /// Path below `device/` → bytes.
    public static var all: [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for (path, base64) in EmbeddedDeviceFiles.files {
            out[path] = Array(Data(base64Encoded: base64) ?? Data())
        }
        return out
    }

    /// The version of the agent this build ships (its `aloft/__init__.py` `VERSION`), which is also `aloft --version`:
    /// the binary and the agent it hands out are released together, so they carry one version.
    public static var agentVersion: String? {
        guard let base64 = EmbeddedDeviceFiles.files.first(where: { $0.path == "aloft/__init__.py" })?.base64,
              let data = Data(base64Encoded: base64)
        else { return nil }
        return AgentPackage.version(ofInit: String(decoding: data, as: UTF8.self))
    }

    /// A digest of every path and byte, naming this set of files.
    static var digest: String {
        var text = ""
        for (path, base64) in EmbeddedDeviceFiles.files { text += path + "\n" + base64 + "\n" }
        return String(Digest.sha256Hex(Array(text.utf8)).prefix(16))
    }

    /// The files in a folder of their own, a `device/` folder like the repository's: written once per build into the
    /// user's cache (`$XDG_CACHE_HOME` or `~/.cache`, else the temporary folder), into a temporary folder first and then
    /// renamed, so a half-written copy is never used.
    public static func unpacked() throws(AloftError) -> URL {
        let env = ProcessInfo.processInfo.environment
        let fm = FileManager.default
        var base = fm.temporaryDirectory
        if let cache = env["XDG_CACHE_HOME"], !cache.isEmpty { base = URL(fileURLWithPath: cache) } else if let home = env["HOME"], !home.isEmpty {
            base = URL(fileURLWithPath: home).appendingPathComponent(".cache")
        }
        let dir = base.appendingPathComponent("aloft/device-\(digest)")
        if fm.fileExists(atPath: dir.appendingPathComponent("aloft/__init__.py").path) { return dir }
        let tmp = base.appendingPathComponent("aloft/.device-\(digest)-\(UUID().uuidString)")
        do {
            for (path, bytes) in all {
                let file = tmp.appendingPathComponent(path)
                try fm.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(bytes).write(to: file)
            }
            do { try fm.moveItem(at: tmp, to: dir) } catch {
                try? fm.removeItem(at: tmp)  // another aloft unpacked it meanwhile
                guard fm.fileExists(atPath: dir.appendingPathComponent("aloft/__init__.py").path) else { throw error }
            }
        } catch {
            throw AloftError("cannot unpack the device files into \(base.path)/aloft: \(error.localizedDescription)")
        }
        return dir
    }
}
