import Fluent
import Foundation
import GonghuiCore
import Vapor

/// Membership applications: submitted without an account, reviewed in a scoped queue.
/// The API and the console pages both go through here.
struct ApplicationService {
    let request: Request

    var db: any Database { request.db }

    /// Checks and files an application. The same ID number with an open application is the same
    /// application: its details are refreshed and it goes back to pending (a worker who tapped
    /// twice, or who answers a request for more information).
    func submit(_ input: ApplicationInput) async throws -> MemberApplication {
        var issues: [FieldIssue] = []
        let raw = PersonFacts.Raw(name: input.name, idNumber: input.idNumber, phone: input.phone,
                                  employerName: input.employerName, employerCreditCode: input.employerCreditCode)
        let facts = PersonFacts.check(raw, today: ShanghaiClock.today(), employerRequired: true, into: &issues)
        var org: Organization?
        if let orgID = input.orgId {
            org = orgID > 0 ? try await Organization.find(orgID, on: db) : nil
            if org == nil { issues.append(FieldIssue("orgId", "notFound", "error.application.orgUnknown")) }
        }
        // A booth's link names its meeting: the application is counted there, and sits with the
        // meeting's organiser (the street running the booth) unless a union was chosen.
        var meeting: Meeting?
        if let meetingID = input.meetingId {
            meeting = meetingID > 0 ? try await Meeting.find(meetingID, on: db) : nil
            if meeting == nil { issues.append(FieldIssue("meetingId", "notFound", "error.application.meetingUnknown")) }
        }
        guard issues.isEmpty, let facts else { throw AppError.invalid(issues) }
        try await request.limitPerson("join", phone: facts.phone.value, idNumber: facts.residentID.value)
        let cipher = request.fieldCipher
        let index = cipher.blindIndex(facts.residentID.value)
        // Chosen union, else the street or district running the booth, else the city to assign.
        let target: Organization
        if let org { target = org } else if let meeting, let host = try await Organization.find(meeting.orgID, on: db) { target = host } else {
            guard let city = try await Organization.query(on: db).filter(\.$parentID == nil).first() else { throw AppError.notFound }
            target = city
        }
        // Under a lock on the ID number: a double tap finds the application its first tap made (one
        // open application per ID number, which a unique index also holds).
        let (request, chosen, booth) = (self.request, org, meeting)
        return try await db.transaction { tx in
            try await tx.lock("application.id:" + index)
            return try await Self.file(input, facts: facts, index: index, org: chosen, meeting: booth, target: target, request: request, on: tx)
        }
    }

    private static func file(_ input: ApplicationInput, facts: PersonFacts, index: String, org: Organization?, meeting: Meeting?,
                             target: Organization, request: Request, on tx: any Database) async throws -> MemberApplication {
        let cipher = request.fieldCipher
        // An ID number that is already a member's is filed like any other, with the same answer: the
        // public form must not tell anyone whose number belongs to a member. Approving it is refused
        // (the member is there) and staff see why; the audit line says so.
        let alreadyMember = try await Member.query(on: tx).filter(\.$idIndex == index).filter(\.$status == .active).first() != nil
        let application = try await MemberApplication.query(on: tx).filter(\.$idIndex == index)
            .filter(\.$status ~~ [.pending, .needsInfo]).first() ?? MemberApplication()
        let isNew = application.id == nil
        // Someone else who knows the number cannot take over an open application: only its own phone refreshes it.
        if !isNew, application.phone != facts.phone.value { throw AppError.conflict("error.application.openElsewhere") }
        if isNew || org != nil || meeting != nil { application.orgID = try target.requireID() }
        application.reviewedBy = nil
        application.reviewedAt = nil
        if !isNew { application.reason = nil }
        application.meetingID = input.meetingId ?? application.meetingID
        application.name = facts.name
        application.idCipher = try cipher.seal(facts.residentID.value)
        application.idIndex = index
        application.sex = facts.residentID.sex.rawValue
        application.birthDate = facts.residentID.birthDate.description
        application.phone = facts.phone.value
        application.employerName = facts.employerName ?? ""
        application.employerCreditCode = facts.employerCreditCode
        application.status = .pending
        try await application.save(on: tx)
        try await request.audit.record(isNew ? "member.application.submit" : "member.application.resubmit",
                                       targetType: "memberApplication", targetID: try application.requireID(), org: target,
                                       details: (input.meetingId.map { ["meetingId": String($0)] } ?? [:])
                                           .merging(alreadyMember ? ["alreadyMember": "true"] : [:]) { $1 }, on: tx)
        return application
    }

