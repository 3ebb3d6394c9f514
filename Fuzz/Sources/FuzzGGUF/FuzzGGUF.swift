// GGUF reader from arbitrary bytes: header, metadata of every value type and nested arrays, tensor
// infos, alignment, tensor data bounds; then a model configuration, a tokenizer and a model built
// from whatever parsed. Invariants: the reader returns a typed error or a file whose every tensor lies
// inside the mapping; building from a parsed file never traps.
import Foundation
import SpecDecGGUF
import SpecDecModel
import SpecDecTokenizer
import SpecDecKernels
import SpecDecTestSupport

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

/// Writes seed files into `dir` when it holds none.
func seedCorpus(_ dir: String) {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue,
          (try? fm.contentsOfDirectory(atPath: dir).isEmpty) == true else { return }
    var n = 0
    for arch in ["qwen2", "llama", "gemma3"] {
        for type in [GGMLType.f32, .f16, .q8_0, .q4_0] {
            var spec = TinyModel.Spec(architecture: arch)
            spec.layers = 1
            spec.weightType = type
            if let p = try? TinyModel.write(spec, name: "seed-\(arch)-\(type)"), let d = fm.contents(atPath: p) {
                fm.createFile(atPath: "\(dir)/tiny-\(arch)-\(type).gguf", contents: d)
                n += 1
            }
        }
    }
    let models = ProcessInfo.processInfo.environment["SPECDEC_MODELS"] ?? (NSHomeDirectory() + "/.cache/specdec/models")
    for name in ["smollm2-135m", "qwen2.5-coder-0.5b", "gemma-3-270m"] {
        if let h = FileHandle(forReadingAtPath: "\(models)/\(name).gguf") {
            fm.createFile(atPath: "\(dir)/header-\(name).gguf", contents: h.readData(ofLength: 64 << 10))
            try? h.close()
            n += 1
        }
    }
    FileHandle.standardError.write(Data("seeded \(dir) with \(n) files\n".utf8))
}
