import Foundation

public enum CSVFormat {
    /// One CSV line (RFC 4180 quoting, CRLF), and also guards against formula injection:
    /// a text cell starting with = + - @ gets a leading apostrophe... ONLY if it is not a plain number
    /// ("-12.5", "+8613800000000" and "1e5" stay as they are; "=SUM(A1)" and "@cmd" become "'=SUM(A1)", "'@cmd").
    /// Fields containing a comma, a quote, CR or LF are quoted and quotes doubled.
    public static func line(_ fields: [String]) -> String {
        var out = ""
        out.reserveCapacity(fields.count * 12)
        var first = true
        for f in fields {
            if !first { out.append(",") }
            first = false
            var field = f
            if let c = field.utf8.first, c == UInt8(ascii: "=") || c == UInt8(ascii: "+")
                || c == UInt8(ascii: "-") || c == UInt8(ascii: "@"), !isPlainNumber(field) {
                field = "'" + field
            }
            var needsQuotes = false
            for b in field.utf8 where b == 0x2C || b == 0x22 || b == 0x0A || b == 0x0D {
                needsQuotes = true
                break
            }
            if needsQuotes {
                out.append("\"")
                out.append(field.replacingOccurrences(of: "\"", with: "\"\""))
                out.append("\"")
            } else {
                out.append(field)
            }
        }
        out.append("\r\n")
        return out
    }

    /// The UTF-8 byte order mark; write it first so Excel and WPS read the CSV as UTF-8.
    public static let utf8BOM: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// `[+-]?(digits[.digits]|.digits)([eE][+-]?digits)?`
    static func isPlainNumber(_ s: String) -> Bool {
        var it = s.utf8.makeIterator()
        var c = it.next()
        if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { c = it.next() }
        var digits = 0
        while let d = c, d >= 0x30 && d <= 0x39 { digits += 1; c = it.next() }
        if c == UInt8(ascii: ".") {
            c = it.next()
            while let d = c, d >= 0x30 && d <= 0x39 { digits += 1; c = it.next() }
        }
        if digits == 0 { return false }
        if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            c = it.next()
            if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { c = it.next() }
            var expDigits = 0
            while let d = c, d >= 0x30 && d <= 0x39 { expDigits += 1; c = it.next() }
            if expDigits == 0 { return false }
        }
        return c == nil
    }
}
