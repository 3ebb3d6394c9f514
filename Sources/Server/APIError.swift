import Foundation
import Hummingbird

/// The server's JSON coders: snake_case keys on the wire, Swift names in code.
public enum APICoding {
    /// Decodes request bodies (snake_case keys to camelCase properties).
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }

    /// Encodes response bodies (camelCase properties to snake_case keys).
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}

/// An error the server answers with an OpenAI-style error object and a 4xx/5xx status.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// OpenAI's error type: `invalid_request_error`, `authentication_error`, `not_found_error`, ….
    public var type: String
    public var message: String
    /// The request field at fault, when one is.
    public var param: String?
    public var code: String?

    public init(status: HTTPResponse.Status, type: String, message: String, param: String? = nil, code: String? = nil) {
        self.status = status
        self.type = type
        self.message = message
        self.param = param
        self.code = code
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    /// 400: a malformed or invalid request.
    public static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .badRequest, type: "invalid_request_error", message: message, param: param, code: code)
    }

    /// 401: a missing or wrong API key.
    public static let unauthorized = APIError(
        status: .unauthorized, type: "authentication_error",
        message: "missing or invalid API key: send 'Authorization: Bearer KEY'", code: "invalid_api_key")

    /// 404: a model this server does not serve.
    public static func unknownModel(_ name: String, served: String) -> APIError {
        APIError(status: .notFound, type: "invalid_request_error",
                 message: "the model '\(name)' does not exist here; this server serves '\(served)'", param: "model",
                 code: "model_not_found")
    }

    /// 404: no such route.
    public static func notFound(_ path: String) -> APIError {
        APIError(status: .notFound, type: "not_found_error", message: "no route \(path)", code: "not_found")
    }

    /// 413: a body over the configured limit.
    public static func tooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, type: "invalid_request_error",
                 message: "the request body is larger than \(limit) bytes (--max-body-bytes)", code: "request_too_large")
    }

    /// 429: every slot busy and the queue full.
    public static func queueFull(queue: Int) -> APIError {
        APIError(status: .tooManyRequests, type: "server_overloaded",
                 message: "all slots are busy and the queue of \(queue) is full; retry later", code: "queue_full")
    }

    /// 503: the server is shutting down.
    public static let shuttingDown = APIError(
        status: .serviceUnavailable, type: "server_error", message: "the server is shutting down", code: "shutting_down")

    /// 500: something the request could not cause.
    public static func internalError(_ message: String) -> APIError {
        APIError(status: .internalServerError, type: "server_error", message: message)
    }

    /// The error object as a response.
    public func response() -> Response {
        let body = ErrorBody(error: .init(message: message, type: type, param: param, code: code))
        let data = (try? APICoding.encoder().encode(body)) ?? Data("{\"error\":{\"message\":\"error\",\"type\":\"server_error\"}}".utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A decoding error in words that name the field (JSONDecoder's own messages name coding keys).
    public static func decoding(_ error: Error, body: Data? = nil) -> APIError {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        guard let e = error as? DecodingError else { return .invalid("the body is not valid JSON: \(error)") }
        switch e {
        case .dataCorrupted(let c) where c.codingPath.isEmpty:
            if let body, (try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])) != nil {
                // Foundation reports a number that does not fit its field (1.5 for an integer) this way.
                return .invalid("a value does not fit its field (for example a fraction or a huge number where an integer is expected)")
            }
            return .invalid("the body is not valid JSON")
        case .dataCorrupted(let c):
            return .invalid("invalid value at '\(path(c.codingPath))': \(c.debugDescription)", param: snake(path(c.codingPath)))
        case .keyNotFound(let key, let c):
            let p = path(c.codingPath + [key])
            return .invalid("missing required field '\(snake(p))'", param: snake(p))
        case .typeMismatch(let type, let c):
            let p = snake(path(c.codingPath))
            return .invalid("wrong type at '\(p)': expected \(typeName(type)). \(c.debugDescription)", param: p)
        case .valueNotFound(let type, let c):
            let p = snake(path(c.codingPath))
            return .invalid("'\(p)' is null, expected \(typeName(type))", param: p)
        @unknown default:
            return .invalid("the body could not be decoded: \(error)")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Float.Type, is Double.Type: return "a number"
        default:
            let s = String(describing: type)
            if s.hasPrefix("Array") { return "a list" }
            if s.hasPrefix("Dictionary") { return "an object" }
            return "a valid value"
        }
    }

    /// camelCase property path to the wire's snake_case.
    static func snake(_ s: String) -> String {
        var out = ""
        for ch in s {
            if ch.isUppercase {
                out += "_" + ch.lowercased()
            } else {
                out.append(ch)
            }
        }
        return out
    }
}
