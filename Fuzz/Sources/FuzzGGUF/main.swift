// libFuzzer's driver (libclang_rt.fuzzer_no_main, linked by tools/fuzz/run.sh) runs fuzzGGUF on each input.
import Foundation

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    var empty: UInt8 = 0
    return withUnsafePointer(to: &empty) { fuzzGGUF(data ?? $0, size) }
})