    /// An application in the caller's scope, or 404.
    func find(_ id: Int) async throws -> MemberApplication {
        let scope = try request.scope
        try scope.require(scope.role.keepsMembers)
        guard let app = try await scope.records(MemberApplication.self, orgField: \.$orgID, on: db).filter(\.$id == id).first() else {
            throw AppError.notFound
        }
        return app
    }

    /// Approves: the member and the card in one transaction.
    func approve(_ id: Int, _ input: ApproveInput) async throws -> Member {
        let scope = try request.scope
        let application = try await find(id)
        guard application.status.isOpen else { throw AppError.conflict("error.application.notOpen") }
        let union: Organization
        if let orgID = input.orgId {
            union = try await MemberService.union(orgID, field: "orgId", scope: scope, on: db)
        } else {
            guard let sitting = try await Organization.find(application.orgID, on: db), sitting.kind.isGrassroots else {
                throw AppError.invalid([FieldIssue("orgId", "required", "error.application.chooseUnion")])
            }
            union = sitting
        }
        var issues: [FieldIssue] = []
        let today = ShanghaiClock.today()
        let joined = PersonFacts.checkJoined(input.joinedOn, today: today, into: &issues) ?? today
        if !issues.isEmpty { throw AppError.invalid(issues) }
        let cipher = request.fieldCipher
        let idNumber = try cipher.open(application.idCipher)
        var factIssues: [FieldIssue] = []
        guard let facts = PersonFacts.check(.init(name: application.name, idNumber: idNumber, phone: application.phone,
                                                   employerName: application.employerName, employerCreditCode: application.employerCreditCode),
                                             today: today, employerRequired: false, into: &factIssues) else {
            throw AppError.conflict("error.application.stale")
        }
        let prefix = CardSerials.prefix(request.application)
        return try await db.transaction { tx in
            // Only one decision wins: the application must still be open when it is written.
            let claimed = try await tx.sql.raw("""
                UPDATE member_applications SET status = 'approved', reviewed_by = \(bind: scope.staffID), reviewed_at = \(bind: Date())
                WHERE id = \(bind: try application.requireID()) AND status IN ('pending', 'needsInfo') RETURNING id
                """).all()
            guard !claimed.isEmpty else { throw AppError.conflict("error.application.notOpen") }
            let member = try await MemberService.admit(facts, idIndex: application.idIndex, cipher: cipher, union: union, joinedOn: joined,
                                                       source: "application", actor: scope.staffID, cardPrefix: prefix,
                                                       scope: scope.root, on: tx)
            application.status = .approved
            application.memberID = try member.requireID()
            application.reviewedBy = scope.staffID
            application.reviewedAt = Date()
            try await application.save(on: tx)
            try await request.audit.record("member.application.approve", targetType: "memberApplication",
                                           targetID: try application.requireID(), org: union,
                                           details: ["memberId": String(try member.requireID())], on: tx)
            return member
        }
    }

    /// Passes an open application down (or across) to a unit in the caller's subtree: the city
    /// assigns unplaced applications to a district, a district to a street or a union.
    func assign(_ id: Int, to orgID: Int?) async throws -> MemberApplication {
        let scope = try request.scope
        let application = try await find(id)
        guard application.status.isOpen else { throw AppError.conflict("error.application.notOpen") }
        guard let orgID else { throw AppError.invalid([FieldIssue("orgId", "required", "error.application.assignTo")]) }
        guard let target = try await Organization.query(on: db).filter(\.$id == orgID).inSubtree(scope.root).first() else {
            throw AppError.invalid([FieldIssue("orgId", "notFound")])
        }
        let from = application.orgID
        application.orgID = try target.requireID()
        try await db.transaction { tx in
            try await application.save(on: tx)
            try await request.audit.record("member.application.assign", targetType: "memberApplication", targetID: try application.requireID(),
                                           org: target, details: ["from": String(from), "to": String(orgID)], on: tx)
        }
        return application
    }

    /// Rejects with a reason, or asks for more information (`needsInfo`); the applicant reads it.
    func decide(_ id: Int, to status: ApplicationStatus, reason raw: String?) async throws -> MemberApplication {
        let scope = try request.scope
        let application = try await find(id)
        guard application.status.canBecome(status) else { throw AppError.conflict("error.application.notOpen") }
        var v = Validator()
        let reason = v.text(raw, "reason", required: true, max: 500)
        try v.check()
        application.status = status
        application.reason = reason
        application.reviewedBy = scope.staffID
        application.reviewedAt = Date()
        try await db.transaction { tx in
            try await application.save(on: tx)
            try await request.audit.record(status == .rejected ? "member.application.reject" : "member.application.needsInfo",
                                           targetType: "memberApplication", targetID: try application.requireID(), on: tx)
        }
        return application
    }

