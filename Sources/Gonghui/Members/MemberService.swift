import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// Card serials come from one counter row, taken in blocks so a batch of an import asks once.
enum CardSerials {
    /// Reserves `count` serials and answers the first; the counter moves in the caller's transaction.
    static func reserve(_ count: Int, on db: any Database) async throws -> Int64 {
        let row = try await db.sql.raw("""
            UPDATE card_serials SET next_value = next_value + \(bind: count) WHERE name = 'member' RETURNING next_value
            """).first()
        guard let next = try row?.decode(column: "next_value", as: Int64.self) else {
            throw Abort(.internalServerError, reason: "card_serials has no member row")
        }
        return next - Int64(count)
    }

    static func prefix(_ app: Application) -> String { String(app.gonghui.cityDivisionCode.prefix(4)) }
}

/// Making members and changing them; each change writes its history line and its audit line.
struct MemberService {
    let request: Request

    var db: any Database { request.db }

    /// The grassroots union a member may belong to, inside the caller's scope.
    static func union(_ id: Int, field: String, scope: Scope, on db: any Database) async throws -> Organization {
        guard let org = try await Organization.query(on: db).filter(\.$id == id).inSubtree(scope.root).first() else {
            throw AppError.invalid([FieldIssue(field, "notFound")])
        }
        guard org.kind.isGrassroots else {
            throw AppError.invalid([FieldIssue(field, "notUnion", "error.member.orgNotUnion")])
        }
        return org
    }

    /// A new member, or a former one (left, transferred out) who comes back: same record, same card.
    static func admit(_ facts: PersonFacts, idIndex: String, cipher: FieldCipher, union: Organization, joinedOn: CalendarDate,
                      source: String, actor: Int?, cardPrefix: String, scope: TreePath?, on db: any Database) async throws -> Member {
        let unionID = try union.requireID()
        if let existing = try await Member.query(on: db).filter(\.$idIndex == idIndex).first() {
            guard existing.status != .active else { throw AppError.conflict("error.member.alreadyMember") }
            // A former member registered outside the caller's subtree is not pulled in (nor its history shown):
            // the union that holds the record restores it or transfers it.
            if let scope, let holder = try await Organization.find(existing.orgID, on: db), !scope.contains(holder.treePath) {
                throw AppError.conflict("error.member.registeredElsewhere")
            }
            guard existing.status != .deceased else { throw AppError.conflict("error.member.deceased") }
            let before = existing.status
            existing.status = .active
            existing.orgID = unionID
            existing.name = facts.name
            existing.phone = facts.phone.value
            existing.employerName = facts.employerName
            existing.employerCreditCode = facts.employerCreditCode
            existing.joinedOn = joinedOn.description
            try await existing.save(on: db)
            try await MemberEvent(memberID: try existing.requireID(), kind: "rejoined", from: before.rawValue, to: String(unionID), actor: actor).create(on: db)
            return existing
        }
        let serial = try await CardSerials.reserve(1, on: db)
        let member = Member()
        member.orgID = unionID
        member.name = facts.name
        member.idCipher = try cipher.seal(facts.residentID.value)
        member.idIndex = idIndex
        member.sex = facts.residentID.sex.rawValue
        member.birthDate = facts.residentID.birthDate.description
        member.phone = facts.phone.value
        member.employerName = facts.employerName
        member.employerCreditCode = facts.employerCreditCode
        member.joinedOn = joinedOn.description
        member.status = .active
        member.cardNumber = CardNumber(prefix: cardPrefix, serial: serial).value
        member.cardState = .issued
        member.source = source
        try await member.create(on: db)
        try await MemberEvent(memberID: try member.requireID(), kind: "joined", to: String(unionID), note: source, actor: actor).create(on: db)
        return member
    }

    /// A member in the caller's scope, or 404.
    func member(_ id: Int) async throws -> Member {
        let scope = try request.scope
        try scope.require(scope.role.keepsMembers)
        guard let member = try await scope.records(Member.self, orgField: \.$orgID, on: db).filter(\.$id == id).first() else {
            throw AppError.notFound
        }
        return member
    }
}

extension StaffRole {
    /// Review applications, keep rosters, handle transfers.
    var keepsMembers: Bool { [.cityAdmin, .districtStaff, .streetStaff, .unionAdmin].contains(self) }
    /// See a whole resident ID number (each time audited) and export rosters with whole numbers.
    var revealsIDNumbers: Bool { [.cityAdmin, .districtStaff, .streetStaff].contains(self) }
}
