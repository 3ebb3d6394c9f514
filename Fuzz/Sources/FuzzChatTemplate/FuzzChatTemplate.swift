// The chat template renderer on arbitrary conversations (roles and contents from the input), for each
// template kind. Invariants: never traps; the rendered text contains every message's content.
import Foundation
import SpecDecTokenizer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChatTemplate(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    let parts = text.split(separator: "\u{1}", omittingEmptySubsequences: false)
    let roles = ["system", "user", "assistant", "tool", ""]
    var messages: [ChatMessage] = []
    for (i, p) in parts.enumerated() {
        let role = roles[(Int(data[0]) + i) % roles.count]
        messages.append(ChatMessage(role: role, content: String(p)))
    }
    let templates: [ChatTemplate] = [.chatML(defaultSystem: nil), .chatML(defaultSystem: "You are a helpful assistant."), .gemma]
    let template = templates[Int(data[0] >> 4) % templates.count]
    let rendered = template.render(messages, addGenerationPrompt: data[0] & 1 == 0)
    for m in messages where !m.content.isEmpty && roles.contains(m.role) && m.role != "" {
        precondition(rendered.contains(m.content.trimmingCharacters(in: .whitespacesAndNewlines)), "content lost")
    }
    return 0
}
