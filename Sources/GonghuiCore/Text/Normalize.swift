/// Input typed on Chinese keyboards and pasted from Excel arrives with full-width characters and
/// stray spaces; every identifier is normalised through here before it is checked.
public enum Normalize {
    /// Full-width ASCII (U+FF01…U+FF5E) to half-width, the ideographic space to a space.
    public static func halfWidth(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0xFF01...0xFF5E:
                scalars.append(Unicode.Scalar(scalar.value - 0xFEE0)!)
            case 0x3000:
                scalars.append(" ")
            default:
                scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    /// Half-width, upper case, with every kind of white space removed.
    public static func identifier(_ text: String) -> String {
        // The common case, from a roster of millions: plain ASCII digits and capitals already.
        if text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || $0 == 0x2B || $0 == 0x2D }) { return text }
        return String(halfWidth(text).unicodeScalars.filter { !$0.properties.isWhitespace }).uppercased()
    }

    /// Half-width, trimmed, runs of white space folded to one space: for names and addresses.
    public static func singleLine(_ text: String) -> String {
        // Nothing to fold or convert: no ASCII space or control, no full-width form, no other space.
        var clean = true
        var previousSpace = true
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v < 0x80 {
                if v < 0x20 || v == 0x7F { clean = false; break }
                if v == 0x20 { if previousSpace { clean = false; break }; previousSpace = true } else { previousSpace = false }
            } else if (0xFF01...0xFF5E).contains(v) || v == 0x3000 || v == 0x85 || v == 0xA0 || (0x2000...0x200A).contains(v)
                        || v == 0x2028 || v == 0x2029 || v == 0x202F || v == 0x205F || v == 0x1680 {
                clean = false; break
            } else {
                previousSpace = false
            }
        }
        if clean && !previousSpace { return text }
        return halfWidth(text).split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}
