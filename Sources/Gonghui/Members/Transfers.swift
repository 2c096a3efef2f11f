import Fluent
import Foundation
import GonghuiCore
import Vapor

/// `/api/v1/members/{id}/transfers` and `/api/v1/member-transfers`.
extension MemberController {
    // MARK: transfers

    @Sendable func requestTransfer(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsMembers)
        let member = try await MemberService(request: req).member(try req.idParameter())
        let transfer = try await Transfers.request(member: member, input: try req.content.decode(TransferInput.self),
                                                   by: "staff", staffID: scope.staffID, on: req)
        return try await Transfers.dto(transfer, on: req.db).encodeResponse(status: .created, for: req)
    }

    @Sendable func listTransfers(req: Request) async throws -> Paged<TransferDTO> {
        let scope = try req.scope
        try scope.require(scope.role.keepsMembers)
        var v = Validator()
        let direction = req.query[String.self, at: "direction"] ?? "incoming"
        if !["incoming", "outgoing"].contains(direction) { v.add("direction", "unknown", "error.field.oneOf", ["values": "incoming, outgoing"]) }
        var status: TransferStatus?
        if let raw = req.query[String.self, at: "status"], !raw.isEmpty {
            status = TransferStatus(rawValue: raw)
            if status == nil { v.add("status", "unknown", "error.field.oneOf", ["values": TransferStatus.allCases.map(\.rawValue).joined(separator: ", ")]) }
        }
        let paging = PageRequest(from: req, &v)
        try v.check()
        var query = scope.records(MemberTransfer.self, orgField: direction == "incoming" ? \.$toOrgID : \.$fromOrgID, on: req.db)
        if let status { query = query.filter(\.$status == status) }
        let total = try await query.count()
        let rows = try await query.sort(\.$id, .descending).range(paging.offset..<(paging.offset + paging.per)).all()
        var items: [TransferDTO] = []
        for row in rows { items.append(try await Transfers.dto(row, on: req.db)) }
        return Paged(items: items, page: paging.page, per: paging.per, total: total)
    }

    @Sendable func accept(req: Request) async throws -> TransferDTO {
        let transfer = try await Transfers.decide(try req.idParameter(), accept: true, note: nil, on: req)
        return try await Transfers.dto(transfer, on: req.db)
    }

    @Sendable func decline(req: Request) async throws -> TransferDTO {
        let reason = try req.content.decode(ReasonInput.self).reason
        let transfer = try await Transfers.decide(try req.idParameter(), accept: false, note: reason, on: req)
        return try await Transfers.dto(transfer, on: req.db)
    }

    @Sendable func cancel(req: Request) async throws -> TransferDTO {
        let scope = try req.scope
        try scope.require(scope.role.keepsMembers)
        guard let transfer = try await scope.records(MemberTransfer.self, orgField: \.$fromOrgID, on: req.db)
            .filter(\.$id == (try req.idParameter())).first() else { throw AppError.notFound }
        guard transfer.status == .pending else { throw AppError.conflict("error.transfer.notPending") }
        transfer.status = .cancelled
        transfer.decidedBy = scope.staffID
        transfer.decidedAt = Date()
        try await req.db.transaction { tx in
            try await transfer.save(on: tx)
            try await req.audit.record("member.transfer.cancel", targetType: "memberTransfer", targetID: transfer.id, on: tx)
        }
        return try await Transfers.dto(transfer, on: req.db)
    }
}

