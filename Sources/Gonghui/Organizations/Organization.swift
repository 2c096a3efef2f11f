import Fluent
import Foundation
import GonghuiCore

/// A node of the federation tree: the city federation, a district's, a street's, or a grassroots union.
///
/// `@unchecked Sendable`: Fluent models are classes with property wrappers; an instance is only
/// touched by the task that loaded it, never shared between tasks.
final class Organization: Model, @unchecked Sendable {
    static let schema = "organizations"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @Field(key: "kind") var kind: OrgKind
    @Field(key: "name") var name: String
    @OptionalField(key: "parent_id") var parentID: Int?
    /// `/1/5/23/`: the ids from the root down; see `TreePath`.
    @Field(key: "path") var path: String
    @Field(key: "depth") var depth: Int
    @OptionalField(key: "division_code") var divisionCode: String?
    @OptionalField(key: "credit_code") var creditCode: String?
    @OptionalField(key: "founded_on") var foundedOn: String?
    @OptionalField(key: "chair_name") var chairName: String?
    @OptionalField(key: "contact_name") var contactName: String?
    @OptionalField(key: "contact_phone") var contactPhone: String?
    @OptionalField(key: "address") var address: String?
    @OptionalField(key: "term_ends_on") var termEndsOn: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    init(kind: OrgKind, name: String, parentID: Int?) {
        self.kind = kind
        self.name = name
        self.parentID = parentID
        self.path = ""
        self.depth = 0
    }

    var treePath: TreePath { TreePath(path) }

    func requireID() throws -> Int {
        guard let id else { throw FluentError.idRequired }
        return id
    }

    /// True when the stored credit code fails the GB 32100 checksum: shown to staff as a warning.
    var creditCodeChecksumFails: Bool {
        guard let creditCode, let code = try? CreditCode(parsing: creditCode) else { return false }
        return !code.checksumValid
    }
}
