import SpecDecEngine

/// What `specdec serve` was started with: the model's name, limits, and the speculation every request
/// gets unless its `speculative` field says otherwise.
public struct ServerConfiguration: Sendable {
    /// The model id `GET /v1/models` lists; requests naming another model get 404.
    public var modelName: String
    /// Slots: requests generated at the same time, each with its own KV caches.
    public var parallel = 1
    /// Requests that may wait for a slot; one more gets 429.
    public var queue = 16
    /// When set, every `/v1/*` request needs `Authorization: Bearer KEY`.
    public var apiKey: String?
    /// Largest request body accepted (413 above it).
    public var maxBodyBytes = 1 << 20
    /// Tokens generated when a request gives no `max_tokens`.
    public var defaultMaxTokens = 256
    /// The server's speculation settings (drafter `none`: plain decoding unless a request asks).
    public var speculation = SpeculationOptions()
    /// Whether requests speculate by default (a drafter, or a verifier other than auto, was given).
    public var speculativeByDefault = false
    /// R-Stitch routing for every request (`--router rstitch`); requests may not override it.
    public var router: RStitchPolicy?
    /// Seconds `created` counts from (the server's start).
    public var created = 0

    public init(modelName: String) {
        self.modelName = modelName
    }
}
