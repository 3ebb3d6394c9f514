import Foundation
import SpecDecModel

/// A model's tokens ranked by how often it uses them: what `specdec calibrate-vocab` writes and
/// `--draft-vocab` reads to trim a draft head to its N most frequent tokens (FR-Spec, VocabTrim).
///
/// The file lists the tokens seen in calibration, most frequent first; tokens it does not list rank
/// after them in the tokenizer's own order (``Tokenizer/frequencyOrder``: SentencePiece scores, or
/// id order for byte-level BPE, whose ids follow merge order).
public struct VocabularyRanking: Sendable, Equatable, Codable {
    /// Name of the model it was made with (its tokenizer's ids).
    public var model: String
    /// Vocabulary size of that model.
    public var vocabularySize: Int
    /// Token ids seen in calibration, most frequent first.
    public var ranked: [Int32]
    /// Occurrences of each listed token (same order).
    public var counts: [Int]
    /// Tokens counted and where from.
    public var tokensCounted: Int
    public var source: String

    enum CodingKeys: String, CodingKey {
        case model, vocabularySize = "vocabulary_size", ranked, counts, tokensCounted = "tokens_counted", source
    }

    public init(model: String, vocabularySize: Int, counts table: [Int32: Int], source: String) {
        let sorted = table.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        self.model = model
        self.vocabularySize = vocabularySize
        ranked = sorted.map(\.key)
        counts = sorted.map(\.value)
        tokensCounted = table.values.reduce(0, +)
        self.source = source
    }

    /// The `n` first tokens of the ranking, then of `fallback` (the order of the tokens calibration did
    /// not see; default id order), `always` (e.g. end-of-turn tokens) included in place of the last
    /// ones when missing. Throws ``EngineError/invalidParameter(_:)`` for a size outside
    /// 1 … vocabulary size or a ranking for another vocabulary size.
    public func top(_ n: Int, vocabularySize vocab: Int, always: Set<Int32> = [], fallback: [Int32]? = nil) throws -> [Int32] {
        guard vocab == vocabularySize else {
            throw EngineError.invalidParameter(
                "the vocabulary ranking of \(model) is for \(vocabularySize) tokens, the draft model has \(vocab)")
        }
        guard n >= 1, n <= vocab else { throw EngineError.invalidParameter("--draft-vocab must be in 1...\(vocab), got \(n)") }
        var chosen: [Int32] = []
        chosen.reserveCapacity(n)
        var taken = Set<Int32>()
        for t in ranked where chosen.count < n && t >= 0 && Int(t) < vocab && taken.insert(t).inserted { chosen.append(t) }
        for t in fallback ?? [] where chosen.count < n && t >= 0 && Int(t) < vocab && taken.insert(t).inserted { chosen.append(t) }
        var next: Int32 = 0
        while chosen.count < n && Int(next) < vocab {
            if taken.insert(next).inserted { chosen.append(next) }
            next += 1
        }
        let missing = always.filter { !taken.contains($0) && $0 >= 0 && Int($0) < vocab }.sorted()
        if !missing.isEmpty {
            chosen.removeLast(min(missing.count, chosen.count))
            chosen += missing
        }
        return chosen
    }

    /// Reads a ranking file; throws ``EngineError/invalidParameter(_:)`` naming the file.
    public static func read(path: String) throws -> VocabularyRanking {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError.invalidParameter("cannot read the vocabulary ranking \(path)")
        }
        do {
            let r = try JSONDecoder().decode(VocabularyRanking.self, from: data)
            guard r.counts.count == r.ranked.count, r.vocabularySize > 0 else {
                throw EngineError.invalidParameter("\(path): ranked and counts differ in length")
            }
            return r
        } catch let e as EngineError {
            throw e
        } catch {
            throw EngineError.invalidParameter("\(path) is not a vocabulary ranking: \(error)")
        }
    }

    public func write(path: String) throws {
        try CalibrationStore.writeJSON(self, path: path)
    }
}

/// A skip set found by ``LayerSkipSearch`` for one model: what `specdec calibrate-skip` writes and
/// `--drafter self[:skip=F]` reads.
public struct SkipCalibration: Sendable, Equatable, Codable {
    public var model: String
    public var result: LayerSkipSearch.Result
    /// The search's options and data.
    public var draftLength: Int
    public var verifyCost: Double
    public var samples: Int
    /// The trimmed head the search drafted through (`--draft-vocab`), if any.
    public var draftVocabulary: String?
    public var source: String

    enum CodingKeys: String, CodingKey {
        case model, result, draftLength = "draft_length", verifyCost = "verify_cost", samples, source,
             draftVocabulary = "draft_vocab"
    }

    public init(model: String, result: LayerSkipSearch.Result, draftLength: Int, verifyCost: Double, samples: Int,
                draftVocabulary: String? = nil, source: String) {
        self.draftVocabulary = draftVocabulary
        self.model = model
        self.result = result
        self.draftLength = draftLength
        self.verifyCost = verifyCost
        self.samples = samples
        self.source = source
    }

    public static func read(path: String) throws -> SkipCalibration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError.invalidParameter("cannot read the skip set \(path)")
        }
        do {
            return try JSONDecoder().decode(SkipCalibration.self, from: data)
        } catch {
            throw EngineError.invalidParameter("\(path) is not a skip set: \(error)")
        }
    }

    public func write(path: String) throws {
        try CalibrationStore.writeJSON(self, path: path)
    }
}

/// Where calibration files live: written to `~/.cache/specdec/calibration` (or
/// `$SPECDEC_CALIBRATION`), and shipped in the repository's `Data/calibration`. A lookup takes the
/// cached file first, then the shipped one.
public struct CalibrationStore: Sendable {
    public let directory: String
    /// The shipped folder, when found (`Data/calibration` in the working directory or above the executable).
    public let shipped: String?

    public init(directory: String? = nil, shipped: String? = Self.locateShipped()) {
        if let directory {
            self.directory = directory
        } else if let env = ProcessInfo.processInfo.environment["SPECDEC_CALIBRATION"], !env.isEmpty {
            self.directory = env
        } else {
            let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
            self.directory = home + "/.cache/specdec/calibration"
        }
        self.shipped = shipped
    }

    /// The file name of a model's vocabulary ranking.
    public static func vocabularyFile(model: String) -> String { model + ".vocab.json" }
    /// The file name of a model's skip set.
    public static func skipFile(model: String) -> String { model + ".skip.json" }

    /// The default place `calibrate-*` writes `file`.
    public func cachePath(_ file: String) -> String { directory + "/" + file }

    /// The cached file, else the shipped one, else nil.
    public func find(_ file: String) -> String? {
        let fm = FileManager.default
        let cached = cachePath(file)
        if fm.fileExists(atPath: cached) { return cached }
        if let shipped, fm.fileExists(atPath: shipped + "/" + file) { return shipped + "/" + file }
        return nil
    }

    /// `Data/calibration` under the working directory, else under the nearest folder above the
    /// executable that has it.
    public static func locateShipped() -> String? {
        let fm = FileManager.default
        let relative = "Data/calibration"
        let here = fm.currentDirectoryPath + "/" + relative
        if fm.fileExists(atPath: here) { return here }
        guard let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path != "/" && !dir.path.isEmpty {
            let candidate = dir.appendingPathComponent(relative).path
            if fm.fileExists(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    static func writeJSON<T: Encodable>(_ value: T, path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try enc.encode(value).write(to: url, options: .atomic)
        } catch {
            throw EngineError.invalidParameter("cannot write \(path): \(error)")
        }
    }
}
