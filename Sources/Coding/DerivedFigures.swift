/// A type whose stored values are counts and whose JSON also shows figures derived from them (rates
/// beside counts). The type's own `Codable` is synthesized over the counts (decoding reads only
/// those: the figures are recomputed); ``report`` is the JSON object with both.
///
/// ```swift
/// extension SpeculationStats: DerivedFiguresReporting {
///     public var derivedFigures: Rates { Rates(meanAccepted: meanAccepted, …) }
/// }
/// try JSONEncoder().encode(stats.report)   // {"accepted":…, "mean_accepted":…, …}
/// ```
public protocol DerivedFiguresReporting: Encodable {
    /// The computed figures, as a synthesized `Encodable` whose keys differ from the counts' keys.
    associatedtype DerivedFigures: Encodable
    var derivedFigures: DerivedFigures { get }
}

extension DerivedFiguresReporting {
    /// The counts and the derived figures as one JSON object.
    public var report: FlatJSON { FlatJSON(self, derivedFigures) }
}

/// Several values encoded into one JSON object: each part writes its keys into the same keyed
/// container (parts must encode as objects and must not share keys; nil parts are skipped).
///
/// ```swift
/// try JSONEncoder().encode(FlatJSON(generation.report, speculation?.report))
/// ```
public struct FlatJSON: Encodable {
    private let parts: [any Encodable]

    public init(_ parts: (any Encodable)?...) { self.parts = parts.compactMap { $0 } }

    public func encode(to encoder: Encoder) throws {
        for part in parts { try part.encode(to: encoder) }
    }
}

/// An optional property of a ``DerivedFiguresReporting`` type written as its ``DerivedFiguresReporting/report``
/// (counts and derived figures in one object), or `null` when nil; decoding reads the counts.
@propertyWrapper
public struct ReportedWithFigures<Value: Codable & DerivedFiguresReporting>: Codable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? nil : try Value(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        if let value = wrappedValue {
            try value.report.encode(to: encoder)
        } else {
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        }
    }
}

extension ReportedWithFigures: Equatable where Value: Equatable {}
extension ReportedWithFigures: Sendable where Value: Sendable {}

extension KeyedDecodingContainer {
    /// Chosen by synthesized `init(from:)` for ``ReportedWithFigures`` properties: an absent key is nil.
    public func decode<Value>(_ type: ReportedWithFigures<Value>.Type, forKey key: Key) throws -> ReportedWithFigures<Value> {
        try decodeIfPresent(type, forKey: key) ?? ReportedWithFigures(wrappedValue: nil)
    }
}
