import Foundation
import XCTest
import SpecDecEngine

/// Locates real models in the model cache for tests; tests that need one skip with a clear message
/// when it is absent (CI pulls them first).
enum RealModels {
    static let store = ModelStore()

    /// The path of the known model `name`, or an `XCTSkip` naming the missing file.
    static func path(_ name: String) throws -> String {
        guard let model = ModelStore.model(named: name) else { throw XCTSkip("unknown model \(name)") }
        let path = store.path(of: model)
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("real model \(name) is not at \(path): run `specdec pull \(name)` to enable this test")
        }
        return path
    }

    /// Cached loaded models (loading costs a little; tests share them).
    nonisolated(unsafe) private static var loaded: [String: LoadedModel] = [:]

    static func load(_ name: String, context: Int = 1024, exact: Bool = false) throws -> LoadedModel {
        let key = exact ? name + "#exact" : name
        if let m = loaded[key] { return m }
        let m = try LoadedModel(path: try path(name), name: name, contextLength: context, threads: 2, exactMatmul: exact)
        loaded[key] = m
        return m
    }
}
