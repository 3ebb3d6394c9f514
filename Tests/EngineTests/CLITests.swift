import Foundation
import XCTest
import SpecDecGGUF
import SpecDecKernels
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

    func run(_ args: [String], environment extra: [String: String] = [:]) throws -> Output {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw XCTSkip("the specdec binary is not built at \(Self.binary)")
        }
        var env = ProcessInfo.processInfo.environment
        env["SPECDEC_MODELS"] = "/nonexistent-specdec-cache"
        env.removeValue(forKey: "SPECDEC_KERNELS")
        env.merge(extra) { $1 }
        let r = try Subprocess.run(Self.binary, args, environment: env)
        return Output(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    private func tinyPath() throws -> String {
        var spec = TinyModel.Spec(architecture: "qwen2")
        spec.weightScale = 3
        return try TinyModel.write(spec)
    }

    func testSpeedJSONHasTheDocumentedFieldsAndPhasesCanBeChosen() throws {
        let path = try tinyPath()
        let r = try run(["speed", "--model", path, "--threads", "2", "--repetitions", "1", "--decode-tokens", "4",
                         "--prefill-tokens", "8", "--batch-sizes", "1,3", "--bandwidth-probe-mib", "16", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(obj["threads"] as? Int, 2)
        XCTAssertNotNil(obj["model"] as? String)
        XCTAssertEqual(obj["kernels"] as? String, KernelSet.best.rawValue)
        XCTAssertFalse((obj["cpu"] as? String ?? "").isEmpty)
        XCTAssertGreaterThan(obj["decode_tokens_per_second"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(obj["prefill_tokens_per_second"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(obj["peak_rss_bytes"] as? Int ?? 0, 0)
        let batch = try XCTUnwrap(obj["batch"] as? [[String: Any]])
        XCTAssertEqual(batch.map { $0["size"] as? Int }, [1, 3])
        XCTAssertEqual(batch.first?["ratio"] as? Double, 1.0)
        XCTAssertGreaterThan(batch.last?["seconds"] as? Double ?? 0, 0)
        // three probes (before decoding, before the batched forwards, at the end) and their median
        let probes = try XCTUnwrap(obj["memory_bandwidth_probes_gb_per_second"] as? [Double])
        XCTAssertEqual(probes.count, 3)
        XCTAssertTrue(probes.allSatisfy { $0 > 0 && $0.isFinite }, "\(probes)")
        XCTAssertEqual(obj["memory_bandwidth_gb_per_second"] as? Double, probes.sorted()[1])
        let bytes = try XCTUnwrap(obj["matrix_bytes_per_token"] as? Int)
        XCTAssertGreaterThan(bytes, 0)
        let decode = try XCTUnwrap(obj["decode_tokens_per_second"] as? Double)
        let used = try XCTUnwrap(obj["decode_gb_per_second"] as? Double)
        XCTAssertEqual(used, Double(bytes) * decode / 1e9, accuracy: 1e-9 * max(1, used))
        XCTAssertEqual(obj["decode_bandwidth_fraction"] as? Double ?? -1, used / probes.sorted()[1], accuracy: 1e-9)

        XCTAssertNil(obj["breakdown"], "the breakdown only with --breakdown")

        let parts = try run(["speed", "--model", path, "--repetitions", "2", "--decode-tokens", "0", "--prefill-tokens", "0",
                             "--batch-sizes", "1,4", "--bandwidth-probe-mib", "0", "--breakdown", "--format", "json"])
        XCTAssertEqual(parts.status, 0, parts.stderr)
        let p = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(parts.stdout.utf8)) as? [String: Any])
        let rows = try XCTUnwrap(p["breakdown"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["size"] as? Int }, [1, 4])
        for row in rows {
            let byPart = try XCTUnwrap(row["parts"] as? [String: Double])
            XCTAssertEqual(Set(byPart.keys), ["attention_projections", "attention", "attention_output", "feed_forward_up",
                                              "activation", "feed_forward_down", "output_layer", "other"])
            XCTAssertGreaterThan(byPart["output_layer"] ?? 0, 0)
            XCTAssertTrue(byPart.values.allSatisfy { $0 >= 0 && $0.isFinite })
        }
        let text = try run(["speed", "--model", path, "--repetitions", "1", "--decode-tokens", "0", "--prefill-tokens", "0",
                            "--batch-sizes", "2", "--bandwidth-probe-mib", "0", "--breakdown"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("| feed_forward_down |"), text.stdout)

        let skipped = try run(["speed", "--model", path, "--repetitions", "1", "--decode-tokens", "0", "--prefill-tokens", "0",
                               "--batch-sizes", "2", "--bandwidth-probe-mib", "0", "--format", "json"])
        XCTAssertEqual(skipped.status, 0, skipped.stderr)
        let s = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(skipped.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(s["decode_tokens_per_second"] as? Double, 0)
        XCTAssertEqual(s["memory_bandwidth_probes_gb_per_second"] as? [Double], [], "the probe is skipped with 0 MiB")
        XCTAssertEqual(s["decode_bandwidth_fraction"] as? Double, 0)

        for bad in ["0", "1,,2", "x", "1,1000"] {
            let e = try run(["speed", "--model", path, "--batch-sizes", bad])
            XCTAssertNotEqual(e.status, 0, bad)
            XCTAssertTrue(e.stderr.contains("--batch-sizes"), e.stderr)
        }
        let badProbe = try run(["speed", "--model", path, "--bandwidth-probe-mib", "-1"])
        XCTAssertNotEqual(badProbe.status, 0)
        XCTAssertTrue(badProbe.stderr.contains("--bandwidth-probe-mib"), badProbe.stderr)
    }

    func testTheBandwidthProbeBufferIsNotCountedInPeakRSS() throws {
        let path = try tinyPath()
        func peak(probeMiB: Int) throws -> (Int, [Double]) {
            let r = try run(["speed", "--model", path, "--repetitions", "1", "--decode-tokens", "2", "--prefill-tokens", "4",
                             "--batch-sizes", "1", "--bandwidth-probe-mib", "\(probeMiB)", "--format", "json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            return (obj["peak_rss_bytes"] as? Int ?? 0, obj["memory_bandwidth_probes_gb_per_second"] as? [Double] ?? [])
        }
        let (without, _) = try peak(probeMiB: 0)
        let (with, probes) = try peak(probeMiB: 192)
        // Where the kernel refuses to reset the high-water mark the probe is skipped instead.
        XCTAssertTrue(probes.count == 3 || probes.isEmpty, "\(probes)")
        XCTAssertLessThan(with - without, 32 << 20, "peak RSS \(without) without the probe, \(with) with a 192 MiB probe")
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

    func testEveryKernelSetTheCPURunsCanBeForcedAndIsNamed() throws {
        let path = try tinyPath()
        for k in KernelSet.supported {
            let r = try run(["generate", "--model", path, "--prompt", "the cat", "--max-tokens", "3", "--format", "json"],
                            environment: ["SPECDEC_KERNELS": k.rawValue])
            XCTAssertEqual(r.status, 0, r.stderr)
            let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            XCTAssertEqual(obj?["kernels"] as? String, k.rawValue)
            // the slow reference path says so, once; the vector sets say nothing
            let notes = r.stderr.components(separatedBy: "portable Swift kernels").count - 1
            XCTAssertEqual(notes, k == .portable ? 1 : 0, r.stderr)
        }
    }

    func testAKernelSetThatCannotRunIsAnErrorBeforeLoading() throws {
        var refused = ["neon": "unknown kernel set"]
        for k in KernelSet.allCases where !k.isSupported { refused[k.rawValue] = "does not support the \(k.rawValue) kernels" }
        for (name, message) in refused {
            for command in [["generate", "--model", "/nonexistent.gguf", "--prompt", "x"], ["speed", "--model", "/nonexistent.gguf"]] {
                let r = try run(command, environment: ["SPECDEC_KERNELS": name])
                XCTAssertEqual(r.status, 1, "\(name) \(command[0])")
                XCTAssertTrue(r.stderr.contains(message), r.stderr)
                XCTAssertTrue(r.stderr.hasPrefix("error: SPECDEC_KERNELS="), r.stderr)
            }
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
        let hybrid = try run(["generate", "--model", "x", "--prompt", "hi", "--drafter", "hybrid"])
        XCTAssertNotEqual(hybrid.status, 0)
        XCTAssertTrue(hybrid.stderr.contains("--draft-model"), hybrid.stderr)
        for bad in ["1.5", "-0.1"] {
            let p = try run(["generate", "--model", "x", "--draft-model", "y", "--prompt", "hi", "--draft-p-min", bad])
            XCTAssertNotEqual(p.status, 0, bad)
            XCTAssertTrue(p.stderr.contains("--draft-p-min"), p.stderr)
        }
    }

    func testBadTreeCostModelAndPolicyOptionsAreRejectedBeforeLoading() throws {
        for (args, needle) in [(["--draft-max", "lots"], "--draft-max"), (["--draft-max", "0"], "--draft-max"),
                               (["--cost-model", "maybe"], "--cost-model"), (["--draft-policy", "vibes"], "--draft-policy"),
                               (["--draft-policy", "p-min"], "--draft-p-min"), (["--tree-width", "0"], "--tree-width"),
                               (["--tree-nodes", "0"], "--tree-nodes")] {
            let r = try run(["generate", "--model", "x", "--draft-model", "y", "--prompt", "hi"] + args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.stderr.contains(needle), "\(args): \(r.stderr)")
        }
    }

    func testBadRouterAndConfidenceOptionsAreRejectedBeforeLoading() throws {
        for (args, needle) in [(["--router", "rstitch"], "--draft-model"), (["--router", "magic", "--draft-model", "y"], "--router"),
                               (["--rstitch-slm-entropy", "0.1"], "--router rstitch"),
                               (["--router", "rstitch", "--draft-model", "y", "--rstitch-llm-share", "2"], "share"),
                               (["--router", "rstitch", "--draft-model", "y", "--rstitch-llm-share", "0.3", "--rstitch-slm-entropy", "0.1"],
                                "not both"),
                               (["--router", "rstitch", "--draft-model", "y", "--rstitch-slm-entropy=-1"], "threshold"),
                               (["--router", "rstitch", "--draft-model", "y", "--drafter", "lookup"], "--drafter"),
                               (["--verifier", "confidence", "--drafter", "lookup", "--confidence-tolerance=-1"], "--confidence-tolerance")] {
            let r = try run(["generate", "--model", "x", "--prompt", "hi"] + args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.stderr.contains(needle), "\(args): \(r.stderr)")
        }
    }

    /// `--router rstitch` with an infinite SLM threshold is the small model alone, and with 0 the large
    /// one, token for token; the JSON says who wrote what.
    func testRStitchLimitsAreEachModelAloneThroughTheCLI() throws {
        let large = try tinyPath()
        var spec = TinyModel.Spec(architecture: "qwen2")
        spec.weightScale = 3
        spec.seed = 2
        let small = try TinyModel.write(spec, name: "tiny-small")
        func tokens(_ args: [String]) throws -> ([Int], [String: Any]) {
            let r = try run(["generate", "--prompt", "the cat", "--max-tokens", "12", "--format", "json", "--threads", "1"] + args)
            XCTAssertEqual(r.status, 0, r.stderr)
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            return (obj["tokens"] as? [Int] ?? [], obj)
        }
        let (plainSmall, _) = try tokens(["--model", small])
        let (plainLarge, _) = try tokens(["--model", large])
        XCTAssertNotEqual(plainSmall, plainLarge)
        let (slmAlone, obj) = try tokens(["--model", large, "--draft-model", small, "--router", "rstitch", "--rstitch-slm-entropy", "inf"])
        XCTAssertEqual(slmAlone, plainSmall)
        let routing = try XCTUnwrap(obj["routing"] as? [String: Any])
        XCTAssertEqual(routing["slm_tokens"] as? Int, slmAlone.count)
        XCTAssertEqual(routing["llm_tokens"] as? Int, 0)
        let (llmAlone, _) = try tokens(["--model", large, "--draft-model", small, "--router", "rstitch", "--rstitch-slm-entropy", "0"])
        XCTAssertEqual(llmAlone, plainLarge)
    }

    func testBadDrafterSpellingsAreRejectedBeforeLoading() throws {
        for (args, needle) in [(["--drafter", "chain:bogus"], "chain step"), (["--drafter", "magic"], "unknown drafter"),
                               (["--drafter", "cross-vocab"], "--draft-model"), (["--drafter", "self", "--draft-vocab", "0"], "--draft-vocab")] {
            let r = try run(["generate", "--model", "x", "--prompt", "hi"] + args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.stderr.contains(needle), "\(args): \(r.stderr)")
        }
    }

    /// calibrate-vocab and calibrate-skip write their files, and generate reads them with
    /// --draft-vocab and --drafter self:skip=, giving the plain greedy tokens.
    func testCalibrationFilesAreWrittenAndUsedByGenerate() throws {
        let path = try tinyPath()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dataset = root.appendingPathComponent("Data/specbench/question.jsonl").path
        let dir = NSTemporaryDirectory() + "specdec-cli-cal-\(UUID().uuidString)"
        let env = ["SPECDEC_CALIBRATION": dir + "/cache"]
        let vocab = try run(["calibrate-vocab", "--model", path, "--dataset", dataset, "--prompts", "2", "--max-tokens", "6",
                             "--threads", "2", "--out", dir + "/v.json"], environment: env)
        XCTAssertEqual(vocab.status, 0, vocab.stderr)
        let ranking = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/v.json"))) as? [String: Any])
        XCTAssertFalse((ranking["ranked"] as? [Int] ?? []).isEmpty)
        XCTAssertGreaterThan(ranking["tokens_counted"] as? Int ?? 0, 0)
        let skip = try run(["calibrate-skip", "--model", path, "--dataset", dataset, "--prompts", "2", "--max-tokens", "8",
                            "--verify-cost", "1.2", "--budget", "6", "--threads", "2", "--out", dir + "/s.json"], environment: env)
        XCTAssertEqual(skip.status, 0, skip.stderr)
        XCTAssertTrue(skip.stderr.contains("estimated speedup"), skip.stderr)
        let common = ["generate", "--model", path, "--prompt-ids", "10,20,30,40,10,20,30", "--max-tokens", "16", "--format", "json",
                      "--threads", "2"]
        func tokens(_ extra: [String]) throws -> [Int] {
            let r = try run(common + extra, environment: env)
            XCTAssertEqual(r.status, 0, "\(extra): \(r.stderr)")
            return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["tokens"] as? [Int] ?? []
        }
        let plain = try tokens([])
        XCTAssertFalse(plain.isEmpty)
        XCTAssertEqual(try tokens(["--drafter", "model", "--draft-model", path, "--draft-vocab", dir + "/v.json:40"]), plain)
        XCTAssertEqual(try tokens(["--drafter", "self:skip=" + dir + "/s.json"]), plain)
        XCTAssertEqual(try tokens(["--drafter", "chain:lookup,self", "--draft-vocab", dir + "/v.json:40"]), plain)
        XCTAssertEqual(try tokens(["--drafter", "cross-vocab", "--draft-model", path]), plain)
    }
}
