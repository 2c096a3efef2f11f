import GonghuiCore
import Spreadsheet

/// The roster template's example row: it shows how each column is filled and is never imported,
/// even when the file comes back with it still in place. The template marks it in its name cell;
/// the reader skips a row so marked, and the bare example (张三 with the example ID number) too.
enum RosterExample {
    static let name = "张三"
    static let idNumber = "11010519491231002X"
    /// What the name cell says in the template.
    static let markedName = "张三（示例，导入时跳过）"

    static let cells: [Cell] = [.text(markedName), .text(idNumber), .text("13800138000"), .text("北京华联科技有限公司"),
                                .text("91350100M000100Y43"), .text("2024-03-15")]

    /// True for the template's example row: its marked name, or its name and ID number unchanged.
    static func isExample(name: String?, idNumber: String?) -> Bool {
        let name = Normalize.halfWidth(name ?? "").filter { !$0.isWhitespace }
        if name.contains("(示例") || name.lowercased().contains("(example") { return true }
        let id = Normalize.halfWidth(idNumber ?? "").filter { !$0.isWhitespace }.uppercased()
        return name == Self.name && id == Self.idNumber
    }
}
