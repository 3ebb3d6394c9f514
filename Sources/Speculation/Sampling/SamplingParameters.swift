/// How the next token is chosen from logits.
///
/// Processing order (as in Hugging Face transformers): temperature, then top-k, then top-p
/// (nucleus), then min-p, then a draw from what is left. Temperature 0 is greedy (argmax).
public struct SamplingParameters: Sendable, Equatable, Codable {
    /// Softmax temperature; 0 means greedy.
    public var temperature: Float = 0
    /// Keep only the k most likely tokens (0 = off).
    public var topK: Int = 0
    /// Keep the smallest set of tokens whose probability mass reaches p (1 = off).
    public var topP: Float = 1
    /// Drop tokens whose probability is below minP times the top probability (0 = off).
    public var minP: Float = 0
    /// Seed of the random generator (the same seed gives the same output).
    public var seed: UInt64 = 0

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.seed = seed
    }

    /// True when sampling reduces to argmax.
    public var isGreedy: Bool { temperature <= 0 || topK == 1 }

    /// Throws a message naming the first out-of-range parameter.
    public func validate() throws {
        guard temperature >= 0, temperature.isFinite else { throw SamplingError.invalidParameter("temperature must be >= 0, got \(temperature)") }
        guard topK >= 0 else { throw SamplingError.invalidParameter("top-k must be >= 0, got \(topK)") }
        guard topP > 0, topP <= 1 else { throw SamplingError.invalidParameter("top-p must be in (0, 1], got \(topP)") }
        guard minP >= 0, minP < 1 else { throw SamplingError.invalidParameter("min-p must be in [0, 1), got \(minP)") }
    }
}

/// An out-of-range sampling parameter.
public enum SamplingError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(String)

    public var description: String {
        switch self {
        case .invalidParameter(let s): return "invalid sampling parameter: \(s)"
        }
    }
}
