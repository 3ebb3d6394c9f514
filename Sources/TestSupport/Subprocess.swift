import Foundation

/// Runs a program to completion for tests that drive the built binaries or a Python tool.
///
/// ```swift
/// let r = try Subprocess.run("/usr/bin/python3", ["-c", "print(1)"])
/// XCTAssertEqual(r.status, 0, r.stderr)
/// ```
public enum Subprocess {
    /// Exit status and what the program wrote.
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        /// Empty when `mergeStderr` was set (stderr went to ``stdout``).
        public var stderr: String
    }

    /// Runs `executable` with `args`; `environment` (nil: this process's) and `directory` as given.
    /// With `mergeStderr`, both streams are read as one, in the order they were written.
    public static func run(_ executable: String, _ args: [String], environment: [String: String]? = nil,
                           directory: URL? = nil, mergeStderr: Bool = false) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        if let environment { p.environment = environment }
        if let directory { p.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = mergeStderr ? out : err
        try p.run()
        // Read stderr beside stdout so that neither pipe fills up and blocks the program.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let group = DispatchGroup()
        if !mergeStderr {
            group.enter()
            DispatchQueue.global().async {
                errBox.data = err.fileHandleForReading.readDataToEndOfFile()
                group.leave()
            }
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: errBox.data, as: UTF8.self))
    }
}
