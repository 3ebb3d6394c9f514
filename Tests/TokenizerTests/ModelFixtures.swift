import Foundation
import SpecDecGGUF
import SpecDecTokenizer
import XCTest

/// Loads the real model files used by the tokenizer tests, once per test process.
enum ModelFixtures {
    /// Where the model files live: `$SPECDEC_MODELS`, else `~/.cache/specdec/models`.
    static var directory: String {
        ProcessInfo.processInfo.environment["SPECDEC_MODELS"] ?? NSHomeDirectory() + "/.cache/specdec/models"
    }

    private final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var loaded: [String: (GGUFFile, Tokenizer)] = [:]
    }

    private static let cache = Cache()

    /// The GGUF file and tokenizer of `~/.cache/specdec/models/<name>`; skips the test when the file is absent.
    static func load(_ name: String) throws -> (file: GGUFFile, tokenizer: Tokenizer) {
        let path = directory + "/" + name
        cache.lock.lock()
        defer { cache.lock.unlock() }
        if let hit = cache.loaded[path] { return hit }
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("model file \(path) is not present; download \(name) to run this test")
        }
        let file = try GGUFFile(path: path)
        let tokenizer = try Tokenizer(gguf: file)
        cache.loaded[path] = (file, tokenizer)
        return (file, tokenizer)
    }
}

/// A temporary GGUF file written from a ``TinyTokenizerVocab``-style writer, removed by the caller.
enum TemporaryFiles {
    static func path(_ name: String) -> String {
        NSTemporaryDirectory() + "specdec-tokenizer-\(ProcessInfo.processInfo.processIdentifier)-\(name).gguf"
    }
}
