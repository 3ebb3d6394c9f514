import Foundation
import XCTest
import SpecDecTestSupport

/// The real server binary on loopback with a real model, driven by the real `openai` Python package,
/// schemathesis and a soak (`tools/serve/e2e.py`). Needs the release binary, `smollm2-135m` in the
/// model cache and a Python with `openai` and `schemathesis` (`.ci/run` makes `.build/serve-venv`);
/// skips, saying which is missing, otherwise.
final class ServeEndToEndTests: XCTestCase {
    private var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    func testOpenAIClientSchemathesisAndSoakAgainstTheRealServer() throws {
        #if DEBUG
        throw XCTSkip("the end-to-end server check runs against the release binary (swift test -c release)")
        #else
        let binary = root.appendingPathComponent(".build/release/specdec").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("no release binary at \(binary)") }
        let env = ProcessInfo.processInfo.environment
        let models = env["SPECDEC_MODELS"] ?? (NSHomeDirectory() + "/.cache/specdec/models")
        guard FileManager.default.fileExists(atPath: models + "/smollm2-135m.gguf") else {
            throw XCTSkip("smollm2-135m is not in \(models): `specdec pull smollm2-135m` to run the server end-to-end check")
        }
        let venv = root.appendingPathComponent(".build/serve-venv/bin/python").path
        let python = env["SPECDEC_PYTHON"] ?? (FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3")
        let probe = try run(python, ["-c", "import openai, schemathesis"])
        guard probe.status == 0 else {
            throw XCTSkip("\(python) lacks openai/schemathesis (.ci/run installs them into .build/serve-venv)")
        }
        let soak = env["SPECDEC_SERVE_SOAK"] ?? "300"
        let r = try run(python, [root.appendingPathComponent("tools/serve/e2e.py").path, "--binary", binary, "--model", "smollm2-135m",
                                 "--soak", soak])
        print(r.output)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("ok: SIGTERM"), r.output)
        #endif
    }

    private func run(_ executable: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let r = try Subprocess.run(executable, args, directory: root, mergeStderr: true)
        return (r.status, r.stdout)
    }
}
