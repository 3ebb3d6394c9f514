// What every fuzz target shares: libFuzzer's driver and the vocabularies to tokenize with.
import Foundation
import SpecDecGGUF
import SpecDecTestSupport
import SpecDecTokenizer

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

nonisolated(unsafe) private var body: ((UnsafePointer<UInt8>, Int) -> CInt)?

/// Runs libFuzzer (libclang_rt.fuzzer_no_main, linked by tools/fuzz/run.sh) with `test` as the test
/// function, on the process's command line; returns its exit status.
public func runFuzzer(_ test: @escaping (UnsafePointer<UInt8>, Int) -> CInt) -> CInt {
    body = test
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        var empty: UInt8 = 0
        return withUnsafePointer(to: &empty) { body?(data ?? $0, size) ?? 0 }
    }
}

/// The tiny byte-level test vocabulary, then each real model's in the model cache.
public func fuzzTokenizers() -> [Tokenizer] {
    var list: [Tokenizer] = []
    var spec = TinyModel.Spec(architecture: "qwen2")
    spec.layers = 1
    if let p = try? TinyModel.write(spec, name: "fuzz-vocabulary-\(getpid())"), let f = try? GGUFFile(path: p),
       let t = try? Tokenizer(gguf: f) {
        list.append(t)
    }
    let dir = ProcessInfo.processInfo.environment["SPECDEC_MODELS"] ?? (NSHomeDirectory() + "/.cache/specdec/models")
    for name in ["smollm2-135m", "qwen2.5-coder-0.5b", "gemma-3-270m"] {
        if let f = try? GGUFFile(path: "\(dir)/\(name).gguf"), let t = try? Tokenizer(gguf: f) { list.append(t) }
    }
    return list
}
