import GonghuiCore

/// The one order the tree is shown in everywhere (selects, tables, statistics): a parent before
/// its children, siblings by their GB/T 2260 division code, the ones without a code (Beijing's
/// development zone, a street added by hand) after those with one, in the order they were made.
/// Sorting in Swift, not SQL, because the engines disagree on where NULL codes sort.
/// What the order needs of a node: its id, its path and its division code (whole models or the
/// light rows statistics read).
protocol OrderedNode {
    var id: Int? { get }
    var treePath: TreePath { get }
    var divisionCode: String? { get }
}

extension Organization: OrderedNode {}

enum OrgOrder {
    struct SiblingKey: Comparable {
        let withoutCode: Bool
        let code: String
        let id: Int

        static func < (a: SiblingKey, b: SiblingKey) -> Bool {
            (a.withoutCode ? 1 : 0, a.code, a.id) < (b.withoutCode ? 1 : 0, b.code, b.id)
        }
    }

    /// The node's place: one key per level from the root down. Ancestors not in `known` (above
    /// the part of the tree being sorted) weigh by id alone.
    static func key(_ org: any OrderedNode, known: [Int: any OrderedNode]) -> [SiblingKey] {
        org.treePath.ids.map { id in
            let node = id == org.id ? org : known[id]
            return SiblingKey(withoutCode: node?.divisionCode == nil, code: node?.divisionCode ?? "", id: id)
        }
    }

    /// The nodes in the official order; `ancestors` may name nodes above them that are not in the list.
    static func sorted(_ orgs: [Organization], ancestors: [Organization] = []) -> [Organization] {
        sorted(orgs, node: { $0 }, ancestors: ancestors)
    }

    /// Any rows that stand for nodes (statistics lines), in the same order; rows without a node last.
    static func sorted<Row>(_ rows: [Row], node: (Row) -> (any OrderedNode)?, ancestors: [any OrderedNode] = []) -> [Row] {
        var known: [Int: any OrderedNode] = [:]
        for org in ancestors + rows.compactMap(node) { if let id = org.id { known[id] = org } }
        let keyed = rows.enumerated().map { (offset: $0.offset, row: $0.element, key: node($0.element).map { key($0, known: known) }) }
        return keyed.sorted { a, b in
            switch (a.key, b.key) {
            case let (x?, y?): return x == y ? a.offset < b.offset : x.lexicographicallyPrecedes(y)
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a.offset < b.offset
            }
        }.map(\.row)
    }
}
