/// A mainland mobile number: 11 digits starting with 1, optionally written with +86 or 86.
/// Landlines (with an area code and hyphen) are accepted as contact numbers by `ContactPhone`.
public struct PhoneNumber: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    public enum FormatError: Error, Equatable, Sendable { case format }

    public init(parsing raw: String) throws(FormatError) {
        // As a roster holds it: 11 ASCII digits starting with 1, nothing to normalise.
        if raw.utf8.count == 11, raw.utf8.first == UInt8(ascii: "1"), raw.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            value = raw
            return
        }
        var text = Normalize.identifier(raw).filter { $0 != "-" }
        if text.hasPrefix("+86") { text.removeFirst(3) } else if text.hasPrefix("0086") { text.removeFirst(4) }
        else if text.count == 13, text.hasPrefix("86") { text.removeFirst(2) }
        guard text.count == 11, text.hasPrefix("1"), text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw .format
        }
        value = text
    }

    /// 138****5678: what lists and logs may show.
    public var masked: String { Self.mask(value) }

    public static func mask(_ text: String) -> String {
        guard text.count > 7 else { return String(repeating: "*", count: text.count) }
        return String(text.prefix(3)) + String(repeating: "*", count: text.count - 7) + String(text.suffix(4))
    }

    public var description: String { masked }
}

/// A contact number for an organisation: a mobile number, or a landline such as 010-65123456
/// (digits with an optional area code, extension and hyphens, 7 to 20 characters).
public enum ContactPhone {
    public static func normalise(_ raw: String) -> String? {
        if let mobile = try? PhoneNumber(parsing: raw) { return mobile.value }
        let text = Normalize.identifier(raw)
        guard (7...20).contains(text.count),
              text.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "-" || $0 == "+" }),
              text.filter({ $0.isNumber }).count >= 7
        else { return nil }
        return text
    }
}
