import AloftCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a program as a direct child in this process's own process group.
///
/// Deliberately not `Foundation.Process`: the simulator's contract is that killing the group of
/// `aloft sim run` kills the device too (a power cut), so the child must not get a group of its own.
public enum ChildProcess {
    public enum Outcome: Equatable, Sendable {
        case exited(Int32)
        case signalled(Int32)
        case timedOut
    }

    /// Starts `executable` with `arguments`, inheriting stdio (or with stdout and stderr appended to the file `output`),
    /// in `directory` (else this process's), and waits until it ends or `deadline` passes (then it is killed with SIGKILL).
    /// Relative paths in `arguments` are the child's to resolve, in `directory`.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], deadline: ContinuousClock.Instant? = nil,
        output: String? = nil, directory: String? = nil
    ) throws(AloftError) -> Outcome {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let here = FileManager.default.currentDirectoryPath
        let executable = executable.hasPrefix("/") ? executable : here + "/" + executable
        let output = output.map { $0.hasPrefix("/") ? $0 : here + "/" + $0 }
        let argv = [executable] + arguments
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let output {
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        if let directory {
            // glibc 2.29+, musl and macOS 10.15+ have it; Swift's Glibc module does not show it. RTLD_DEFAULT is
            // ((void *) 0) in glibc and musl, ((void *) -2) in macOS.
            #if canImport(Darwin)
            let everywhere = UnsafeMutableRawPointer(bitPattern: -2)
            #else
            let everywhere: UnsafeMutableRawPointer? = nil
            #endif
            typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
            guard let symbol = dlsym(everywhere, "posix_spawn_file_actions_addchdir_np") else {
                throw AloftError("cannot start \(executable) in \(directory): this C library has no posix_spawn_file_actions_addchdir_np")
            }
            _ = unsafeBitCast(symbol, to: AddChdir.self)(&actions, directory)
        }
        let rc = posix_spawn(&pid, executable, &actions, nil, cArgs, cEnv)
        guard rc == 0 else {
            throw AloftError("cannot start \(executable)\(directory.map { " in \($0)" } ?? ""): \(String(cString: strerror(rc)))")
        }
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, deadline == nil ? 0 : WNOHANG)
            if r == pid { break }
            if r < 0 {
                if errno == EINTR { continue }
                throw AloftError("waiting for \(executable) failed: \(String(cString: strerror(errno)))")
            }
            if let deadline, ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return .timedOut
            }
            usleep(20_000)
        }
        // WIFEXITED / WEXITSTATUS are macros Swift cannot import.
        if status & 0x7f == 0 { return .exited((status >> 8) & 0xff) }
        return .signalled(status & 0x7f)
    }
}
