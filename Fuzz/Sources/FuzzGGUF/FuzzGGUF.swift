// GGUF reader from arbitrary bytes: header, metadata of every value type and nested arrays, tensor
// infos, alignment, tensor data bounds; then a model configuration, a tokenizer and a model built
// from whatever parsed. Invariants: the reader returns a typed error or a file whose every tensor lies
// inside the mapping; building from a parsed file never traps.
import Foundation
import SpecDecGGUF
import SpecDecModel
import SpecDecTokenizer

nonisolated(unsafe) let path = "/dev/shm/specdec-fuzz-gguf-\(getpid()).gguf"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    guard let file = try? GGUFFile(path: path) else { return 0 }
    for t in file.tensors {
        let end = file.dataOffset + t.offset + t.byteCount
        precondition(t.byteCount >= 0 && t.offset >= 0 && end <= file.fileSize, "tensor \(t.name) ends at \(end) > \(file.fileSize)")
    }
    if let config = try? ModelConfig(gguf: file) {
        // Only files whose weights are small: a model is built from what the file holds.
        if file.fileSize < 4 << 20 { _ = try? Transformer(file: file, contextLength: 8, threads: 1) }
        _ = config
    }
    _ = try? Tokenizer(gguf: file)
    return 0
}
