import Foundation
import XCTest
import SpecDecGGUF
import SpecDecTestSupport

/// Runs the built `specdec` binary as a user would.
final class CLITests: XCTestCase {
    static var binary: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        #if DEBUG
        let config = "debug"
        #else
        let config = "release"
        #endif
        return root.appendingPathComponent(".build/\(config)/specdec").path
    }

    struct Output { var status: Int32; var stdout: String; var stderr: String }

    func run(_ args: [String]) throws -> Output {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw XCTSkip("the specdec binary is not built at \(Self.binary)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["SPECDEC_MODELS"] = "/nonexistent-specdec-cache"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    private func tinyPath() throws -> String {
        var spec = TinyModel.Spec(architecture: "qwen2")
        spec.weightScale = 3
        return try TinyModel.write(spec)
    }

    func testGenerateJSONHasTheDocumentedFields() throws {
        let path = try tinyPath()
        let r = try run(["generate", "--model", path, "--prompt", "the cat", "--max-tokens", "5", "--format", "json", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let tokens = obj?["tokens"] as? [Int]
        XCTAssertNotNil(obj?["prompt_tokens"] as? [Int])
        XCTAssertNotNil(obj?["text"] as? String)
        XCTAssertLessThanOrEqual(tokens?.count ?? 99, 5)
        let stats = obj?["stats"] as? [String: Any]
        for key in ["prompt_tokens", "generated_tokens", "prefill_seconds", "decode_seconds", "tokens_per_second"] {
            XCTAssertNotNil(stats?[key], "stats.\(key)")
        }
    }

    func testTokenizePrintsAJSONArray() throws {
        let path = try tinyPath()
        let r = try run(["tokenize", "--model", path, "--text", "the cat"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let ids = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [Int]
        XCTAssertNotNil(ids)
        XCTAssertFalse(ids?.isEmpty ?? true)
    }

    func testAFileThatIsNotGGUFGivesAClearErrorAndStatusOne() throws {
        let path = TinyModel.temporaryPath(name: "garbage.gguf")
        try Data("this is not a model".utf8).write(to: URL(fileURLWithPath: path))
        let r = try run(["generate", "--model", path, "--prompt", "hi"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("not a GGUF file"), r.stderr)
    }

    func testAnUnknownModelNameListsTheKnownModels() throws {
        let r = try run(["generate", "--model", "no-such-model", "--prompt", "hi"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("qwen2.5-coder-1.5b"), r.stderr)
    }

    func testAPromptLongerThanTheContextIsRejected() throws {
        let path = try tinyPath()
        let r = try run(["generate", "--model", path, "--prompt", String(repeating: "the cat sat ", count: 40), "--context", "32"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("context"), r.stderr)
    }

    func testBadOptionsAreRejectedBeforeLoading() throws {
        let r = try run(["generate", "--model", "x", "--prompt", "hi", "--top-p", "0"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("top-p"), r.stderr)
    }
}
