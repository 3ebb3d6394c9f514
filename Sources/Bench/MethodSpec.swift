import SpecDecEngine
import SpecDecSpeculation

/// Why a `--methods` string was refused.
public enum MethodSpecError: Error, CustomStringConvertible, Equatable {
    case empty
    case unknownMethod(String, spec: String)
    case unknownParameter(String, method: String, allowed: [String])
    case malformedParameter(String, spec: String)
    case badValue(parameter: String, value: String, expected: String)
    case duplicateParameter(String, spec: String)
    case duplicateMethod(String)
    case topBetaParameterWithoutTopBeta(String, spec: String)
    case invalid(spec: String, reason: String)

    public var description: String {
        let methods = MethodSpec.methodNames.joined(separator: ", ")
        switch self {
        case .empty: return "no methods given (use e.g. --methods lookup,suffix,model:k=4)"
        case .unknownMethod(let name, let spec): return "unknown method '\(name)' in '\(spec)' (methods: \(methods))"
        case .unknownParameter(let p, let method, let allowed):
            return allowed.isEmpty ? "method '\(method)' takes no parameters (got '\(p)')"
                : "unknown parameter '\(p)' for method '\(method)' (parameters: \(allowed.joined(separator: ", ")))"
        case .malformedParameter(let p, let spec): return "parameter '\(p)' in '\(spec)' is not of the form name=value"
        case .badValue(let p, let v, let expected): return "parameter \(p)=\(v): \(p) must be \(expected)"
        case .duplicateParameter(let p, let spec): return "parameter '\(p)' is given twice in '\(spec)'"
        case .duplicateMethod(let label): return "method '\(label)' is listed twice"
        case .topBetaParameterWithoutTopBeta(let p, let spec): return "'\(p)' in '\(spec)' needs v=top-beta"
        case .invalid(let spec, let reason): return "method '\(spec)': \(reason)"
        }
    }
}

/// One benchmarked method, parsed from its command-line spec `NAME[:key=value,…]`:
///
/// - `ar`: plain autoregressive decoding with ``Generator`` (the baseline; no parameters);
/// - `model[:k=K,p=P]`: a draft model proposes up to K tokens per step, stopping before a token it
///   gives a top probability below P (needs `--draft-model`);
/// - `lookup[:min=N,max=M,k=K]`: prompt lookup with n-grams of N…M tokens;
/// - `suffix[:k=K]`: SuffixDecoding's suffix trees;
/// - `hybrid[:min=N,max=M,k=K,p=P]`: prompt lookup where it finds a match, else the draft model;
/// - `self[:k=K,p=P,skip=FILE,search=N]`: the target drafting for itself with sublayers skipped
///   (the calibrated set of FILE, else the model's cached or shipped one, else a search of N
///   evaluations at each pair's first request);
/// - `cross-vocab[:k=K]`: a draft model with another tokenizer (greedy only);
/// - `chain:A+B+…[,k=K,…]` (or `chain:A,B,…` as `--drafter` spells it): the first of the steps
///   (model, lookup, suffix, self, cross-vocab) that proposes; bare names right after the steps
///   continue them, so a method listed after a chain is separated by `;` or a space;
///
/// where the drafters with a model head (model, hybrid, self, cross-vocab, chain) also take
/// `vocab=N` or `vocab=FILE[:N]` (a trimmed draft head, as `--draft-vocab`),
///
/// and for the speculative ones the verifier `v=greedy|sampling|top-beta|confidence` (default: greedy
/// at temperature 0, speculative sampling otherwise) with `beta=` and `tau=` for top-β and
/// `lambda=` (the confidence tolerance λ) for confidence-modulated verification;
///
/// - `draft`: the draft model alone, decoding plainly (needs `--draft-model`; no parameters);
/// - `rstitch[:slm=H,llm=H]` or `rstitch:share=F`: R-Stitch routing with the draft model as the
///   small model, fixed normalized-entropy thresholds or one threshold steered to an LLM token
///   share F (needs `--draft-model`).
///
/// The method's label is its spec as written.
///
/// ```swift
/// let methods = try MethodSpec.parseList("lookup:min=2,max=4,k=8,model:k=4,v=top-beta,beta=3,tau=1")
/// // [ar, lookup:min=2,max=4,k=8, model:k=4,v=top-beta,beta=3,tau=1]
/// ```
public struct MethodSpec: Sendable, Equatable {
    /// The label used in every output: the spec as written (`ar` for the baseline).
    public var label: String
    /// The drafter; ``DrafterKind/none`` is the `ar` baseline.
    public var drafter: DrafterKind
    /// Most draft tokens per step (`k`).
    public var draftMax = 8
    /// Draft-model confidence threshold (`p`, as `--draft-p-min`; 0 = off).
    public var draftMinProbability: Float = 0
    /// Shortest and longest n-gram of prompt lookup (`min`, `max`).
    public var lookupMin = 2
    public var lookupMax = 4
    /// The verifier (`v`).
    public var verifier: VerifierKind = .auto
    /// β and τ of top-β verification (`beta`, `tau`).
    public var topBeta = 3
    public var tolerance: Float = 1
    /// Steps of a chain.
    public var chain: [DrafterKind] = []
    /// Trimmed draft head (`vocab`).
    public var draftVocabulary: DraftVocabulary?
    /// Skip set file of `self` (`skip`) and on-the-fly search budget (`search`).
    public var skipFile: String?
    public var skipSearchBudget = 0
    /// The cost model (`cost=on|off`; default on).
    public var costModel = true
    /// ε of the cost model's catch-up rule (`allowance=`; `inf`: the plain ski-rental rule).
    public var catchUpAllowance = CostModel.defaultCatchUpAllowance
    /// Draft trees (`tree=W`: most children per node; 1 = chains) of at most `nodes=N` nodes.
    public var treeWidth = 1
    public var treeNodes = 16
    /// Draft policy of a draft model (`policy=fixed|p-min|confidence`).
    public var draftPolicy: DraftPolicyKind?
    /// λ of confidence-modulated verification (`lambda`).
    public var confidenceTolerance: Float = 1
    /// `draft`: the draft model alone.
    public var draftAlone = false
    /// `rstitch`: the routing policy.
    public var router: RStitchPolicy?