/// Transfers between unions (会员关系转接). The receiving union's staff accept; the card follows.
enum Transfers {
    static func request(member: Member, input: TransferInput, by: String, staffID: Int?, on req: Request) async throws -> MemberTransfer {
        var v = Validator()
        let reason = v.text(input.reason, "reason", required: false, max: 500)
        guard let toID = input.toOrgId else {
            v.add("toOrgId", "required", "error.transfer.toRequired")
            try v.check()
            throw AppError.invalid(v.issues)
        }
        try v.check()
        guard member.status == .active else { throw AppError.conflict("error.transfer.notActive") }
        guard let target = try await Organization.find(toID, on: req.db) else {
            throw AppError.invalid([FieldIssue("toOrgId", "notFound", "error.transfer.toUnknown")])
        }
        guard target.kind.isGrassroots else { throw AppError.invalid([FieldIssue("toOrgId", "notUnion", "error.member.orgNotUnion")]) }
        guard toID != member.orgID else { throw AppError.invalid([FieldIssue("toOrgId", "same", "error.transfer.same")]) }
        let memberID = try member.requireID()
        if try await MemberTransfer.query(on: req.db).filter(\.$memberID == memberID).filter(\.$status == .pending).first() != nil {
            throw AppError.conflict("error.transfer.pending")
        }
        let transfer = MemberTransfer()
        transfer.memberID = memberID
        transfer.fromOrgID = member.orgID
        transfer.toOrgID = toID
        transfer.status = .pending
        transfer.requestedBy = by
        transfer.requestedStaffID = staffID
        transfer.reason = reason
        try await req.db.transaction { tx in
            try await transfer.create(on: tx)
            try await MemberEvent(memberID: memberID, kind: "transferRequested", from: String(member.orgID), to: String(toID), note: reason, actor: staffID).create(on: tx)
            try await Audit.write("member.transfer.request", targetType: "memberTransfer", targetID: transfer.id, org: target,
                                  actor: req.optionalScope.map { ($0.staffID, $0.username) },
                                  ip: req.clientAddress, requestID: String(req.id.prefix(64)),
                                  details: ["by": by, "memberId": String(memberID)], on: tx)
        }
        return transfer
    }

    static func decide(_ id: Int, accept: Bool, note raw: String?, on req: Request) async throws -> MemberTransfer {
        let scope = try req.scope
        try scope.require(scope.role.keepsMembers)
        guard let transfer = try await scope.records(MemberTransfer.self, orgField: \.$toOrgID, on: req.db).filter(\.$id == id).first() else {
            throw AppError.notFound
        }
        guard transfer.status == .pending else { throw AppError.conflict("error.transfer.notPending") }
        var v = Validator()
        let note = v.text(raw, "reason", required: !accept, max: 500)
        try v.check()
        guard let member = try await Member.find(transfer.memberID, on: req.db) else { throw AppError.notFound }
        if accept, member.status != .active || member.orgID != transfer.fromOrgID { throw AppError.conflict("error.transfer.notActive") }
        let target = try await Organization.find(transfer.toOrgID, on: req.db)
        try await req.db.transaction { tx in
            // Only one decision wins: the row must still be pending when it is written.
            let decided = try await tx.sql.raw("""
                UPDATE member_transfers SET status = \(bind: accept ? "accepted" : "declined"), decided_by = \(bind: scope.staffID),
                  decided_at = \(bind: Date()), decision_note = \(bind: note)
                WHERE id = \(bind: id) AND status = 'pending' RETURNING id
                """).all()
            guard !decided.isEmpty else { throw AppError.conflict("error.transfer.notPending") }
            transfer.status = accept ? .accepted : .declined
            transfer.decidedBy = scope.staffID
            transfer.decidedAt = Date()
            transfer.decisionNote = note
            if accept {
                member.orgID = transfer.toOrgID
                try await member.save(on: tx)
                for hook in req.application.memberHooks.onTransfer {
                    try await hook(member, transfer.fromOrgID, transfer.toOrgID, scope.staffID, tx)
                }
            }
            try await MemberEvent(memberID: transfer.memberID, kind: accept ? "transferred" : "transferDeclined",
                                  from: String(transfer.fromOrgID), to: String(transfer.toOrgID), note: note, actor: scope.staffID).create(on: tx)
            try await req.audit.record(accept ? "member.transfer.accept" : "member.transfer.decline", targetType: "memberTransfer",
                                       targetID: transfer.id, org: target, on: tx)
        }
        return transfer
    }

    static func dto(_ transfer: MemberTransfer, on db: any Database) async throws -> TransferDTO {
        let orgs = try await ApplicationService.orgNames([transfer.fromOrgID, transfer.toOrgID], on: db)
        let member = try await Member.find(transfer.memberID, on: db)
        return TransferDTO(id: transfer.id ?? 0, memberId: transfer.memberID, memberName: member?.name ?? "",
                           fromOrgId: transfer.fromOrgID, fromOrgName: orgs[transfer.fromOrgID]?.name,
                           toOrgId: transfer.toOrgID, toOrgName: orgs[transfer.toOrgID]?.name, status: transfer.status,
                           requestedBy: transfer.requestedBy, reason: transfer.reason, decisionNote: transfer.decisionNote,
                           createdAt: transfer.createdAt, decidedAt: transfer.decidedAt)
    }
}
