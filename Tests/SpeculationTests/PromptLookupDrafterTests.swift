import XCTest
import SpecDecSpeculation

final class PromptLookupDrafterTests: XCTestCase {
    private let greedy = SamplingParameters()

    func testTheLongestMatchingNgramWinsOverAMoreRecentShorterOne() throws {
        let drafter = try PromptLookupDrafter(minNgram: 1, maxNgram: 3)
        //                 0  1  2  3  4  5  6  7  8  9
        let context: [Int32] = [1, 2, 3, 40, 41, 9, 3, 50, 2, 3]
        // [2, 3] occurs at 1 (followed by 40, 41); [3] alone also occurs later at 6 (followed by 50).
        let draft = try drafter.draft(context: context, maxTokens: 2, sampling: greedy)
        XCTAssertEqual(draft.tokens, [40, 41])
        XCTAssertNil(draft.distributions)
    }

    func testTheMostRecentOccurrenceOfTheNgramWins() throws {
        let drafter = try PromptLookupDrafter(minNgram: 2, maxNgram: 2)
        let context: [Int32] = [5, 6, 10, 11, 5, 6, 20, 21, 5, 6]
        XCTAssertEqual(try drafter.draft(context: context, maxTokens: 3, sampling: greedy).tokens, [20, 21, 5])
    }

    func testTheDraftStopsAtMaxTokensAndAtTheEndOfTheContext() throws {
        let drafter = try PromptLookupDrafter(minNgram: 1, maxNgram: 4)
        let context: [Int32] = [7, 8, 9, 7]
        XCTAssertEqual(try drafter.draft(context: context, maxTokens: 10, sampling: greedy).tokens, [8, 9, 7])
        XCTAssertEqual(try drafter.draft(context: context, maxTokens: 1, sampling: greedy).tokens, [8])
        XCTAssertEqual(try drafter.draft(context: context, maxTokens: 0, sampling: greedy).tokens, [])
    }

    func testNoMatchOrATooShortContextDraftsNothing() throws {
        let drafter = try PromptLookupDrafter()
        XCTAssertEqual(try drafter.draft(context: [1, 2, 3, 4, 5], maxTokens: 4, sampling: greedy).tokens, [])
        XCTAssertEqual(try drafter.draft(context: [1], maxTokens: 4, sampling: greedy).tokens, [])
        XCTAssertEqual(try drafter.draft(context: [], maxTokens: 4, sampling: greedy).tokens, [])
        // A unigram match is ignored when the minimum is 2.
        XCTAssertEqual(try drafter.draft(context: [1, 2, 3, 1], maxTokens: 4, sampling: greedy).tokens, [])
    }

    func testOverlappingRepetitionIsContinued() throws {
        let drafter = try PromptLookupDrafter(minNgram: 2, maxNgram: 3)
        XCTAssertEqual(try drafter.draft(context: [4, 4, 4, 4], maxTokens: 5, sampling: greedy).tokens, [4])
        XCTAssertEqual(try drafter.draft(context: [1, 2, 1, 2, 1, 2], maxTokens: 5, sampling: greedy).tokens, [1, 2])
    }

    func testInvalidNgramBoundsAreRejected() {
        XCTAssertThrowsError(try PromptLookupDrafter(minNgram: 0)) { error in
            guard case SpeculationError.invalidParameter = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try PromptLookupDrafter(minNgram: 3, maxNgram: 2))
    }
}
