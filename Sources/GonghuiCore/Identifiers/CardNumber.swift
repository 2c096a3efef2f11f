/// A member card number (会员卡号): 16 digits printed in groups of four, `1100 0000 0012 3457`.
///
/// - 4 digits: the first four of the city's division code (Beijing 1100), so cards of two cities
///   never collide when members move between them;
/// - 11 digits: a serial the database hands out in blocks;
/// - 1 check digit (Luhn, as on bank cards, which the member mutual-aid card is issued with):
///   every single mistyped digit and almost every swap of two neighbours is caught.
public struct CardNumber: Hashable, Sendable, CustomStringConvertible {
    public enum Problem: Error, Equatable, Sendable { case format, checksum }

    public let value: String

    public static let serialDigits = 11

    public init(prefix: String, serial: Int64) {
        let prefix4 = String((prefix + "0000").prefix(4))
        let serialText = String(serial)
        let body = prefix4 + String(repeating: "0", count: max(0, Self.serialDigits - serialText.count)) + serialText
        value = body + String(Self.luhnDigit(for: body))
    }

    /// Accepts spaces, hyphens and full-width digits as people type and read numbers out.
    public init(parsing raw: String) throws(Problem) {
        let text = Normalize.identifier(raw).filter { $0 != "-" }
        guard text.count == 16, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { throw .format }
        guard Self.luhnDigit(for: String(text.prefix(15))) == text.last!.wholeNumberValue! else { throw .checksum }
        value = text
    }

    /// `1100 0000 0012 3457`
    public var grouped: String {
        var out = ""
        for (index, char) in value.enumerated() {
            if index > 0 && index % 4 == 0 { out.append(" ") }
            out.append(char)
        }
        return out
    }

    public var description: String { grouped }

    static func luhnDigit(for body: String) -> Int {
        var sum = 0
        for (index, byte) in body.utf8.reversed().enumerated() {
            var digit = byte >= 48 && byte <= 57 ? Int(byte - 48) : 0
            if index % 2 == 0 {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
        }
        return (10 - sum % 10) % 10
    }
}
