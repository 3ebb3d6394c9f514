import ArgumentParser
import Foundation
import SpecDecEngine
import SpecDecGGUF
import SpecDecTokenizer

/// `specdec tokenize`: token ids of a text as a JSON array.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the token ids of a text as a JSON array.")

    @Option(help: "Model: a known name or a GGUF path.") var model: String = "qwen2.5-coder-1.5b"
    @Option(help: "The text to tokenize.") var text: String
    @Flag(name: .customLong("no-bos"), help: "Do not add the beginning-of-sequence token.") var noBOS = false

    func run() throws {
        try reportingErrors {
            let path = try ModelStore().resolve(model)
            let tokenizer = try Tokenizer(gguf: GGUFFile(path: path))
            let ids = tokenizer.encode(text, addBOS: noBOS ? false : nil)
            emit("[" + ids.map(String.init).joined(separator: ",") + "]\n")
        }
    }
}
