import XCTest
import SpecDecGGUF
import SpecDecKernels
@testable import SpecDecModel
import SpecDecTestSupport

/// Token-tree forwards: every node's logits equal a forward of its root-to-node path (bit for bit,
/// under every kernel set), the accepted path's keys and values are moved into place, and malformed
/// trees are typed errors.
final class TreeAttentionTests: XCTestCase {
    static let architectures = ["llama", "qwen2", "gemma3"]
    /// Context, then a tree: two roots, branches at depth 1 and 2, depth up to 4 (crosses gemma's
    /// sliding window of 8 with the 6-token context).
    static let context: [Int32] = [5, 17, 200, 3, 99, 42]
    static let tree: [Int32] = [7, 150, 11, 7, 60, 61, 62, 9]
    static let parents = [-1, 0, 0, -1, 1, 4, 4, 5]

    private func model(_ arch: String, kernels: KernelSet, weights: GGMLType = .q4_K, embedding: GGMLType = .q6_K) throws -> Transformer {
        var spec = TinyModel.Spec(architecture: arch)
        spec.weightType = weights; spec.embeddingType = embedding
        spec.dim = 256; spec.ffn = 512; spec.heads = 4; spec.headDim = 64; spec.kvHeads = 2
        return try Transformer(path: try TinyModel.write(spec), contextLength: 64, threads: 2, kernels: kernels)
    }

    private func path(_ i: Int) -> [Int] {
        var p: [Int] = []
        var n = i
        while n >= 0 { p.append(n); n = Self.parents[n] }
        return p.reversed()
    }

    private func bits(_ row: UnsafeBufferPointer<Float>) -> [UInt32] { row.map(\.bitPattern) }

    func testEveryTreeRowEqualsAForwardOfItsPathUnderEveryKernelSet() throws {
        for kernels in KernelSet.supported {
            for arch in Self.architectures {
                for (w, e) in [(GGMLType.q4_K, GGMLType.q6_K), (.q8_0, .f16)] {
                    let m = try model(arch, kernels: kernels, weights: w, embedding: e)
                    _ = try m.forward(Self.context, logits: .last)
                    let rows = try m.forward(Self.tree, parents: Self.parents, logits: .all)
                    let treeRows = (0..<Self.tree.count).map { bits(rows[$0]) }
                    XCTAssertEqual(m.position, Self.context.count + Self.tree.count)
                    for i in Self.tree.indices {
                        m.reset()
                        let tokens = Self.context + path(i).map { Self.tree[$0] }
                        let reference = try m.forward(tokens, logits: .last)
                        XCTAssertEqual(bits(reference[0]), treeRows[i], "\(kernels) \(arch) \(w) node \(i)")
                    }
                }
            }
        }
    }

    func testAChainThroughTheTreeKernelsEqualsTheChainForward() throws {
        for kernels in KernelSet.supported {
            for arch in Self.architectures {
                let m = try model(arch, kernels: kernels)
                let tokens: [Int32] = [7, 150, 11, 60]
                _ = try m.forward(Self.context, logits: .last)
                let chain = try m.forward(tokens, logits: .all)
                let expected = (0..<tokens.count).map { bits(chain[$0]) }
                m.truncate(to: Self.context.count)
                let start = Self.context.count
                // parentSlots always takes the tree path (row-indexed attention).
                let tree = try m.forward(tokens, parentSlots: [-1, start, start + 1, start + 2], treeStart: start, logits: .all)
                for i in tokens.indices { XCTAssertEqual(bits(tree[i]), expected[i], "\(kernels) \(arch) row \(i)") }
                // And the batch-relative spelling of a chain is the chain forward itself.
                m.truncate(to: start)
                let viaParents = try m.forward(tokens, parents: [-1, 0, 1, 2], logits: .all)
                for i in tokens.indices { XCTAssertEqual(bits(viaParents[i]), expected[i], "\(kernels) \(arch) parents row \(i)") }
            }
        }
    }

    func testKeepingAPathEqualsHavingEvaluatedIt() throws {
        for arch in Self.architectures {
            let m = try model(arch, kernels: .active)
            let start = Self.context.count
            _ = try m.forward(Self.context, logits: .last)
            _ = try m.forward(Self.tree, parents: Self.parents, logits: .all)
            let kept = path(6)  // [3, 4, 6]
            try m.keepTreePath(kept, from: start)
            XCTAssertEqual(m.position, start + kept.count)
            let next = try m.forward([33], logits: .last)
            let got = bits(next[0])
            m.reset()
            let reference = try m.forward(Self.context + kept.map { Self.tree[$0] } + [33], logits: .last)
            XCTAssertEqual(bits(reference[0]), got, arch)
        }
    }

    func testATreeGrownDepthByDepthEqualsForwardsOfItsPaths() throws {
        for arch in Self.architectures {
            let m = try model(arch, kernels: .active)
            let base = Self.context.count
            _ = try m.forward(Self.context, logits: .last)
            // Depth 0: two roots; depth 1: children of both; depth 2: a child of the second child.
            _ = try m.forward([7, 8], parentSlots: [-1, -1], treeStart: base)
            _ = try m.forward([20, 21, 22], parentSlots: [base, base + 1, base + 1], treeStart: base)
            let last = try m.forward([40], parentSlots: [base + 4], treeStart: base, logits: .all)
            let got = bits(last[0])
            m.reset()
            let reference = try m.forward(Self.context + [8, 22, 40], logits: .last)
            XCTAssertEqual(bits(reference[0]), got, arch)
        }
    }

    func testMalformedTreesAreTypedErrorsAndChangeNothing() throws {
        let m = try model("llama", kernels: .active)
        _ = try m.forward(Self.context, logits: .last)
        let before = m.position
        XCTAssertThrowsError(try m.forward([1, 2], parents: [-1, 1])) { XCTAssertTrue("\($0)".contains("token tree"), "\($0)") }
        XCTAssertThrowsError(try m.forward([1, 2], parents: [-1]))
        XCTAssertThrowsError(try m.forward([1, 2], parents: [-2, 0]))
        XCTAssertThrowsError(try m.forward([1], parentSlots: [2], treeStart: before))          // inside the context
        XCTAssertThrowsError(try m.forward([1], parentSlots: [-1], treeStart: before - 2))     // not a tree there
        XCTAssertEqual(m.position, before)
        _ = try m.forward([1, 2, 3], parents: [-1, 0, 0])
        XCTAssertThrowsError(try m.keepTreePath([1, 2], from: before))  // not a path of increasing depth rows
        XCTAssertThrowsError(try m.keepTreePath([0, 9], from: before))  // outside the cache
    }
}
