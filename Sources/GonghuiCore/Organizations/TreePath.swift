/// A node's place in the federation tree, written as the ids from the root down: `/1/5/23/`.
///
/// A subtree is every path that starts with its root's path, so scope is one range condition
/// (`path >= p AND path < p + "~"`, "~" sorting after every digit and "/") that an index answers.
public struct TreePath: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    public init(_ value: String) { self.value = value }

    public static func root(id: Int) -> TreePath { TreePath("/\(id)/") }

    public func child(id: Int) -> TreePath { TreePath(value + "\(id)/") }

    /// The upper bound (exclusive) of this subtree's paths.
    public var upperBound: String { value + "~" }

    public var ids: [Int] { value.split(separator: "/").compactMap { Int($0) } }

    public var depth: Int { ids.count - 1 }

    /// True for this node and every node below it.
    public func contains(_ other: TreePath) -> Bool { other.value.hasPrefix(value) }

    /// The path `descendant` gets when this subtree moves under `newParent`.
    public func rebase(_ descendant: TreePath, under newParent: TreePath, id: Int) -> TreePath {
        let newRoot = newParent.child(id: id)
        return TreePath(newRoot.value + descendant.value.dropFirst(value.count))
    }

    public var description: String { value }
}
