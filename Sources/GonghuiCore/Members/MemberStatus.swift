/// Where a member stands (会员状态); every change is kept in the member's history.
public enum MemberStatus: String, CaseIterable, Codable, Sendable {
    case active, transferredOut, left, deceased

    /// The changes staff may make by hand; a transfer inside the federation keeps a member active.
    public func canChange(to next: MemberStatus) -> Bool {
        switch (self, next) {
        case (.active, .transferredOut), (.active, .left), (.active, .deceased): true
        case (.transferredOut, .active), (.left, .active): true
        case (.transferredOut, .deceased), (.left, .deceased): true
        default: false
        }
    }
}

/// The state of the physical member card.
public enum CardState: String, CaseIterable, Codable, Sendable {
    case issued, lost, replaced
}

/// A membership application (入会申请) from pending to a decision.
public enum ApplicationStatus: String, CaseIterable, Codable, Sendable {
    case pending, needsInfo, approved, rejected

    public var isOpen: Bool { self == .pending || self == .needsInfo }

    public func canBecome(_ next: ApplicationStatus) -> Bool {
        switch (self, next) {
        case (.pending, .approved), (.pending, .rejected), (.pending, .needsInfo): true
        case (.needsInfo, .approved), (.needsInfo, .rejected), (.needsInfo, .pending), (.needsInfo, .needsInfo): true
        default: false
        }
    }
}

/// A transfer between unions (会员关系转接).
public enum TransferStatus: String, CaseIterable, Codable, Sendable {
    case pending, accepted, declined, cancelled
}
