import ArgumentParser
import Foundation
import SpecDecEngine
import SpecDecKernels

@main
struct SpecDecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "specdec",
        abstract: "SpecDec: a speculative-decoding LLM inference engine for GGUF models.",
        subcommands: [Generate.self, Chat.self, Tokenize.self, Speed.self, Bench.self, Eval.self, CalibrateVocab.self, CalibrateSkip.self, Pull.self, Models.self, Serve.self],
        defaultSubcommand: nil)
}

/// Options shared by every command that loads a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model: a known name (see `specdec models`) or a path to a GGUF file.")
    var model: String = "qwen2.5-coder-1.5b"

    @Option(name: .long, help: "Worker threads (default: the number of cores).")
    var threads: Int?

    @Option(name: .long, help: "Context length in tokens (default: min(trained context, 4096)).")
    var context: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let context, context < 2 { throw ValidationError("--context must be at least 2") }
    }

    func load() throws -> LoadedModel {
        try LoadedModel(model, contextLength: context, threads: threads)
    }
}

/// Sampling options shared by generate and chat.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature (0 = greedy).") var temperature: Float = 0
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0 = off).") var topK: Int = 0
    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass (1 = off).") var topP: Float = 1
    @Option(name: .customLong("min-p"), help: "Minimum probability relative to the top token (0 = off).") var minP: Float = 0
    @Option(help: "Random seed.") var seed: UInt64 = 0

    var parameters: SamplingParameters {
        SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP, seed: seed)
    }

    func validate() throws {
        do { try parameters.validate() } catch { throw ValidationError("\(error)") }
    }
}

/// Writes to stdout without buffering delays.
func emit(_ s: String) {
    FileHandle.standardOutput.write(Data(s.utf8))
}

/// Writes a line to stderr.
func note(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Runs `body`, turning engine errors into a one-line message and exit status 1.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as ValidationError {
        throw e
    } catch let e as ExitCode {
        throw e
    } catch {
        note("error: \(error)")
        throw ExitCode.failure
    }
}

/// Refuses to run when `SPECDEC_KERNELS` names a set that cannot run here (one line, exit status 1),
/// and with `noticePortable` says once on stderr that the slow portable kernels are in use.
func checkKernels(noticePortable: Bool) throws {
    if let error = KernelSet.selectionError {
        note("error: \(error)")
        throw ExitCode.failure
    }
    guard noticePortable, KernelSet.active == .portable, !portableNoticeGiven else { return }
    portableNoticeGiven = true
    if KernelSet.best == .portable {
        note("note: this CPU has neither AVX-512 VNNI nor AVX2 + FMA + F16C: running the portable Swift kernels, "
             + "the slow reference path (an order of magnitude below the engine's speed)")
    } else {
        note("note: SPECDEC_KERNELS=portable: running the portable Swift kernels, the slow reference path "
             + "(this CPU runs \(KernelSet.best))")
    }
}

nonisolated(unsafe) private var portableNoticeGiven = false
