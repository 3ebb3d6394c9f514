import Hummingbird

/// Turns every error into an OpenAI-style error response (the router's own 404/405/413 included) and
/// counts every response by endpoint and status.
struct ErrorAndMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let endpoint = Self.endpoint(request.uri.path)
        let response: Response
        do {
            response = try await next(request, context)
        } catch let e as APIError {
            response = e.response()
        } catch let e as HTTPError {
            switch e.status {
            case .notFound: response = APIError.notFound(request.uri.path).response()
            case .contentTooLarge: response = APIError(status: e.status, type: "invalid_request_error",
                                                       message: e.body ?? "the request body is too large", code: "request_too_large").response()
            case .methodNotAllowed:
                response = APIError(status: e.status, type: "invalid_request_error",
                                    message: "\(request.method) is not allowed on \(request.uri.path)").response()
            default:
                response = APIError(status: e.status, type: e.status.code < 500 ? "invalid_request_error" : "server_error",
                                    message: e.body ?? e.status.reasonPhrase).response()
            }
        } catch is CancellationError {
            // The client went away before an answer: nobody reads this one.
            response = APIError(status: .init(code: 499, reasonPhrase: "Client Closed Request"), type: "server_error",
                                message: "the request was cancelled").response()
        } catch {
            response = APIError.internalError("\(error)").response()
        }
        metrics.request(endpoint: endpoint, status: response.status.code)
        context.logger.info("\(request.method) \(request.uri.path) \(response.status.code)")
        return response
    }

    /// The route a path belongs to (unknown paths share one label, so the label set stays bounded).
    static func endpoint(_ path: String) -> String {
        switch path {
        case "/health", "/metrics", "/openapi.json", "/v1/models", "/v1/completions", "/v1/chat/completions": return path
        default: return "other"
        }
    }
}

/// With `--api-key`: every `/v1/*` request needs `Authorization: Bearer KEY` (401 otherwise).
/// `/health`, `/metrics` and `/openapi.json` stay open, as in llama-server.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path.hasPrefix("/v1/") {
            let given = request.headers[.authorization] ?? ""
            guard constantTimeEqual(given, "Bearer " + key) else { throw APIError.unauthorized }
        }
        return try await next(request, context)
    }

    /// Compares without an early exit on the first differing byte.
    private func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0
    }
}
