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
    // Gemma folds a leading system message into the next turn, so one with no next turn renders
    // nothing (as the reference Jinja template does).
    let dropped = template == .gemma && messages.count == 1 && messages[0].role == "system"
    for m in messages where m.role != "" && !dropped {
        let core = m.content.trimmingCharacters(in: .whitespacesAndNewlines)
        precondition(core.isEmpty || containsBytes(rendered, core), "content lost: \(core.debugDescription)")
    }
    return 0
}

/// Whether `needle`'s UTF-8 bytes occur in `haystack`'s (String.contains matches whole characters, and
/// a trimmed content may start with a combining mark that belongs to a character in the rendering).
func containsBytes(_ haystack: String, _ needle: String) -> Bool {
    let h = Array(haystack.utf8), n = Array(needle.utf8)
    guard n.count <= h.count else { return false }
    if n.isEmpty { return true }
    for i in 0...(h.count - n.count) where h[i] == n[0] && Array(h[i..<(i + n.count)]) == n { return true }
    return false
}
