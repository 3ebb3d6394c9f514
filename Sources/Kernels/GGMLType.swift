/// The tensor element formats of GGML/GGUF that SpecDec can read.
///
/// Raw values are GGML's `ggml_type` numbers as stored in a GGUF tensor info.
/// Quantized formats store elements in fixed-size blocks; ``blockSize`` elements
/// take ``blockBytes`` bytes.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q8_1 = 9
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case q8_K = 15
    case bf16 = 30

    /// Elements per block (1 for plain float formats).
    @inlinable public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1: return 32
        case .q4_K, .q5_K, .q6_K, .q8_K: return 256
        }
    }

    /// Bytes per block.
    @inlinable public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18   // f16 d + 16 B of nibbles
        case .q4_1: return 20   // f16 d, f16 m + 16 B
        case .q5_0: return 22   // f16 d + 4 B high bits + 16 B
        case .q5_1: return 24   // f16 d, f16 m + 4 B + 16 B
        case .q8_0: return 34   // f16 d + 32 int8
        case .q8_1: return 36   // f16 d, f16 s + 32 int8
        case .q4_K: return 144  // f16 d, f16 dmin, 12 B scales, 128 B nibbles
        case .q5_K: return 176  // f16 d, f16 dmin, 12 B scales, 32 B high bits, 128 B nibbles
        case .q6_K: return 210  // 128 B low nibbles, 64 B high bits, 16 int8 scales, f16 d
        case .q8_K: return 292  // f32 d, 256 int8, 16 int16 block sums
        }
    }

    /// The lower-case name GGML uses ("q4_K", "f16", ...).
    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q8_1: return "Q8_1"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .q8_K: return "Q8_K"
        }
    }

    /// Bytes taken by `count` elements, or nil when `count` is not a whole number of blocks.
    @inlinable public func byteCount(elements count: Int) -> Int? {
        guard count >= 0, count % blockSize == 0 else { return nil }
        let (bytes, overflow) = (count / blockSize).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }
}
