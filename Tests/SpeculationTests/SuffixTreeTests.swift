import XCTest
import SpecDecKernels
import SpecDecSpeculation

final class SuffixTreeTests: XCTestCase {
    private let greedy = SamplingParameters()

    /// Every substring of each document of at most `maxDepth` tokens, counted by brute force.
    private func bruteForceCounts(_ documents: [[Int32]], maxDepth: Int) -> [[Int32]: Int] {
        var counts: [[Int32]: Int] = [:]
        for doc in documents {
            for i in doc.indices {
                for n in 1...maxDepth where i + n <= doc.count { counts[Array(doc[i..<(i + n)]), default: 0] += 1 }
            }
        }
        return counts
    }

    private func randomTokens(_ n: Int, alphabet: UInt64, rng: inout SplitMix64) -> [Int32] {
        (0..<n).map { _ in Int32(rng.next() % alphabet) }
    }

    func testATreeHoldsEverySubstringUpToItsDepthWithItsCount() {
        var rng = SplitMix64(seed: 1)
        let documents = [randomTokens(60, alphabet: 4, rng: &rng), randomTokens(25, alphabet: 4, rng: &rng), [3, 3, 3, 3, 3]]
        for depth in [1, 2, 5] {
            var tree = SuffixTree(maxDepth: depth)
            for doc in documents { tree.insert(document: doc) }
            XCTAssertEqual(tree.allPaths(), bruteForceCounts(documents, maxDepth: depth), "depth \(depth)")
            XCTAssertEqual(tree.nodeCount, bruteForceCounts(documents, maxDepth: depth).count + 1)
            XCTAssertEqual(tree.count(of: []), 90)
        }
    }

    func testTheIncrementallyUpdatedRequestTreeEqualsATreeBuiltFromScratch() throws {
        var rng = SplitMix64(seed: 2)
        let drafter = try SuffixTreeDrafter(maxDepth: 6)
        let prompt = randomTokens(30, alphabet: 5, rng: &rng)
        try drafter.begin(prompt: prompt)
        var context = prompt
        for round in 0..<40 {
            // Draft, then commit a few tokens (some drafted, some not), as a decode loop does.
            let draft = try drafter.draft(context: context, maxTokens: 3, sampling: greedy)
            let accepted = Int(rng.next() % UInt64(draft.tokens.count + 1))
            context += draft.tokens.prefix(accepted) + [Int32(rng.next() % 5)]
            drafter.accepted(context: context, acceptedCount: accepted)
            if round % 10 == 9 {
                var scratch = SuffixTree(maxDepth: 6)
                scratch.insert(document: context)
                XCTAssertEqual(drafter.requestTree.allPaths(), scratch.allPaths(), "round \(round)")
                XCTAssertEqual(drafter.requestTree.allPaths(), bruteForceCounts([context], maxDepth: 6), "round \(round)")
            }
        }
        // A context that does not continue the tree's (a rollback) rebuilds it.
        let rewound = Array(context.prefix(50)) + [4, 4]
        drafter.accepted(context: rewound, acceptedCount: 0)
        XCTAssertEqual(drafter.requestTree.allPaths(), bruteForceCounts([rewound], maxDepth: 6))
    }

    func testTheDraftFollowsTheMostFrequentContinuation() throws {
        let drafter = try SuffixTreeDrafter(maxDepth: 8, minConfidence: 0.1)
        // After [1, 2]: 3 three times, 4 once; after [1, 2, 3]: 7 twice, 8 once.
        let context: [Int32] = [1, 2, 3, 7, 0, 1, 2, 4, 0, 1, 2, 3, 8, 0, 1, 2, 3, 7, 9, 1, 2]
        try drafter.begin(prompt: context)
        XCTAssertEqual(try drafter.draft(context: context, maxTokens: 2, sampling: greedy).tokens, [3, 7])
        XCTAssertNil(try drafter.draft(context: context, maxTokens: 2, sampling: greedy).distributions)
    }

