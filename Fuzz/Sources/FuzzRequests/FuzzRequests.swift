// The server's request decoders and their validation into jobs, on arbitrary bodies, against a tiny
// model. Invariants: every body is either a job or an APIError with a 4xx status; never traps.
import Foundation
import SpecDecEngine
import SpecDecServer
import SpecDecTestSupport

nonisolated(unsafe) let builder: JobBuilder? = {
    var spec = TinyModel.Spec(architecture: "qwen2")
    spec.layers = 1
    spec.context = 64
    guard let p = try? TinyModel.write(spec, name: "fuzz-requests"),
          let model = try? LoadedModel(path: p, name: "tiny", contextLength: 64, threads: 1) else { return nil }
    var config = ServerConfiguration(modelName: "tiny")
    config.defaultMaxTokens = 8
    return JobBuilder(configuration: config, model: model, hasDraftModel: false)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequests(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let builder else { return 0 }
    let body = Data(bytes: data, count: size)
    for chat in [false, true] {
        do {
            if chat {
                let r = try APICoding.decoder().decode(ChatCompletionRequest.self, from: body)
                _ = try builder.job(r)
            } else {
                let r = try APICoding.decoder().decode(CompletionRequest.self, from: body)
                _ = try builder.job(r)
            }
        } catch let e as APIError {
            precondition((400..<500).contains(e.status.code), "status \(e.status.code) for a bad request")
        } catch is DecodingError {
            _ = APIError.decoding(DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "")), body: body)
        } catch {
            preconditionFailure("unexpected error type \(type(of: error)): \(error)")
        }
    }
    return 0
}
