#if canImport(Glibc)
import Glibc
#endif
import SpecDecCKernels

/// The instruction-set kernels that run the engine's matrix products and vector helpers.
///
/// Chosen once per process: the best set the CPU supports, in the order ``avx512`` → ``avx2`` →
/// ``portable``, unless the environment variable `SPECDEC_KERNELS=avx512|avx2|portable` forces one
/// (so that every path can be run and compared on one machine). Forcing a set the CPU lacks, or an
/// unknown name, falls back to the automatic choice and records ``selectionError``; the command line
/// refuses to start then. Each set reads its own packed weight layout (``PackedWeights``); all of them
/// read the GGUF layout too.
public enum KernelSet: String, CaseIterable, Sendable, CustomStringConvertible {
    /// AVX-512 F/BW/VL/DQ + VNNI + VBMI + BITALG (Ice Lake, Zen 4 and newer): `vpdpbusd` integer dot products.
    case avx512
    /// AVX2 + FMA + F16C (Haswell, Zen 1 and newer): `vpmaddubsw` / `vpmaddwd` integer dot products.
    case avx2
    /// Swift SIMD code for any CPU (SSE2-shaped on x86-64): the slow reference path.
    case portable

    /// True when this CPU can run the set.
    public var isSupported: Bool {
        switch self {
        case .avx512: return KernelSet.avx512Supported
        case .avx2: return KernelSet.avx2Supported
        case .portable: return true
        }
    }

    private static let avx512Supported = sdk_cpu_supported() != 0
    private static let avx2Supported = sdk_avx2_supported() != 0

    /// The sets this CPU supports, fastest first.
    public static var supported: [KernelSet] { allCases.filter(\.isSupported) }

    /// The fastest set this CPU supports.
    public static var best: KernelSet { supported[0] }

    public var description: String { rawValue }

    /// The set in use (decided once, from `SPECDEC_KERNELS` and the CPU).
    public static let active: KernelSet = selection.set

    /// Why `SPECDEC_KERNELS` could not be followed (an unknown name, or a set this CPU lacks), or nil.
    public static let selectionError: String? = selection.error

    private static let selection: (set: KernelSet, error: String?) = choose(
        forced: getenv("SPECDEC_KERNELS").map { String(cString: $0) })

    /// The set for a `SPECDEC_KERNELS` value (nil or empty: automatic), with the reason when it cannot
    /// be followed.
    static func choose(forced: String?) -> (set: KernelSet, error: String?) {
        guard let name = forced?.lowercased(), !name.isEmpty, name != "auto" else { return (best, nil) }
        guard let set = KernelSet(rawValue: name) else {
            return (best, "SPECDEC_KERNELS=\(name): unknown kernel set (expected one of avx512, avx2, portable, auto)")
        }
        guard set.isSupported else {
            return (best, "SPECDEC_KERNELS=\(name): this CPU does not support the \(name) kernels (supported: "
                        + supported.map(\.rawValue).joined(separator: ", ") + ")")
        }
        return (set, nil)
    }
}
