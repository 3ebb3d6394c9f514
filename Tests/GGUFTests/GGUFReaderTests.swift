import XCTest
import SpecDecGGUF
import SpecDecKernels
import SpecDecTestSupport

final class GGUFReaderTests: XCTestCase {
    private func writeFile(_ bytes: [UInt8], _ name: String = "t.gguf") throws -> String {
        let path = TinyModel.temporaryPath(name: name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func sampleWriter(version: UInt32 = 3) -> GGUFWriter {
        var w = GGUFWriter()
        w.version = version
        w.set("general.architecture", .string("llama"))
        w.set("u8", .uint8(200)); w.set("i8", .int8(-5)); w.set("u16", .uint16(60000)); w.set("i16", .int16(-300))
        w.set("u32", .uint32(4_000_000_000)); w.set("i32", .int32(-70000)); w.set("f32", .float32(1.5))
        w.set("bool", .bool(true)); w.set("str", .string("héllo ✓")); w.set("u64", .uint64(1 << 40))
        w.set("i64", .int64(-(1 << 40))); w.set("f64", .float64(2.25))
        w.set("nested", .array(elementType: .array, [
            .array(elementType: .int32, [.int32(1), .int32(2)]),
            .array(elementType: .string, [.string("a"), .string("")]),
        ]))
        w.addTensor("a", shape: [4], floats: [1, 2, 3, 4])
        w.addTensor("b", shape: [32, 2], type: .q8_0, data: [UInt8](repeating: 0, count: 68))
        return w
    }

    func testEveryMetadataTypeRoundTripsIncludingNestedArrays() throws {
        for version: UInt32 in [2, 3] {
            let w = sampleWriter(version: version)
            let f = try GGUFFile(path: try writeFile(w.encoded()))
            XCTAssertEqual(f.version, version)
            XCTAssertEqual(f.metadata["u8"], .uint8(200))
            XCTAssertEqual(f.metadata["i8"], .int8(-5))
            XCTAssertEqual(f.metadata["u16"], .uint16(60000))
            XCTAssertEqual(f.metadata["i16"], .int16(-300))
            XCTAssertEqual(f.metadata["u32"], .uint32(4_000_000_000))
            XCTAssertEqual(f.metadata["i32"], .int32(-70000))
            XCTAssertEqual(f.metadata["f32"], .float32(1.5))
            XCTAssertEqual(f.metadata["bool"], .bool(true))
            XCTAssertEqual(f.metadata["str"], .string("héllo ✓"))
            XCTAssertEqual(f.metadata["u64"], .uint64(1 << 40))
            XCTAssertEqual(f.metadata["i64"], .int64(-(1 << 40)))
            XCTAssertEqual(f.metadata["f64"], .float64(2.25))
            XCTAssertEqual(f.metadata["nested"]?.array?.count, 2)
            XCTAssertEqual(f.metadata["nested"]?.array?[1].array?[0], .string("a"))
            XCTAssertEqual(f.metadataKeys.first, "general.architecture")
            XCTAssertEqual(f.architecture, "llama")
        }
    }

    func testTensorDataIsMappedAtTheAlignedOffset() throws {
        for alignment in [32, 64, 256] {
            var w = sampleWriter()
            w.alignment = alignment
            let f = try GGUFFile(path: try writeFile(w.encoded()))
            XCTAssertEqual(f.alignment, alignment)
            XCTAssertEqual(f.dataOffset % alignment, 0)
            let a = try f.tensor("a")
            XCTAssertEqual(a.shape, [4])
            XCTAssertEqual(a.type, .f32)
            let p = f.data(of: a).assumingMemoryBound(to: Float.self)
            XCTAssertEqual(Array(UnsafeBufferPointer(start: p, count: 4)), [1, 2, 3, 4])
            let b = try f.tensor("b")
            XCTAssertEqual(b.type, .q8_0)
            XCTAssertEqual(b.byteCount, 68)
            XCTAssertEqual(b.offset % alignment, 0)
        }
    }

    func testWrongMagicIsRejectedWithItsValue() throws {
        var bytes = sampleWriter().encoded()
        bytes[0] = UInt8(ascii: "X")
        XCTAssertThrowsError(try GGUFFile(path: try writeFile(bytes))) { error in
            guard case GGUFError.badMagic = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("not a GGUF file"))
        }
    }

    func testUnsupportedVersionIsRejected() throws {
        var bytes = sampleWriter().encoded()
        bytes[4] = 1
        XCTAssertThrowsError(try GGUFFile(path: try writeFile(bytes))) { error in
            XCTAssertEqual(error as? GGUFError, .unsupportedVersion(1))
        }
    }

    func testEveryTruncationPointGivesATruncatedOrOutOfBoundsError() throws {
        let bytes = sampleWriter().encoded()
        let full = try GGUFFile(path: try writeFile(bytes))
        let dataEnd = full.tensors.map { full.dataOffset + $0.offset + $0.byteCount }.max() ?? 0
        // Cut the file at many points, including inside the header, metadata, tensor infos and data
        // (bytes past the last tensor's data are only padding).
        for cut in Array(stride(from: 0, to: dataEnd, by: 7)) + [dataEnd - 1] {
            let path = try writeFile(Array(bytes[..<cut]))
            XCTAssertThrowsError(try GGUFFile(path: path), "cut at \(cut)") { error in
                switch error as? GGUFError {
                case .truncated?, .tensorOutOfBounds?: break
                default: XCTFail("cut at \(cut): unexpected \(error)")
                }
            }
        }
    }

    func testUnknownTensorTypeNamesTheTensor() throws {
        var w = GGUFWriter()
        w.addTensor("weird", shape: [4], floats: [0, 0, 0, 0])
        var bytes = w.encoded()
        // The tensor type u32 follows name (8+5), n_dims (4), one dim (8).
        let infoStart = 4 + 4 + 8 + 8
        let typeOffset = infoStart + 8 + 5 + 4 + 8
        bytes[typeOffset] = 99
        XCTAssertThrowsError(try GGUFFile(path: try writeFile(bytes))) { error in
            XCTAssertEqual(error as? GGUFError, .unknownTensorType(tensor: "weird", raw: 99))
        }
    }

    func testATensorRunningPastTheEndOfTheFileIsRejected() throws {
        var w = GGUFWriter()
        w.addTensor("t", shape: [4], floats: [0, 0, 0, 0])
        var bytes = w.encoded()
        let offsetField = 4 + 4 + 8 + 8 + 8 + 1 + 4 + 8 + 4
        bytes[offsetField + 2] = 1  // offset += 65536
        XCTAssertThrowsError(try GGUFFile(path: try writeFile(bytes))) { error in
            guard case GGUFError.tensorOutOfBounds(let name, _, _)? = error as? GGUFError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "t")
        }
    }

    func testAMissingFileGivesCannotOpen() {
        XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/model.gguf")) { error in
            guard case GGUFError.cannotOpen? = error as? GGUFError else { return XCTFail("\(error)") }
        }
    }

    func testRealModelsParseWhenPresent() throws {
        let dir = ProcessInfo.processInfo.environment["SPECDEC_MODELS"] ?? (NSHomeDirectory() + "/.cache/specdec/models")
        var found = 0
        for name in ["smollm2-135m", "gemma-3-270m", "qwen2.5-coder-0.5b"] {
            let path = "\(dir)/\(name).gguf"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let f = try GGUFFile(path: path)
            XCTAssertEqual(f.version, 3)
            XCTAssertNotNil(f.info("token_embd.weight"))
            XCTAssertFalse(try f.strings("tokenizer.ggml.tokens").isEmpty)
            found += 1
        }
        if found == 0 { throw XCTSkip("no real model in \(dir): run `specdec pull smollm2-135m`") }
    }
}
