/// A type with a value to use when a JSON object lacks a key (``Defaulted``): zero, empty.
public protocol CodingDefaultValue {
    /// The value an absent or `null` key decodes to.
    static var codingDefault: Self { get }
}

extension Int: CodingDefaultValue { public static var codingDefault: Int { 0 } }
extension Double: CodingDefaultValue { public static var codingDefault: Double { 0 } }
extension Bool: CodingDefaultValue { public static var codingDefault: Bool { false } }
extension String: CodingDefaultValue { public static var codingDefault: String { "" } }
extension Array: CodingDefaultValue { public static var codingDefault: Array { [] } }

/// A stored property that decodes to its type's ``CodingDefaultValue/codingDefault`` when its key is
/// absent or `null`, so that files written before the property existed still read. Encoding is the
/// value's own; the synthesized `Codable` of the enclosing type does the rest.
///
/// ```swift
/// struct Counts: Codable {
///     @Defaulted var treeSteps = 0          // {"drafted": 3} decodes with treeSteps == 0
///     var drafted: Int
/// }
/// ```
@propertyWrapper
public struct Defaulted<Value: Codable & CodingDefaultValue>: Codable {
    public var wrappedValue: Value

    public init(wrappedValue: Value) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws { wrappedValue = try Value(from: decoder) }

    public func encode(to encoder: Encoder) throws { try wrappedValue.encode(to: encoder) }
}

extension Defaulted: Equatable where Value: Equatable {}
extension Defaulted: Hashable where Value: Hashable {}
extension Defaulted: Sendable where Value: Sendable {}

extension KeyedDecodingContainer {
    /// Chosen by synthesized `init(from:)` for ``Defaulted`` properties: an absent or `null` key
    /// gives the default instead of a `keyNotFound` error.
    public func decode<Value>(_ type: Defaulted<Value>.Type, forKey key: Key) throws -> Defaulted<Value> {
        try decodeIfPresent(type, forKey: key) ?? Defaulted(wrappedValue: Value.codingDefault)
    }
}
