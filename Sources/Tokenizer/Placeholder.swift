// Temporary stand-in until the tokenizer lands (delete this file when writing the real module).
import SpecDecGGUF
public final class Tokenizer: @unchecked Sendable {
    public init(gguf: GGUFFile) throws {}
    public func encode(_ text: String, addBOS: Bool? = nil, parseSpecial: Bool = true) -> [Int32] { text.utf8.map { Int32($0) } }
    public func decode(_ tokens: [Int32], skipSpecial: Bool = false) -> String { "" }
    public var endOfTurnTokens: Set<Int32> { [] }
}
public struct StreamingDetokenizer {
    public init(tokenizer: Tokenizer) {}
    public mutating func append(_ token: Int32) -> String { "" }
    public mutating func finish() -> String { "" }
}
public struct ChatMessage: Sendable, Codable { public var role: String; public var content: String; public init(role: String, content: String) { self.role = role; self.content = content } }
public enum ChatTemplate {
    case gemma
    public static func detect(gguf: GGUFFile, tokenizer: Tokenizer) -> ChatTemplate { .gemma }
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String { "" }
}
