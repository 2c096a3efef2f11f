import Leaf
import LeafKit
import GonghuiCore

/// Money as people read it: yuan with two decimals and thousands separators (1,234,567.80).
enum MoneyText {
    /// Yuan held as a decimal (the appeals' amounts) shown through the one formatter, `Money.display`.
    static func yuan(_ value: Double) -> String {
        Money.display(Int64((value * 100).rounded()))
    }
}

/// `#yuan(amount)` in templates: an amount in yuan, formatted by `MoneyText`.
struct YuanTag: LeafTag {
    func render(_ ctx: LeafContext) throws -> LeafData {
        guard let value = ctx.parameters.first, let yuan = value.double ?? value.int.map(Double.init) else {
            return .string("—")
        }
        return .string(MoneyText.yuan(yuan))
    }
}