    /// The names accepted before the colon.
    public static let methodNames = ["ar", "model", "lookup", "suffix", "hybrid", "self", "cross-vocab", "chain", "draft", "rstitch"]
    /// The label of the baseline.
    public static let baselineLabel = "ar"
    /// The baseline: plain decoding.
    public static let baseline = MethodSpec(label: baselineLabel, drafter: .none)

    public init(label: String, drafter: DrafterKind) {
        self.label = label
        self.drafter = drafter
    }

    /// True for the `ar` baseline.
    public var isBaseline: Bool { drafter == .none && !draftAlone && router == nil }

    /// Whether the method keeps the target's output exactly under greedy decoding (all speculative
    /// methods but those with the top-β or confidence verifier; not `draft` or `rstitch`).
    public var isLossless: Bool { verifier != .topBeta && verifier != .confidence && !draftAlone && router == nil }

    /// Whether the method needs `--draft-model`.
    public var needsDraftModel: Bool { draftAlone || router != nil || options.usesDraftModel }

    /// How reports name the method's kind: the drafter, `none` for `ar`, `draft` or `rstitch`.
    public var kindName: String { draftAlone ? "draft" : router != nil ? "rstitch" : drafter.rawValue }

    /// The engine options of a speculative method.
    public var options: SpeculationOptions {
        var o = SpeculationOptions(drafter: drafter, draftMax: draftMax)
        o.lookupMin = lookupMin
        o.lookupMax = lookupMax
        o.verifier = verifier
        o.topBeta = topBeta
        o.tolerance = tolerance
        o.draftMinProbability = draftMinProbability
        o.chain = chain
        o.draftVocabulary = draftVocabulary
        o.skipFile = skipFile
        o.skipSearchBudget = skipSearchBudget
        o.costModel = costModel
        o.catchUpAllowance = catchUpAllowance
        o.treeWidth = treeWidth
        o.treeNodes = treeNodes
        o.draftPolicy = draftPolicy
        o.confidenceTolerance = confidenceTolerance
        return o
    }

