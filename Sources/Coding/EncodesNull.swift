/// An optional stored property written as `null` when it is nil (synthesized `Codable` leaves the
/// key out instead), so that every object of a report has the same keys. An absent key decodes to nil.
///
/// ```swift
/// struct Summary: Codable {
///     @EncodesNull var speedup: Double? = nil   // {"speedup":null}
/// }
/// ```
@propertyWrapper
public struct EncodesNull<Wrapped: Codable>: Codable {
    public var wrappedValue: Wrapped?

    public init(wrappedValue: Wrapped?) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? nil : try c.decode(Wrapped.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let value = wrappedValue { try c.encode(value) } else { try c.encodeNil() }
    }
}

extension EncodesNull: Equatable where Wrapped: Equatable {}
extension EncodesNull: Hashable where Wrapped: Hashable {}
extension EncodesNull: Sendable where Wrapped: Sendable {}

extension KeyedDecodingContainer {
    /// Chosen by synthesized `init(from:)` for ``EncodesNull`` properties: an absent key is nil.
    public func decode<Wrapped>(_ type: EncodesNull<Wrapped>.Type, forKey key: Key) throws -> EncodesNull<Wrapped> {
        try decodeIfPresent(type, forKey: key) ?? EncodesNull(wrappedValue: nil)
    }
}
