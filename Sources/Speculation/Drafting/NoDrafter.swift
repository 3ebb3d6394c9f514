/// A drafter that never proposes anything: speculative decoding degenerates to plain decoding.
public final class NoDrafter: Drafter {
    public let name = "none"
    public init() {}
    public func begin(prompt: [Int32]) throws {}
    public func draft(context: [Int32], maxTokens: Int, sampling: SamplingParameters) throws -> Draft { .empty }
    public func accepted(context: [Int32], acceptedCount: Int) {}
    public func end(context: [Int32]) {}
}
