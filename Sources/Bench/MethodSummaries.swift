/// A summary of one method's runs, named by the method's label.
public protocol MethodLabelled {
    /// The method's label (`ar`, `lookup`, `model:k=4`, …).
    var method: String { get }
}

/// A report's per-method summaries, kept by label with their order: `method_order` and `methods` in
/// JSON, so that a figure reads as `methods["lookup"]…` and the tables keep the order of the run.
public protocol MethodSummaries {
    associatedtype Summary: MethodLabelled
    /// Method labels in order, `ar` first (empty in files that predate it: label order then).
    var methodOrder: [String] { get set }
    /// Summaries by label.
    var methodsByLabel: [String: Summary] { get set }
}

extension MethodSummaries {
    /// Summaries in method order (label order when no order is recorded). Setting it replaces both.
    public var methods: [Summary] {
        get { (methodOrder.isEmpty ? methodsByLabel.keys.sorted() : methodOrder).compactMap { methodsByLabel[$0] } }
        set {
            methodOrder = newValue.map(\.method)
            methodsByLabel = Dictionary(newValue.map { ($0.method, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }
}
