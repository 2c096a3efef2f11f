import Foundation

/// Money is whole fen (分) in storage and arithmetic; yuan with at most two decimals at the edges.
public enum Money {
    public enum Problem: Error, Equatable, Sendable {
        /// Not a number, or more than two decimals.
        case format
        case negative
        /// Above the ceiling: a sum no federation moves in one entry.
        case tooLarge
    }

    /// ¥10 billion: above this an amount is a typing mistake.
    public static let maxFen: Int64 = 1_000_000_000_000

    /// "1245", "1245.5", "1,245.50", "¥1245" → fen. Never through floating point.
    public static func fen(yuan text: String) throws(Problem) -> Int64 {
        var s = Substring(text.trimmingCharacters(in: .whitespaces))
        if s.hasPrefix("¥") || s.hasPrefix("￥") { s = s.dropFirst() }
        s = Substring(s.replacingOccurrences(of: ",", with: ""))
        if s.hasPrefix("-") { throw .negative }
        if s.hasPrefix("+") { s = s.dropFirst() }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = parts.first, !whole.isEmpty || parts.count == 2,
              whole.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw .format }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.count <= 2, fraction.allSatisfy({ $0.isASCII && $0.isNumber }), !(parts.count == 2 && fraction.isEmpty) else { throw .format }
        guard whole.count <= 13 else { throw .tooLarge }
        let yuan = Int64(whole.isEmpty ? "0" : String(whole))!
        let cents = Int64((fraction + String(repeating: "0", count: 2 - fraction.count)))!
        let total = yuan * 100 + cents
        guard total <= maxFen else { throw .tooLarge }
        return total
    }

    /// 124550 → "1245.50": the API's number, exact.
    public static func yuan(_ fen: Int64) -> String {
        let sign = fen < 0 ? "-" : ""
        let magnitude = fen.magnitude
        let cents = magnitude % 100
        return "\(sign)\(magnitude / 100).\(cents < 10 ? "0" : "")\(cents)"
    }

    /// 124550 → "1,245.50": for pages and exports.
    public static func display(_ fen: Int64) -> String {
        let plain = yuan(fen)
        let sign = plain.hasPrefix("-") ? "-" : ""
        let body = sign.isEmpty ? plain : String(plain.dropFirst())
        let dot = body.firstIndex(of: ".")!
        var whole = String(body[..<dot])
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole = String(whole.dropLast(3))
        }
        return sign + whole + grouped + body[dot...]
    }
}