    /// The queue: open ones first by default, filtered; `afterId` answers only newer ones (the booth screen).
    func list(status: [ApplicationStatus], orgID: Int?, meetingID: Int?, q: String?, afterID: Int?, paging: PageRequest,
              openOrSince since: Date? = nil) async throws -> Paged<ApplicationDTO> {
        let scope = try request.scope
        try scope.require(scope.role.keepsMembers)
        var query = scope.records(MemberApplication.self, orgField: \.$orgID, on: db)
        if let orgID {
            let org = try await scope.org(orgID, on: db)
            query = query.filter(Organization.self, \.$path >= org.path).filter(Organization.self, \.$path < org.treePath.upperBound)
        }
        if !status.isEmpty { query = query.filter(\.$status ~~ status) }
        if let meetingID { query = query.filter(\.$meetingID == meetingID) }
        if let afterID { query = query.filter(\.$id > afterID) }
        if let since {
            query = query.group(.or) {
                $0.filter(\.$status ~~ [.pending, .needsInfo]).filter(\.$createdAt >= since).filter(\.$reviewedAt >= since)
            }
        }
        if let q {
            let phone = Normalize.identifier(q)
            if phone.count == 11, phone.allSatisfy(\.isNumber) { query = query.filter(\.$phone == phone) }
            else if let id = try? ResidentID(parsing: q, today: ShanghaiClock.today(), minimumAge: 0) {
                query = query.filter(\.$idIndex == request.fieldCipher.blindIndex(id.value))
            } else {
                query = query.group(.or) { $0.filter(\.$name ~~ q).filter(\.$employerName ~~ q) }
            }
        }
        let total = try await query.count()
        let rows = try await query.sort(\.$id, afterID == nil ? .descending : .ascending)
            .range(paging.offset..<(paging.offset + paging.per)).all()
        let orgs = try await Self.orgNames(rows.map(\.orgID), on: db)
        let memberIDs = rows.compactMap(\.memberID)
        var cards: [Int: String] = [:]
        if !memberIDs.isEmpty {
            for member in try await Member.query(on: db).filter(\.$id ~~ memberIDs).all() { cards[member.id ?? 0] = member.cardNumber }
        }
        let cipher = request.fieldCipher
        return Paged(items: rows.map { ApplicationDTO($0, org: orgs[$0.orgID], cipher: cipher, cardNumber: $0.memberID.flatMap { cards[$0] }) },
                     page: paging.page, per: paging.per, total: total)
    }

    static func orgNames(_ ids: [Int], on db: any Database) async throws -> [Int: Organization] {
        let unique = Array(Set(ids))
        guard !unique.isEmpty else { return [:] }
        var result: [Int: Organization] = [:]
        for org in try await Organization.query(on: db).filter(\.$id ~~ unique).all() { result[org.id ?? 0] = org }
        return result
    }

    /// An applicant's own applications, after a one-time code to the phone.
    static func statusFor(phone: PhoneNumber, on db: any Database) async throws -> [ApplicationStatusDTO] {
        let rows = try await MemberApplication.query(on: db).filter(\.$phone == phone.value).sort(\.$id, .descending).limit(20).all()
        let orgs = try await orgNames(rows.map(\.orgID), on: db)
        var cards: [Int: String] = [:]
        let memberIDs = rows.compactMap(\.memberID)
        if !memberIDs.isEmpty {
            for member in try await Member.query(on: db).filter(\.$id ~~ memberIDs).all() { cards[member.id ?? 0] = member.cardNumber }
        }
        return rows.map {
            ApplicationStatusDTO(id: $0.id ?? 0, status: $0.status, orgName: orgs[$0.orgID]?.name,
                                 reason: $0.reason, cardNumber: $0.memberID.flatMap { cards[$0] }, createdAt: $0.createdAt)
        }
    }
}

