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
    /// The one reading of an API's or a form's yuan into fen: at most two decimals (`yuan`), not
    /// negative and, when `positive`, above zero (`positive`), at most ¥10 billion (`tooLarge`).
    mutating func fen(text: String?, _ field: String, required: Bool, positive: Bool) -> Int64? {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            if required { add(field, "required") }
            return nil
        }
        do {
            let fen = try Money.fen(yuan: text)
            if positive && fen == 0 {
                add(field, "positive", "error.funds.positive")
                return nil
            }
            return fen
        } catch .negative {
            add(field, "positive", "error.funds.positive")
        } catch .tooLarge {
            add(field, "tooLarge", "error.funds.tooLarge")
        } catch {
            add(field, "yuan", "relief.error.yuanFormat")
        }
        return nil
    }

    /// An amount that may be zero (an income, an expense).
    mutating func fen(_ value: YuanInput?, _ field: String, required: Bool) -> Int64? {
        fen(text: value?.text, field, required: required, positive: false)
    }

    /// A `…Yuan` number decoded as `Decimal` (the relief API): the same reading.
    mutating func yuan(_ value: Decimal?, _ field: String, required: Bool = false, positive: Bool = true) -> Int64? {
        fen(text: value.map { "\($0)" }, field, required: required, positive: positive)
    }
}