    func testTheDraftStopsWhenTheContinuationIsNotConfident() throws {
        // After [9, 5]: five different tokens once each (share 1/5 each), then 9 always.
        let context: [Int32] = [5, 1, 9, 5, 2, 9, 5, 3, 9, 5, 4, 9, 5, 6, 9, 5, 7, 9, 5]
        let confident = try SuffixTreeDrafter(maxDepth: 4, minConfidence: 0.1)
        try confident.begin(prompt: context)
        XCTAssertEqual(try confident.draft(context: context, maxTokens: 2, sampling: greedy).tokens, [2, 9])
        let strict = try SuffixTreeDrafter(maxDepth: 4, minConfidence: 0.5)
        try strict.begin(prompt: context)
        XCTAssertEqual(try strict.draft(context: context, maxTokens: 2, sampling: greedy).tokens, [])
    }

    func testTheDraftContinuesPastTheTreeDepthByMatchingAgain() throws {
        let drafter = try SuffixTreeDrafter(maxDepth: 3)
        let context: [Int32] = [1, 2, 3, 4, 1, 2, 3, 4, 1, 2]
        try drafter.begin(prompt: context)
        XCTAssertEqual(try drafter.draft(context: context, maxTokens: 6, sampling: greedy).tokens, [3, 4, 1, 2, 3, 4])
    }

    func testTheGlobalTreeDraftsForALaterRequestAndTheLongerMatchWins() throws {
        let drafter = try SuffixTreeDrafter(maxDepth: 8)
        try drafter.begin(prompt: [1, 2, 3])
        drafter.end(context: [1, 2, 3, 10, 20, 30, 40])
        XCTAssertEqual(drafter.documents.count, 1)
        XCTAssertEqual(drafter.requestTree.nodeCount, 1)
        // The new request has seen [3, 10] followed by 99 itself, but the global tree matches [2, 3, 10].
        let prompt: [Int32] = [3, 10, 99, 5, 2, 3, 10]
        try drafter.begin(prompt: prompt)
        XCTAssertEqual(try drafter.draft(context: prompt, maxTokens: 3, sampling: greedy).tokens, [20, 30, 40])
        // With equal match lengths the request's own continuation wins.
        let tie: [Int32] = [3, 10, 99, 5, 3, 10]
        try drafter.begin(prompt: tie)
        XCTAssertEqual(try drafter.draft(context: tie, maxTokens: 1, sampling: greedy).tokens, [99])
    }

    func testTheGlobalTreeEvictsTheOldestDocumentsToStayWithinItsBound() throws {
        var rng = SplitMix64(seed: 9)
        let bound = 400
        let drafter = try SuffixTreeDrafter(maxDepth: 4, maxGlobalNodes: bound)
        var added: [[Int32]] = []
        for _ in 0..<30 {
            let doc = randomTokens(20, alphabet: 50, rng: &rng)
            added.append(doc)
            drafter.addDocument(doc)
            XCTAssertLessThanOrEqual(drafter.globalTree.nodeCount, bound)
        }
        XCTAssertGreaterThan(drafter.evictedDocuments, 0)
        XCTAssertEqual(drafter.documents.count + drafter.evictedDocuments, added.count)
        // The newest documents are kept, and the tree is exactly theirs.
        XCTAssertEqual(drafter.documents, Array(added.suffix(drafter.documents.count)))
        XCTAssertEqual(drafter.globalTree.allPaths(), bruteForceCounts(drafter.documents, maxDepth: 4))
        // A document larger than the bound on its own is not kept.
        drafter.addDocument(randomTokens(300, alphabet: 1000, rng: &rng))
        XCTAssertLessThanOrEqual(drafter.globalTree.nodeCount, bound)
    }

    func testInvalidSettingsAreRejected() {
        XCTAssertThrowsError(try SuffixTreeDrafter(maxDepth: 1))
        XCTAssertThrowsError(try SuffixTreeDrafter(maxGlobalNodes: -1))
        XCTAssertThrowsError(try SuffixTreeDrafter(minConfidence: 1.5))
    }
}
