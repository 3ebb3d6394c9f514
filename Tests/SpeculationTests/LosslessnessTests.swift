import XCTest
import SpecDecModel
import SpecDecSpeculation
import SpecDecTestSupport

/// Greedy speculative decoding must reproduce plain greedy decoding token for token, whatever the
/// drafter, the draft length and the architecture.
final class LosslessnessTests: XCTestCase {
    static let architectures = ["llama", "qwen2", "gemma3"]
    static let draftLengths = [1, 2, 4, 8]
    /// Repetitive, so that model-free drafters find matches.
    static let prompt: [Int32] = [10, 20, 30, 40, 50, 10, 20, 30, 40, 50, 10, 20, 30]
    static let newTokens = 40
    static let targetSeed: UInt64 = 3
    static let targetScale: Float = 0.5

    private func target(_ arch: String) throws -> Transformer {
        try Tiny.model(arch, seed: Self.targetSeed, weightScale: Self.targetScale)
    }

    /// Runs every draft length with both lossless verifiers (speculative sampling with greedy
    /// parameters must reduce to greedy) and returns the summed stats.
    @discardableResult
    private func assertMatchesPlainGreedy(_ arch: String, _ label: String, requests: Int = 1,
                                          makeDrafter: (Transformer) throws -> Drafter,
                                          file: StaticString = #filePath, line: UInt = #line) throws -> SpeculationStats {
        let target = try target(arch)
        let reference = try Tiny.greedy(target, prompt: Self.prompt, count: Self.newTokens)
        var total = SpeculationStats()
        for k in Self.draftLengths {
            for verifier in [GreedyVerifier() as any Verifier, SpeculativeSamplingVerifier()] {
                let decoder = try SpeculativeDecoder(target: target, drafter: try makeDrafter(target), verifier: verifier,
                                                     sampling: SamplingParameters(), draftLength: k)
                for request in 0..<requests {
                    let output = try decoder.generate(prompt: Self.prompt, maxNewTokens: Self.newTokens)
                    XCTAssertEqual(output, reference, "\(label) on \(arch), k = \(k), \(verifier.name), request \(request)",
                                   file: file, line: line)
                    XCTAssertGreaterThan(decoder.stats.drafted, 0, "\(label) on \(arch), k = \(k) drafted nothing", file: file, line: line)
                    XCTAssertLessThanOrEqual(decoder.stats.drafted, decoder.stats.draftSteps * k, file: file, line: line)
                    total.merge(decoder.stats)
                }
            }
        }
        return total
    }

    func testDraftModelSpeculationEqualsPlainGreedyForEveryArchitectureAndDraftLength() throws {
        for arch in Self.architectures {
            // Another random model: mostly rejected drafts.
            let other = try assertMatchesPlainGreedy(arch, "other-seed draft") { target in
                try DraftModelDrafter(draft: Tiny.model(arch, seed: 99, weightScale: Self.targetScale) {
                    $0.dim = 32; $0.heads = 2; $0.kvHeads = 1; $0.ffn = 64; $0.layers = 1
                }, target: target)
            }
            // The same weights scaled down: the argmax often but not always agrees.
            let rescaled = try assertMatchesPlainGreedy(arch, "rescaled draft") { target in
                try DraftModelDrafter(draft: Tiny.model(arch, seed: Self.targetSeed, weightScale: Self.targetScale * 0.8), target: target)
            }
            XCTAssertLessThan(other.acceptanceRate, 0.5, arch)
            XCTAssertGreaterThan(rescaled.accepted, 0, arch)
            XCTAssertLessThan(rescaled.accepted, rescaled.drafted, arch)
            print("[\(arch)] other-seed draft:", other.acceptanceRate, "rescaled draft:", rescaled.acceptanceRate)
        }
    }

    func testTheTargetAsItsOwnDraftAcceptsEveryDraftTokenAndEqualsPlainGreedy() throws {
        for arch in Self.architectures {
            let stats = try assertMatchesPlainGreedy(arch, "self draft") { _ in
                try DraftModelDrafter(draft: self.target(arch), targetVocabularySize: ByteVocabulary.size)
            }
            XCTAssertEqual(stats.accepted, stats.drafted, arch)
        }
    }

    func testPromptLookupSpeculationEqualsPlainGreedyForEveryArchitectureAndDraftLength() throws {
        for arch in Self.architectures {
            let stats = try assertMatchesPlainGreedy(arch, "prompt lookup") { _ in try PromptLookupDrafter(minNgram: 1, maxNgram: 3) }
            print("[\(arch)] prompt lookup:", stats.acceptanceRate, stats.meanAccepted)
            XCTAssertGreaterThan(stats.accepted, 0, arch)
        }
    }

    func testSuffixTreeSpeculationEqualsPlainGreedyForEveryArchitectureAndDraftLengthAcrossRequests() throws {
        for arch in Self.architectures {
            // The second request drafts from the global tree holding the first one.
            let stats = try assertMatchesPlainGreedy(arch, "suffix tree", requests: 2) { _ in try SuffixTreeDrafter(maxDepth: 16) }
            print("[\(arch)] suffix tree:", stats.acceptanceRate, stats.meanAccepted)
            XCTAssertGreaterThan(stats.accepted, 0, arch)
        }
    }
}
