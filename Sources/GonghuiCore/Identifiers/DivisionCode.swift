/// An administrative division code (GB/T 2260): six digits for a province, city or district;
/// nine or twelve for the street and community codes that extend it.
public struct DivisionCode: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    public enum FormatError: Error, Equatable, Sendable {
        case format
    }

    public init(parsing raw: String) throws(FormatError) {
        let text = Normalize.identifier(raw)
        guard [6, 9, 12].contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }),
              !text.hasPrefix("00")
        else { throw .format }
        self.value = text
    }

    /// The province-level prefix, e.g. "11" for Beijing.
    public var province: Substring { value.prefix(2) }

    public var description: String { value }
}
