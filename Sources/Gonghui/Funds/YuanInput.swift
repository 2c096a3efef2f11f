import Foundation
import GonghuiCore

/// A `…Yuan` field of the API: a JSON number or a text, read exactly (never through `Double`) and
/// turned into fen by `Money`, so 12.345 is refused rather than rounded.
struct YuanInput: Codable, Sendable, Equatable {
    let text: String

    init(_ text: String) { self.text = text }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let number = try? c.decode(Decimal.self) { text = "\(number)" } else { text = try c.decode(String.self) }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }
}

extension Validator {
    /// The amount in fen, or nil with the field's problem noted: not a number or more than two
    /// decimals (format), negative or beyond ¥10 billion (range).
    mutating func fen(_ value: YuanInput?, _ field: String, required: Bool) -> Int64? {
        guard let value, !value.text.trimmingCharacters(in: .whitespaces).isEmpty else {
            if required { add(field, "required") }
            return nil
        }
        do { return try Money.fen(yuan: value.text) } catch {
            switch error {
            case .format: add(field, "format")
            case .negative, .tooLarge: add(field, "range", nil, ["min": "0", "max": "10000000000"])
            }
            return nil
        }
    }
}
