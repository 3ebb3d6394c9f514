import Foundation
import SpecDecTokenizer
import XCTest

final class ChatTemplateTests: XCTestCase {
    func testChatMLAddsTheDefaultSystemPromptOnlyWhenThereIsNoSystemMessage() {
        let template = ChatTemplate.chatML(defaultSystem: "Be nice.")
        XCTAssertEqual(template.render([.user("Hi")]),
                       "<|im_start|>system\nBe nice.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(template.render([.system("S"), .user("Hi"), .assistant("Hello"), .user("Bye")],
                                       addGenerationPrompt: false),
                       "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                           + "<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n")
        XCTAssertEqual(ChatTemplate.chatML(defaultSystem: nil).render([.user("Hi")]),
                       "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }

    func testGemmaFoldsTheSystemPromptIntoTheFirstTurnAndCallsTheAssistantModel() {
        let rendered = ChatTemplate.gemma.render([.system("Be brief."), .user(" Hi! "), .assistant("Hello."), .user("Bye")])
        XCTAssertEqual(rendered,
                       "<start_of_turn>user\nBe brief.\n\nHi!<end_of_turn>\n"
                           + "<start_of_turn>model\nHello.<end_of_turn>\n"
                           + "<start_of_turn>user\nBye<end_of_turn>\n"
                           + "<start_of_turn>model\n")
        XCTAssertEqual(ChatTemplate.gemma.render([.user("Hi")], addGenerationPrompt: false),
                       "<start_of_turn>user\nHi<end_of_turn>\n")
    }

    func testTheDefaultSystemPromptIsReadFromJinjaTemplates() {
        let smol = "{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are SmolLM<|im_end|>\n' }}{% endif %}"
        XCTAssertEqual(ChatTemplate.defaultSystemPrompt(inTemplate: smol), "You are SmolLM")
        let qwen = "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
            + "{%- else %}{{- '<|im_start|>system\\nYou are Qwen.<|im_end|>\\n' }}"
        XCTAssertEqual(ChatTemplate.defaultSystemPrompt(inTemplate: qwen), "You are Qwen.")
        XCTAssertNil(ChatTemplate.defaultSystemPrompt(inTemplate: "{{ messages }}"))
    }

    func testChatMessagesRoundTripThroughJSON() throws {
        let m = ChatMessage.user("Hi")
        let data = try JSONEncoder().encode(m)
        XCTAssertEqual(try JSONDecoder().decode(ChatMessage.self, from: data), m)
    }

    /// Found by fuzzing (Fuzz/Regressions/chattemplate-combining-mark: role byte, then the content " \u{64B}"):
    /// Gemma's turn content is trimmed by Unicode scalars, as the reference template's `trim`, so a
    /// combining mark after a space is kept (it was dropped with its space's whole character).
    func testGemmaKeepsACombiningMarkAfterLeadingWhitespace() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let input = try Data(contentsOf: root.appendingPathComponent("Fuzz/Regressions/chattemplate-combining-mark"))
        let content = String(decoding: input.dropFirst(), as: UTF8.self)
        XCTAssertEqual(Array(content.unicodeScalars), [" ", "\u{64B}"])
        let rendered = ChatTemplate.gemma.render([ChatMessage(role: "assistant", content: content)], addGenerationPrompt: false)
        XCTAssertEqual(rendered, "<start_of_turn>model\n\u{64B}<end_of_turn>\n")
        XCTAssertEqual(ChatTemplate.gemma.render([.user(" \t Hi \n")], addGenerationPrompt: false), "<start_of_turn>user\nHi<end_of_turn>\n")
    }
}
