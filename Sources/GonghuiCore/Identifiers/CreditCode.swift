/// The unified social credit code (统一社会信用代码, GB 32100-2015) of an enterprise or a union.
///
/// A code with the wrong length or characters is rejected; a code whose check character does not
/// match is kept with a warning, because early pilot codes fail the checksum and are still in use.
public struct CreditCode: Hashable, Sendable, CustomStringConvertible {
    public let value: String
    /// False when the 18th character is not the one GB 32100 computes from the first 17.
    public let checksumValid: Bool

    public enum FormatError: Error, Equatable, Sendable {
        case length(Int)
        case character(Character, position: Int)
    }

    static let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
    static let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    /// Normalises (full-width, lower case, spaces) and checks the format.
    public init(parsing raw: String) throws(FormatError) {
        let text = Array(Normalize.identifier(raw))
        guard text.count == 18 else { throw .length(text.count) }
        var values: [Int] = []
        for (index, character) in text.enumerated() {
            guard let value = Self.alphabet.firstIndex(of: character) else {
                throw .character(character, position: index + 1)
            }
            values.append(value)
        }
        self.value = String(text)
        self.checksumValid = Self.checkValue(values.prefix(17)) == values[17]
    }

    /// The value of the check character for the first 17 values.
    static func checkValue(_ values: ArraySlice<Int>) -> Int {
        let sum = zip(values, weights).reduce(0) { $0 + $1.0 * $1.1 }
        let check = 31 - sum % 31
        return check == 31 ? 0 : check
    }

    /// The check character GB 32100 gives for a 17-character prefix, or nil if it has bad characters.
    public static func checkCharacter(for prefix: String) -> Character? {
        let values = prefix.compactMap { alphabet.firstIndex(of: $0) }
        guard values.count == 17, prefix.count == 17 else { return nil }
        return alphabet[checkValue(values[...])]
    }

    public var description: String { value }
}
