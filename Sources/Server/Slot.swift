import Dispatch
import Foundation
import SpecDecEngine

/// A flag a request's handler sets to stop its generation (the client went away); the generating
/// thread reads it after every piece of text, so the slot is free within one decoding step.
public final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    public init() {}

    public var isSet: Bool { lock.withLock { value } }

    public func set() { lock.withLock { value = true } }
}

/// What a slot reports while it generates.
public enum SlotEvent: Sendable {
    /// Text released by the detokenizer (complete UTF-8, stop strings held back).
    case text(String)
    /// The generation ended.
    case finished(GenerationResult)
}

/// One generation slot: its own instance of the target (and draft) model over the shared weights, so its
/// own KV caches, and its own thread. A slot runs one request at a time and keeps its session between
/// requests, so a request that extends the previous one on this slot (a chat's next turn) reuses the
/// cached prefix; no other slot ever sees this slot's caches.
public final class Slot: @unchecked Sendable {
    public let index: Int
    let target: LoadedModel
    let draft: LoadedModel?
    let configuration: ServerConfiguration
    private var session: GenerationSession?
    /// Tests only: called on the slot's thread with each piece's index (0, 1, …) before the piece is
    /// checked against the cancel flag and sent, so a test can cancel at an exact point of a
    /// generation that would otherwise race its consumer. Set it before ``run(_:cancel:onFinish:)``.
    var beforePiece: ((Int) -> Void)?
    private var sessionSpec: SessionSpec?
    private let queue: DispatchQueue

    public init(index: Int, target: LoadedModel, draft: LoadedModel?, configuration: ServerConfiguration) {
        self.index = index
        self.target = target
        self.draft = draft
        self.configuration = configuration
        queue = DispatchQueue(label: "specdec.slot.\(index)")
    }

    /// Runs `job` on the slot's thread. Events arrive on the returned stream; the stream ends when
    /// generation ends, with an error if it failed. `cancel` stops it early. `onFinish` runs on the
    /// slot's thread after the generation has really stopped (the slot may then be handed on), with the
    /// result (nil when it failed), whether or not anyone still listens.
    public func run(_ job: GenerationJob, cancel: CancelFlag,
                    onFinish: @escaping @Sendable (GenerationResult?) -> Void) -> AsyncThrowingStream<SlotEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream<SlotEvent, Error>.makeStream(bufferingPolicy: .unbounded)
        // A consumer that stops listening (a client gone mid-stream) cancels the generation.
        continuation.onTermination = { termination in
            if case .cancelled = termination { cancel.set() }
        }
        queue.async { [self] in
            var finished: GenerationResult?
            defer { onFinish(finished) }
            do {
                let s = try self.session(for: job)
                var pieces = 0
                let result = try s.generate(prompt: job.prompt, options: job.options) { piece in
                    self.beforePiece?(pieces)
                    pieces += 1
                    if cancel.isSet { return false }
                    continuation.yield(.text(piece))
                    return !cancel.isSet
                }
                finished = result
                continuation.yield(.finished(result))
                continuation.finish()
            } catch {
                // A failed generation may leave the caches part-way: start the next request afresh.
                self.session?.reset()
                self.session = nil
                self.sessionSpec = nil
                continuation.finish(throwing: error)
            }
        }
        return stream
    }

    /// The slot's session for `job`: the current one when the job asks for the same, else a new one.
    private func session(for job: GenerationJob) throws -> GenerationSession {
        if let session, sessionSpec == job.session { return session }
        session?.reset()
        let s: GenerationSession
        switch job.session {
        case .plain:
            s = .plain(Generator(model: target))
        case .speculative:
            let options = try job.session.speculationOptions(base: configuration.speculation)
            s = .speculative(try SpeculativeGenerator(target: target, draftModel: options.usesDraftModel ? draft : nil,
                                                      options: options, seed: job.options.sampling.seed))
        case .rstitch:
            guard let draft, let policy = configuration.router else {
                throw APIError.internalError("R-Stitch needs the small model (--draft-model)")
            }
            s = .rstitch(try RStitchGenerator(llm: target, slm: draft, policy: policy))
        }
        session = s
        sessionSpec = job.session
        return s
    }
}