    /// Parses one spec such as `lookup:min=2,max=4,k=8` or `model:k=4,v=top-beta,beta=3,tau=1`.
    public static func parse(_ text: String) throws -> MethodSpec {
        let spec = text.trimmingCharacters(in: .whitespaces)
        guard !spec.isEmpty else { throw MethodSpecError.empty }
        let name: String, rest: String?
        if let colon = spec.firstIndex(of: ":") {
            name = String(spec[..<colon])
            rest = String(spec[spec.index(after: colon)...])
        } else {
            name = spec
            rest = nil
        }
        let drafter: DrafterKind
        switch name {
        case "ar": drafter = .none
        case "model": drafter = .model
        case "lookup": drafter = .lookup
        case "suffix": drafter = .suffix
        case "hybrid": drafter = .hybrid
        case "self": drafter = .selfSpeculative
        case "cross-vocab": drafter = .crossVocabulary
        case "chain": drafter = .chain
        case "draft", "rstitch": drafter = .none
        default: throw MethodSpecError.unknownMethod(name, spec: spec)
        }
        var m = MethodSpec(label: spec, drafter: drafter)
        m.draftAlone = name == "draft"
        if name == "rstitch" { m.router = .fixed(slm: RStitchDefaults.slmEntropy, llm: RStitchDefaults.llmEntropy) }
        let allowed = name == "rstitch" ? ["slm", "llm", "share"] : allowedParameters(drafter)
        var seen = Set<String>()
        var pieces = (rest ?? "").split(separator: ",", omittingEmptySubsequences: false)
        if drafter == .chain {
            // The leading pieces without `=` are the steps (joined by `+` or `,`).
            let steps = pieces.prefix { !$0.contains("=") && !$0.isEmpty }
            guard !steps.isEmpty else {
                throw MethodSpecError.invalid(spec: spec, reason: "give the steps, e.g. chain:lookup+suffix+self")
            }
            var o = SpeculationOptions()
            do { try o.setDrafter("chain:" + steps.joined(separator: ",")) } catch {
                throw MethodSpecError.invalid(spec: spec, reason: "\(error)")
            }
            m.chain = o.chain
            pieces.removeFirst(steps.count)
        }
        for piece in pieces where !(rest ?? "").isEmpty {
            let parts = piece.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw MethodSpecError.malformedParameter(String(piece), spec: spec)
            }
            let (key, value) = (parts[0], parts[1])
            guard allowed.contains(key) else { throw MethodSpecError.unknownParameter(key, method: name, allowed: allowed) }
            guard seen.insert(key).inserted else { throw MethodSpecError.duplicateParameter(key, spec: spec) }
            try m.set(key, value)
        }
        for key in ["beta", "tau"] where seen.contains(key) && m.verifier != .topBeta {
            throw MethodSpecError.topBetaParameterWithoutTopBeta(key, spec: spec)
        }
        if seen.contains("lambda") && m.verifier != .confidence {
            throw MethodSpecError.invalid(spec: spec, reason: "'lambda' needs v=confidence")
        }
        if seen.contains("share") && (seen.contains("slm") || seen.contains("llm")) {
            throw MethodSpecError.invalid(spec: spec, reason: "give either share=F or the thresholds slm=H,llm=H, not both")
        }
        if let router = m.router {
            do { try router.validate() } catch { throw MethodSpecError.invalid(spec: spec, reason: "\(error)") }
        }
        if !m.isBaseline {
            do { try m.options.validate() } catch { throw MethodSpecError.invalid(spec: spec, reason: "\(error)") }
        }
        return m
    }

    /// Parses a `--methods` list. Methods are separated by commas (a comma-separated piece of the
    /// form `key=value` continues the previous method's parameters), semicolons or spaces. The `ar`
    /// baseline is always included and always first; a label listed twice is an error.
    public static func parseList(_ text: String) throws -> [MethodSpec] {
        try parseList([text])
    }

    /// Parses several `--methods` values (the option may be repeated) into one list.
    public static func parseList(_ texts: [String]) throws -> [MethodSpec] {
        var specs: [String] = []
        for text in texts {
            for chunk in text.split(whereSeparator: { $0 == ";" || $0 == " " || $0 == "\t" }) {
                for piece in chunk.split(separator: ",") {
                    // `chain:lookup,suffix,self` (as --drafter spells it): bare step names right after a
                    // chain's steps continue them.
                    if let last = specs.last, last.hasPrefix("chain:"), !last.contains("="), !piece.contains(":"),
                       !piece.contains("=") {
                        specs[specs.count - 1] += "," + piece
                        continue
                    }
                    let startsMethod = piece.contains(":") || !piece.contains("=")
                    if startsMethod || specs.isEmpty {
                        specs.append(String(piece))
                    } else {
                        specs[specs.count - 1] += "," + piece
                    }
                }
            }
        }
        guard !specs.isEmpty else { throw MethodSpecError.empty }
        var methods = [baseline]
        for s in specs {
            let m = try parse(s)
            if m.isBaseline { continue }
            guard !methods.contains(where: { $0.label == m.label }) else { throw MethodSpecError.duplicateMethod(m.label) }
            methods.append(m)
        }
        return methods
    }

    private static func allowedParameters(_ drafter: DrafterKind) -> [String] {
        switch drafter {
        case .none: return []
        case .lookup: return ["min", "max", "k", "v", "beta", "tau", "lambda", "cost", "tree", "nodes"]
        case .model: return ["k", "p", "v", "beta", "tau", "lambda", "vocab", "cost", "tree", "nodes", "policy", "allowance"]
        case .suffix: return ["k", "v", "beta", "tau", "lambda", "cost", "tree", "nodes"]
        case .hybrid: return ["min", "max", "k", "p", "v", "beta", "tau", "lambda", "vocab", "cost", "policy", "allowance"]
        case .selfSpeculative: return ["k", "p", "v", "beta", "tau", "lambda", "vocab", "skip", "search", "cost"]
        case .crossVocabulary: return ["k", "p", "vocab", "cost", "policy", "allowance"]
        case .chain: return ["min", "max", "k", "p", "v", "beta", "tau", "lambda", "vocab", "skip", "search", "cost", "tree", "nodes", "policy", "allowance"]
        }
    }

    private mutating func set(_ key: String, _ value: String) throws {
        func int(atLeast low: Int) throws -> Int {
            guard let n = Int(value), n >= low else {
                throw MethodSpecError.badValue(parameter: key, value: value, expected: "an integer >= \(low)")
            }
            return n
        }
        switch key {
        case "k": draftMax = try int(atLeast: 1)
        case "min": lookupMin = try int(atLeast: 1)
        case "max": lookupMax = try int(atLeast: 1)
        case "beta": topBeta = try int(atLeast: 1)
        case "p":
            guard let x = Float(value), x >= 0, x <= 1 else {
                throw MethodSpecError.badValue(parameter: key, value: value, expected: "a probability in [0, 1]")
            }
            draftMinProbability = x
        case "tau":
            guard let t = Float(value), t.isFinite, t >= 0 else {
                throw MethodSpecError.badValue(parameter: key, value: value, expected: "a number >= 0")
            }
            tolerance = t
        case "search": skipSearchBudget = try int(atLeast: 1)
        case "lambda":
            guard let t = Float(value), t.isFinite, t >= 0 else {
                throw MethodSpecError.badValue(parameter: key, value: value, expected: "a number >= 0")
            }
            confidenceTolerance = t
        case "slm", "llm":
            guard let h = Float(value), !h.isNaN, h >= 0 else {
                throw MethodSpecError.badValue(parameter: key, value: value, expected: "a normalized entropy >= 0 (inf: never)")
            }
            var (slm, llm) = (RStitchDefaults.slmEntropy, RStitchDefaults.llmEntropy)
            if case .fixed(let s, let l)? = router { (slm, llm) = (s, l) }
            router = key == "slm" ? .fixed(slm: h, llm: llm) : .fixed(slm: slm, llm: h)
        case "share":
            guard let f = Float(value), f >= 0, f <= 1 else {
                throw MethodSpecError.badValue(parameter: key, value: value, expected: "a share in [0, 1]")
            }
            router = .adaptive(llmShare: f)
        case "cost":
            guard value == "on" || value == "off" else { throw MethodSpecError.badValue(parameter: key, value: value, expected: "on or off") }
            costModel = value == "on"
        case "allowance":
            guard let e = Double(value), !e.isNaN, e >= 0 else {
                throw MethodSpecError.badValue(parameter: key, value: value, expected: "a share >= 0 (inf: no cap)")
            }
            catchUpAllowance = e
        case "tree": treeWidth = try int(atLeast: 1)
        case "nodes": treeNodes = try int(atLeast: 1)
        case "policy":
            guard let p = DraftPolicyKind(rawValue: value) else {
                throw MethodSpecError.badValue(parameter: key, value: value, expected: "one of fixed, p-min, confidence")
            }
            draftPolicy = p
        case "skip": skipFile = value
        case "vocab":
            do { draftVocabulary = try DraftVocabulary.parse(value) } catch {
                throw MethodSpecError.badValue(parameter: key, value: value, expected: "a token count or a ranking FILE[:N]")
            }
        case "v":
            guard let v = VerifierKind(rawValue: value) else {
                throw MethodSpecError.badValue(parameter: key, value: value, expected: "one of greedy, sampling, top-beta, confidence, auto")
            }
            verifier = v
        default:
            throw MethodSpecError.unknownParameter(key, method: label, allowed: Self.allowedParameters(drafter))
        }
    }
}
