// libFuzzer's driver (libclang_rt.fuzzer_no_main, linked by tools/fuzz/run.sh) runs fuzzGGUF on each input.
import Foundation

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

// An empty corpus folder (the first argument) is seeded with tiny models of each architecture and
// weight format, and the first 64 KiB of each real model in the cache (a header cut inside its metadata).
if CommandLine.arguments.count > 1 { seedCorpus(CommandLine.arguments[1]) }

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    var empty: UInt8 = 0
    return withUnsafePointer(to: &empty) { fuzzGGUF(data ?? $0, size) }
})
