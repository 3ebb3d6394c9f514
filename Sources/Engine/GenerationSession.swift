/// Plain, speculative or R-Stitch generation behind one interface: what `generate`, `chat` and each
/// server slot run. The session keeps its model's cache between requests (prefix reuse).
public enum GenerationSession: Sendable {
    /// One target forward per token.
    case plain(Generator)
    /// Draft and verify (``SpeculativeGenerator``).
    case speculative(SpeculativeGenerator)
    /// Entropy-routed small/large model decoding (``RStitchGenerator``).
    case rstitch(RStitchGenerator)

    /// Generates a continuation of `prompt`; `onText` receives complete UTF-8 text and returns false to stop.
    public func generate(prompt: [Int32], options: GenerationOptions, onText: (String) -> Bool) throws -> GenerationResult {
        switch self {
        case .plain(let g): return try g.generate(prompt: prompt, options: options, onText: onText)
        case .speculative(let g): return try g.generate(prompt: prompt, options: options, onText: onText)
        case .rstitch(let g): return try g.generate(prompt: prompt, options: options, onText: onText)
        }
    }

    /// Forgets the cached conversation.
    public func reset() {
        switch self {
        case .plain(let g): g.reset()
        case .speculative(let g): g.reset()
        case .rstitch(let g): g.reset()
        }
    }
}
