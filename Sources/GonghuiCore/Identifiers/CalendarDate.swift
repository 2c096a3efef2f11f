/// A calendar day without a time, as staff type it: `2024-03-15` (also `2024/3/15`, `2024.3.15`).
/// Stored and answered as `YYYY-MM-DD`, which sorts as text on every database.
public struct CalendarDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    public enum FormatError: Error, Equatable, Sendable {
        case format
        case noSuchDay
    }

    public init(year: Int, month: Int, day: Int) throws(FormatError) {
        guard (1900...2200).contains(year), (1...12).contains(month) else { throw .noSuchDay }
        guard (1...Self.daysIn(month: month, year: year)).contains(day) else { throw .noSuchDay }
        self.year = year
        self.month = month
        self.day = day
    }

    public init(parsing raw: String) throws(FormatError) {
        // As a roster holds it: YYYY-MM-DD in ASCII, nothing to normalise.
        if raw.utf8.count == 10 {
            let b = Array(raw.utf8)
            func digits(_ range: Range<Int>) -> Int? {
                var n = 0
                for i in range {
                    guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                    n = n * 10 + Int(b[i] - 0x30)
                }
                return n
            }
            if b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
               let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10) {
                try self.init(year: year, month: month, day: day)
                return
            }
        }
        let text = Normalize.identifier(raw)
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == "/" || $0 == "." })
        guard parts.count == 3, parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              parts[0].count == 4, (1...2).contains(parts[1].count), (1...2).contains(parts[2].count),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { throw .format }
        try self.init(year: year, month: month, day: day)
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public var description: String {
        func pad(_ n: Int, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}
