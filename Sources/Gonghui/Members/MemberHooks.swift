import Fluent
import NIOConcurrencyHelpers
import Vapor

/// What other modules do when a member moves: each hook runs inside the transfer's transaction,
/// so the member and whatever follows the member (a hardship file) move together or not at all.
final class MemberHooks: Sendable {
    typealias Transferred = @Sendable (_ member: Member, _ from: Int, _ to: Int, _ staffID: Int?, _ db: any Database) async throws -> Void

    private let box = NIOLockedValueBox<[Transferred]>([])
    var onTransfer: [Transferred] { box.withLockedValue { $0 } }
    func addTransfer(_ hook: @escaping Transferred) { box.withLockedValue { $0.append(hook) } }
}

extension Application {
    private struct MemberHooksKey: StorageKey { typealias Value = MemberHooks }

    var memberHooks: MemberHooks {
        if let hooks = storage[MemberHooksKey.self] { return hooks }
        let hooks = MemberHooks()
        storage[MemberHooksKey.self] = hooks
        return hooks
    }
}
