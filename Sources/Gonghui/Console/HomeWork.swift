import Fluent
import GonghuiCore
import NIOConcurrencyHelpers
import Vapor

/// What waits for the signed-in user, as tiles on `/console`: each module adds the queues it owns
/// (pending applications, overdue appeals, sites to verify …), each tile visible only to roles that
/// may open its link, so no tile leads to a 403. A count reads at most `cap + 1` rows of an indexed
/// queue, never the whole table: at Beijing scale a tile says "1000+".
final class ConsoleWork: Sendable {
    struct Tile: Sendable {
        let labelKey: String
        /// One line under the figure: what the queue is, in the locale files.
        let hintKey: String
        let href: String
        let visible: @Sendable (StaffRole) -> Bool
        /// nil: a link without a figure (an action such as "import a roster").
        let count: (@Sendable (Request) async throws -> Int)?
        /// A tile that needs action when its figure is above zero (shown in the alert colour).
        var urgent = false
    }

    static let cap = 1000

    private let box = NIOLockedValueBox<[Tile]>([])
    var tiles: [Tile] { box.withLockedValue { $0 } }
    func add(_ tile: Tile) { box.withLockedValue { $0.append(tile) } }

    /// Counts a query's rows up to `cap + 1`.
    static func bounded<M: Model>(_ query: QueryBuilder<M>) async throws -> Int {
        try await query.limit(cap + 1).all(\._$id).count
    }
}

extension Application {
    private struct ConsoleWorkKey: StorageKey { typealias Value = ConsoleWork }

    var consoleWork: ConsoleWork {
        if let work = storage[ConsoleWorkKey.self] { return work }
        let work = ConsoleWork()
        storage[ConsoleWorkKey.self] = work
        return work
    }
}

/// A tile as the home page shows it.
struct WorkTileRow: Encodable {
    let label: String
    let hint: String
    let href: String
    let figure: String?
    let css: String

    static func rows(for req: Request) async throws -> [WorkTileRow] {
        let scope = try req.scope
        var rows: [WorkTileRow] = []
        for tile in req.application.consoleWork.tiles where tile.visible(scope.role) {
            var figure: String?
            var css = "stat work"
            if let count = tile.count {
                let n = try await count(req)
                figure = n > ConsoleWork.cap ? "\(ConsoleWork.cap)+" : n.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))
                css += n == 0 ? " quiet" : (tile.urgent ? " urgent" : "")
            } else {
                css += " action"
            }
            rows.append(WorkTileRow(label: req.t(tile.labelKey), hint: req.t(tile.hintKey), href: tile.href, figure: figure, css: css))
        }
        return rows
    }
}
