/// A resident identity card number (居民身份证号码, GB 11643-1999): 6-digit address code,
/// birth date YYYYMMDD, 3-digit sequence (odd for men, even for women), check character.
///
/// Input is normalised first (full-width digits, a lowercase x, spaces and hyphens). The address
/// code is not looked up: people come from every province and codes change, so any six digits
/// that do not start with 0 are accepted.
public struct ResidentID: Hashable, Sendable, CustomStringConvertible {
    public enum Sex: String, Codable, Sendable { case male = "M", female = "F" }

    public enum Problem: Error, Equatable, Sendable {
        /// Not 18 characters of digits with a final digit or X.
        case format
        /// The check character does not match the other 17.
        case checksum
        /// The birth date part is not a real day.
        case birthDate
        /// Born after `today`.
        case future
        /// Younger than the minimum age on `today`.
        case tooYoung(minimum: Int)
    }

    /// The canonical 18 characters, upper-case X.
    public let value: String
    public let birthDate: CalendarDate
    public let sex: Sex

    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checkCharacters: [Character] = Array("10X98765432")

    /// Checks the number; `today` (in Asia/Shanghai) decides "not in the future" and the minimum age.
    public init(parsing raw: String, today: CalendarDate, minimumAge: Int = 16) throws(Problem) {
        let text = Normalize.identifier(raw).filter { $0 != "-" }
        let chars = Array(text.utf8)
        guard chars.count == 18,
              chars[0..<17].allSatisfy({ $0 >= 48 && $0 <= 57 }),
              (chars[17] >= 48 && chars[17] <= 57) || chars[17] == UInt8(ascii: "X"),
              chars[0] != 48
        else { throw .format }
        var sum = 0
        for index in 0..<17 { sum += Int(chars[index] - 48) * Self.weights[index] }
        guard Self.checkCharacters[sum % 11] == Character(Unicode.Scalar(chars[17])) else { throw .checksum }

        func number(_ range: Range<Int>) -> Int { chars[range].reduce(0) { $0 * 10 + Int($1 - 48) } }
        let birth: CalendarDate
        do { birth = try CalendarDate(year: number(6..<10), month: number(10..<12), day: number(12..<14)) }
        catch { throw .birthDate }
        guard birth <= today else { throw .future }
        guard Self.age(born: birth, on: today) >= minimumAge else { throw .tooYoung(minimum: minimumAge) }
        value = text
        birthDate = birth
        sex = number(14..<17) % 2 == 1 ? .male : .female
    }

    /// Full years between `born` and `day`.
    public static func age(born: CalendarDate, on day: CalendarDate) -> Int {
        var years = day.year - born.year
        if (day.month, day.day) < (born.month, born.day) { years -= 1 }
        return years
    }

    /// 110105********002X: the address code and the last four, the birth date hidden.
    public var masked: String { Self.mask(value) }

    public static func mask(_ text: String) -> String {
        guard text.count == 18 else { return String(repeating: "*", count: text.count) }
        return String(text.prefix(6)) + String(repeating: "*", count: 8) + String(text.suffix(4))
    }

    /// The first six digits, the address code of where the number was issued.
    public var addressCode: String { String(value.prefix(6)) }

    public var description: String { masked }

    /// The check character for 17 digits, for tests and generators.
    public static func checkCharacter(for first17: String) -> Character? {
        let digits = Array(first17.utf8)
        guard digits.count == 17, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        var sum = 0
        for index in 0..<17 { sum += Int(digits[index] - 48) * weights[index] }
        return checkCharacters[sum % 11]
    }
}
