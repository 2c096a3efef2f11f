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
        String(halfWidth(text).unicodeScalars.filter { !$0.properties.isWhitespace }).uppercased()
    }

    /// Half-width, trimmed, runs of white space folded to one space: for names and addresses.
    public static func singleLine(_ text: String) -> String {
        halfWidth(text).split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}