/// `/api/v1/member-applications`: the public door and the staff queue.
struct ApplicationController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let open = routes.grouped("member-applications")
        open.grouped(AddressLimit("join")).post(use: submit)
        open.grouped(AddressLimit("joinStatus")).post("status-code", use: sendStatusCode)
        open.grouped(AddressLimit("joinStatus")).post("status", use: status)
    }

    func bootProtected(routes: any RoutesBuilder) {
        let staff = routes.grouped("member-applications")
        staff.get(use: list)
        staff.get(":id", use: show)
        staff.post(":id", "approve", use: approve)
        staff.post(":id", "reject", use: reject)
        staff.post(":id", "request-info", use: requestInfo)
        staff.post(":id", "assign", use: assign)
    }

    @Sendable func submit(req: Request) async throws -> Response {
        let application = try await ApplicationService(request: req).submit(try req.content.decode(ApplicationInput.self))
        return try await ApplicationCreated(id: try application.requireID(), status: application.status)
            .encodeResponse(status: .created, for: req)
    }

    /// Always 202 with the same body, so the answer does not tell whether the number applied.
    @Sendable func sendStatusCode(req: Request) async throws -> Response {
        let phone = try Self.phone(try req.content.decode(PhoneInput.self).phone)
        let applied = try await MemberApplication.query(on: req.db).filter(\.$phone == phone.value).first() != nil
        try await req.oneTimeCodes.send(to: phone, purpose: .status, deliver: applied)
        return try await CodeSent(sent: true, expiresInSeconds: Int(OneTimeCodes.lifetime)).encodeResponse(status: .accepted, for: req)
    }

    @Sendable func status(req: Request) async throws -> Paged<ApplicationStatusDTO> {
        let input = try req.content.decode(PhoneCodeInput.self)
        let phone = try Self.phone(input.phone)
        try await req.oneTimeCodes.verify(phone, purpose: .status, code: input.code)
        let items = try await ApplicationService.statusFor(phone: phone, on: req.db)
        return Paged(items: items, page: 1, per: 20, total: items.count)
    }

    static func phone(_ raw: String?) throws -> PhoneNumber {
        guard let raw, !raw.isEmpty else { throw AppError.invalid([FieldIssue("phone", "required", "error.member.phone.required")]) }
        guard let phone = try? PhoneNumber(parsing: raw) else { throw AppError.invalid([FieldIssue("phone", "format", "error.member.phone.format")]) }
        return phone
    }

    @Sendable func list(req: Request) async throws -> Paged<ApplicationDTO> {
        var v = Validator()
        var statuses: [ApplicationStatus] = []
        if let raw = req.query[String.self, at: "status"], !raw.isEmpty {
            for part in raw.split(separator: ",") {
                if let status = ApplicationStatus(rawValue: String(part)) { statuses.append(status) }
                else { v.add("status", "unknown", "error.field.oneOf", ["values": ApplicationStatus.allCases.map(\.rawValue).joined(separator: ", ")]) }
            }
        }
        let orgID = req.optionalID("orgId", &v)
        let meetingID = req.optionalID("meetingId", &v)
        let afterID = req.optionalID("afterId", &v)
        let q = v.text(req.query[String.self, at: "q"], "q", required: false, max: 100)
        let paging = PageRequest(from: req, &v)
        try v.check()
        return try await ApplicationService(request: req).list(status: statuses, orgID: orgID, meetingID: meetingID, q: q, afterID: afterID, paging: paging)
    }

    @Sendable func show(req: Request) async throws -> ApplicationDTO {
        let application = try await ApplicationService(request: req).find(try req.idParameter())
        let org = try await Organization.find(application.orgID, on: req.db)
        let card = try await application.memberID.asyncMap { try await Member.find($0, on: req.db)?.cardNumber } ?? nil
        return ApplicationDTO(application, org: org, cipher: req.fieldCipher, cardNumber: card)
    }

    @Sendable func approve(req: Request) async throws -> Approved {
        let input = req.body.data == nil ? ApproveInput() : try req.content.decode(ApproveInput.self)
        let member = try await ApplicationService(request: req).approve(try req.idParameter(), input)
        return Approved(memberId: try member.requireID(), cardNumber: member.cardNumber)
    }

    @Sendable func assign(req: Request) async throws -> ApplicationDTO {
        let input = try req.content.decode(ApproveInput.self)
        let application = try await ApplicationService(request: req).assign(try req.idParameter(), to: input.orgId)
        let org = try await Organization.find(application.orgID, on: req.db)
        return ApplicationDTO(application, org: org, cipher: req.fieldCipher)
    }

    @Sendable func reject(req: Request) async throws -> ApplicationDTO {
        try await decide(req, .rejected)
    }

    @Sendable func requestInfo(req: Request) async throws -> ApplicationDTO {
        try await decide(req, .needsInfo)
    }

    func decide(_ req: Request, _ status: ApplicationStatus) async throws -> ApplicationDTO {
        let input = try req.content.decode(ReasonInput.self)
        let application = try await ApplicationService(request: req).decide(try req.idParameter(), to: status, reason: input.reason)
        let org = try await Organization.find(application.orgID, on: req.db)
        return ApplicationDTO(application, org: org, cipher: req.fieldCipher)
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        switch self {
        case .none: return nil
        case let .some(value): return try await transform(value)
        }
    }
}
