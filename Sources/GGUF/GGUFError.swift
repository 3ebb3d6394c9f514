import SpecDecKernels

/// Errors raised while reading or writing a GGUF file. Each case names what is wrong and where.
public enum GGUFError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case badMagic(found: UInt32)
    case unsupportedVersion(UInt32)
    case truncated(offset: Int, needed: Int, fileSize: Int)
    case unknownValueType(raw: UInt32, key: String)
    case invalidString(offset: Int)
    case unknownTensorType(tensor: String, raw: UInt32)
    case badTensorShape(tensor: String, shape: [Int], reason: String)
    case tensorOutOfBounds(tensor: String, end: Int, fileSize: Int)
    case duplicateTensor(String)
    case duplicateKey(String)
    case badAlignment(Int)
    case missingKey(String)
    case wrongKeyType(key: String, expected: String)
    case missingTensor(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open GGUF file '\(path)': \(reason)"
        case .badMagic(let found):
            return "not a GGUF file: magic is 0x\(String(found, radix: 16)) (expected 0x46554747, 'GGUF')"
        case .unsupportedVersion(let v): return "unsupported GGUF version \(v) (supported: 2, 3)"
        case .truncated(let offset, let needed, let size):
            return "GGUF file is truncated: need \(needed) bytes at offset \(offset) but the file has \(size) bytes"
        case .unknownValueType(let raw, let key): return "metadata key '\(key)' has unknown value type \(raw)"
        case .invalidString(let offset): return "metadata string at offset \(offset) is not valid UTF-8"
        case .unknownTensorType(let tensor, let raw):
            return "tensor '\(tensor)' has unknown or unsupported tensor type \(raw)"
        case .badTensorShape(let tensor, let shape, let reason): return "tensor '\(tensor)' has bad shape \(shape): \(reason)"
        case .tensorOutOfBounds(let tensor, let end, let size):
            return "tensor '\(tensor)' data ends at byte \(end), past the end of the file (\(size) bytes)"
        case .duplicateTensor(let name): return "tensor '\(name)' appears twice"
        case .duplicateKey(let key): return "metadata key '\(key)' appears twice"
        case .badAlignment(let a): return "general.alignment \(a) is not a positive power of two"
        case .missingKey(let key): return "required metadata key '\(key)' is missing"
        case .wrongKeyType(let key, let expected): return "metadata key '\(key)' should be \(expected)"
        case .missingTensor(let name): return "required tensor '\(name)' is missing"
        }
    }
}
