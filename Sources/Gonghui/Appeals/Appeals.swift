import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// Appeals: intake from anyone, routing, the workflow with its deadlines, escalation.
/// Every staff read goes through scope: an appeal belongs to the unit it sits with.
struct AppealService {
    let request: Request
    var db: any Database { request.db }

    // MARK: settings

    static func calendar(on db: any Database) async throws -> WorkingCalendar {
        let days = try await CalendarDay.query(on: db).all()
        return WorkingCalendar(holidays: days.filter { $0.kind == "holiday" }.compactMap { try? CalendarDate(parsing: $0.id ?? "") },
                               workdays: days.filter { $0.kind == "workday" }.compactMap { try? CalendarDate(parsing: $0.id ?? "") })
    }

    static func workingDays(_ tier: AppealTier, on db: any Database) async throws -> Int {
        try await AppealTierDays.find(tier.rawValue, on: db)?.workingDays ?? tier.defaultWorkingDays
    }

    static func deadline(from: Date, tier: AppealTier, on db: any Database) async throws -> Date {
        let days = try await workingDays(tier, on: db)
        return Date(timeIntervalSince1970: try await calendar(on: db).deadline(afterEpoch: from.timeIntervalSince1970, workingDays: days))
    }

    // MARK: intake

    func choice<T: RawRepresentable & CaseIterable>(_ raw: String?, _ field: String, required: Bool, _ v: inout Validator) -> T? where T.RawValue == String {
        guard let raw, !raw.isEmpty else {
            if required { v.add(field, "required") }
            return nil
        }
        guard let value = T(rawValue: raw) else {
            v.add(field, "unknown", "error.field.oneOf", ["values": T.allCases.map(\.rawValue).joined(separator: ", ")])
            return nil
        }
        return value
    }

    /// Records an appeal and routes it. Answers the appeal and whether it is new (false: the same
    /// submission again, by `Idempotency-Key` or by the same phone and text within ten minutes).
    func submit(_ input: AppealInput, idempotencyKey: String? = nil, now: Date = Date()) async throws -> (Appeal, Bool) {
        var v = Validator()
        let channel: AppealChannel? = choice(input.channel, "channel", required: true, &v)
        let category: AppealCategory? = choice(input.category, "category", required: true, &v)
        var subject: AppealSubject?
        if let code = input.subject, !code.isEmpty {
            subject = try await AppealSubject.find(code, on: db)
            if subject == nil {
                let codes = try await AppealSubject.query(on: db).sort(\.$sortOrder).all().compactMap(\.id)
                v.add("subject", "unknown", "error.field.oneOf", ["values": codes.joined(separator: ", ")])
            }
        } else { v.add("subject", "required") }
        let anonymous = (input.anonymous ?? false) && category == .suggestion
        if input.anonymous == true && category != .suggestion && category != nil { v.add("anonymous", "notAllowed", "error.appeal.anonymous") }
        let name = v.text(input.name, "name", required: !anonymous, max: 50)
        var phone: PhoneNumber?
        if let raw = input.phone, !Normalize.singleLine(raw).isEmpty {
            do { phone = try PhoneNumber(parsing: raw) } catch { v.add("phone", "format", "error.member.phone.format") }
        } else if !anonymous { v.add("phone", "required", "error.member.phone.required") }
        let employerName = v.text(input.employerName, "employerName", required: false, max: 100)
        var creditCode: String?
        if let raw = input.employerCreditCode, !Normalize.singleLine(raw).isEmpty {
            if let code = try? CreditCode(parsing: raw) { creditCode = code.value } else { v.add("employerCreditCode", "format", "error.field.creditCode") }
        }
        var workplace: Organization?
        if let orgID = input.orgId {
            if let org = try await Organization.find(orgID, on: db), [.street, .district].contains(org.kind) { workplace = org } else {
                v.add("orgId", "notFound", "error.appeal.workplace")
            }
        }
        let description = Normalize.multiLine(input.description ?? "")
        if description.isEmpty { v.add("description", "required") } else if description.count > 2000 { v.add("description", "tooLong", nil, ["max": "2000"]) }
        let people = input.peopleAffected ?? 1
        if !(1...1_000_000).contains(people) { v.add("peopleAffected", "range", nil, ["min": "1", "max": "1000000"]) }
        var amountFen = 0
        if let yuan = input.amountYuan {
            if yuan.isFinite, (0...10_000_000_000).contains(yuan) { amountFen = Int((yuan * 100).rounded()) } else {
                v.add("amountYuan", "range", nil, ["min": "0", "max": "10000000000"])
            }
        }
        let urgency: AppealUrgency = choice(input.urgency, "urgency", required: false, &v) ?? .normal
        try v.check()

        let key = (idempotencyKey ?? request.headers.first(name: "Idempotency-Key")).map { String($0.prefix(100)) }.flatMap { $0.isEmpty ? nil : $0 }
        let a = Appeal()
        a.channel = channel!
        a.category = category!
        a.subjectCode = subject!.id!
        a.anonymous = anonymous
        a.name = anonymous ? nil : name
        a.phone = phone?.value
        a.employerName = employerName
        a.employerCreditCode = creditCode
        a.workplaceOrgID = workplace?.id
        a.description = description
        a.peopleAffected = people
        a.amountFen = amountFen
        a.urgency = urgency
        a.tier = subject!.tier
        a.state = .received
        a.receivedAt = now
        a.receivedOn = ShanghaiClock.today(now).description
        a.recoveredFen = 0
        a.reopenCount = 0
        a.idempotencyKey = key
        if let phone, let member = try await Member.query(on: db).filter(\.$phone == phone.value).filter(\.$status == .active).first() { a.memberID = member.id }
        var enterprise: Enterprise?
        if let creditCode { enterprise = try await Enterprise.query(on: db).filter(\.$creditCode == creditCode).first() }
        a.enterpriseID = enterprise?.id
        if a.employerName == nil { a.employerName = enterprise?.name }
        // A worker may quote the union's own credit code (工会法人, 81…) rather than the firm's: the
        // union then takes the appeal even when its firm is not in the ledger.
        var unionByCode: Organization?
        if enterprise?.unionOrgID == nil, let creditCode {
            unionByCode = try await Organization.query(on: db).filter(\.$creditCode == creditCode).first()
        }
        a.orgID = try await route(subject: a.subjectCode, enterprise: enterprise, workplace: workplace, unionByCode: unionByCode)
        a.dueAt = try await Self.deadline(from: now, tier: a.tier, on: db)
        let org = try await Organization.find(a.orgID, on: db)
        let staffID = request.optionalScope?.staffID
        let (request, phoneNumber) = (self.request, phone)

        // One transaction: the appeal, its event, its audit line, its tallies and its serial stand or fall
        // together, and the checks for the same submission again (the same key, or the same phone and
        // text within ten minutes) are made under a lock on the key and the phone, so two copies sent
        // at once cannot both pass them.
        return try await db.transaction { tx in
            try await tx.lock([key.map { "appeal.key:" + $0 }, phoneNumber.map { "appeal.phone:" + $0.value }].compactMap { $0 })
            if let key, let earlier = try await Appeal.query(on: tx).filter(\.$idempotencyKey == key).first() { return (earlier, false) }
            if let phone = phoneNumber, let earlier = try await Appeal.query(on: tx).filter(\.$phone == phone.value)
                .filter(\.$receivedAt >= now.addingTimeInterval(-AppealRules.repeatWindow)).filter(\.$description == description).first() {
                return (earlier, false)
            }
            let day = ShanghaiClock.today(now)
            a.trackingNumber = TrackingNumber.make(day: day, serial: try await AppealSerials.next(day: day, on: tx))
            try await a.create(on: tx)
            try await AppealEvent(appealID: a.requireID(), kind: "received", to: a.orgID, text: nil, staffID: staffID, at: now).create(on: tx)
            try await request.audit.record("appeal.create", targetType: "appeal", targetID: a.id, org: org,
                                           details: ["channel": a.channel.rawValue, "subject": a.subjectCode, "trackingNumber": a.trackingNumber],
                                           on: tx)
            if let org { try await AppealTallies.refresh([AppealTallies.key(a, orgPath: org.path)], on: tx) }
            return (a, true)
        }
    }

    /// A rule for the subject; else the employer's union (by the firm's credit code in the ledger, or
    /// the union's own credit code); else the workplace's street or district; else the city (the
    /// 12351 centre assigns it).
    func route(subject: String, enterprise: Enterprise?, workplace: Organization?, unionByCode: Organization? = nil) async throws -> Int {
        if let rule = try await AppealRoute.query(on: db).filter(\.$subjectCode == subject).first() { return rule.orgID }
        if let union = enterprise?.unionOrgID { return union }
        if let union = unionByCode?.id { return union }
        if let workplace, let id = workplace.id { return id }
        if let street = enterprise?.orgID { return street }
        return try await Organization.query(on: db).filter(\.$kind == .city).first()?.requireID() ?? 1
    }

    // MARK: reading

    func find(_ id: Int) async throws -> Appeal {
        let scope = try request.scope
        try scope.require(scope.role.worksAppeals)
        guard let a = try await Appeal.find(id, on: db), let org = try await Organization.find(a.orgID, on: db), scope.contains(org.path) else { throw AppError.notFound }
        return a
    }

    func dto(_ a: Appeal, whole: Bool, events: Bool, names: [Int: Organization] = [:], subjects: [String: AppealSubject]? = nil) async throws -> AppealDTO {
        var subject = subjects?[a.subjectCode]
        if subject == nil { subject = try await AppealSubject.find(a.subjectCode, on: db) }
        var org = names[a.orgID]
        if org == nil { org = try await Organization.find(a.orgID, on: db) }
        var dto = AppealDTO(
            id: try a.requireID(), trackingNumber: a.trackingNumber, channel: a.channel, category: a.category, subject: a.subjectCode,
            subjectName: subject?.name(request.lang) ?? a.subjectCode, anonymous: a.anonymous, name: a.name,
            phone: a.phone.map { whole ? $0 : PhoneNumber.mask($0) }, memberId: a.memberID, employerName: a.employerName,
            employerCreditCode: a.employerCreditCode, enterpriseId: a.enterpriseID, workplaceOrgId: a.workplaceOrgID, description: a.description,
            peopleAffected: a.peopleAffected, amountYuan: a.amountFen.yuan, urgency: a.urgency, tier: a.tier, orgId: a.orgID, orgName: org?.name,
            supervisorOrgId: a.supervisorOrgID, assigneeStaffId: a.assigneeStaffID, state: a.state, receivedAt: a.receivedAt, dueAt: a.dueAt,
            overdue: a.isOverdue(), resolvedAt: a.resolvedAt, closedAt: a.closedAt, outcome: a.outcome, amountRecoveredYuan: a.recoveredFen.yuan,
            onTime: a.onTime, rating: a.rating, ratingComment: a.ratingComment, reopenCount: a.reopenCount, events: nil)
        if whole, a.phone != nil {
            // The whole number is shown for the call back: a sensitive read, written down each time.
            try await request.audit.record("appeal.phone.view", targetType: "appeal", targetID: a.id, org: org)
        }
        if events {
            let list = try await AppealEvent.query(on: db).filter(\.$appealID == a.requireID()).sort(\.$at).sort(\.$id).all()
            let orgs = try await ApplicationService.orgNames(list.flatMap { [$0.fromOrgID, $0.toOrgID].compactMap { $0 } }, on: db)
            let staffIDs = Array(Set(list.compactMap(\.staffID)))
            let staff = staffIDs.isEmpty ? [:] : Dictionary(uniqueKeysWithValues: try await StaffUser.query(on: db).filter(\.$id ~~ staffIDs).all().map { ($0.id ?? 0, $0.displayName) })
            dto.events = list.map { e in
                AppealEventDTO(kind: e.kind, text: e.text, isInternal: e.isInternal, fromOrgId: e.fromOrgID, toOrgId: e.toOrgID,
                               fromOrgName: e.fromOrgID.flatMap { orgs[$0]?.name }, toOrgName: e.toOrgID.flatMap { orgs[$0]?.name },
                               staffName: e.staffID.flatMap { staff[$0] }, at: e.at)
            }
        }
        return dto
    }

    struct Filter: Sendable {
        var states: [AppealState] = []
        var overdue: Bool?
        var orgID: Int?
        var subject: String?
        var supervised: Bool?
        var olderThanDays: Int?
        var q: String?

        var query: String {
            var parts: [String] = []
            if !states.isEmpty { parts.append("state=" + states.map(\.rawValue).joined(separator: ",")) }
            if let overdue { parts.append("overdue=\(overdue)") }
            if let orgID { parts.append("orgId=\(orgID)") }
            if let subject { parts.append("subject=\(subject)") }
            if let supervised { parts.append("supervised=\(supervised)") }
            if let olderThanDays { parts.append("olderThanDays=\(olderThanDays)") }
            if let q { parts.append("q=" + (q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")) }
            return parts.joined(separator: "&")
        }
    }

    static func filter(from req: Request, _ v: inout Validator) -> Filter {
        var f = Filter()
        if let raw = req.query[String.self, at: "state"], !raw.isEmpty {
            for part in raw.split(separator: ",") {
                if let s = AppealState(rawValue: String(part)) { f.states.append(s) } else {
                    v.add("state", "unknown", "error.field.oneOf", ["values": AppealState.allCases.map(\.rawValue).joined(separator: ", ")])
                    break
                }
            }
        }
        func flag(_ name: String) -> Bool? {
            guard let raw = req.query[String.self, at: name], !raw.isEmpty else { return nil }
            switch raw { case "true", "1": return true; case "false", "0": return false; default: v.add(name, "format", "error.field.boolean"); return nil }
        }
        f.overdue = flag("overdue")
        f.supervised = flag("supervised")
        f.orgID = req.optionalID("orgId", &v)
        if let s = req.query[String.self, at: "subject"], !s.isEmpty { f.subject = s }
        if req.query[String.self, at: "olderThanDays"].map({ !$0.isEmpty }) == true {
            f.olderThanDays = PageRequest.int(req, "olderThanDays", default: 0, range: 0...3650, &v)
        }
        f.q = v.text(req.query[String.self, at: "q"], "q", required: false, max: 40)
        return f
    }

    func query(_ f: Filter, now: Date = Date()) async throws -> QueryBuilder<Appeal> {
        let scope = try request.scope
        try scope.require(scope.role.worksAppeals)
        let root = try await scope.org(f.orgID ?? scope.rootID, on: db)
        var q = Appeal.query(on: db)
        // The subtree as a list of units the (org_id, state, due_at) index answers one by one; the
        // whole tree needs no condition at all.
        if root.parentID != nil { q = q.filter(Self.inSubtree(root)) }
        if !f.states.isEmpty { q = q.filter(\.$state ~~ f.states) }
        if let overdue = f.overdue {
            let running: [AppealState] = AppealState.allCases.filter(\.clockRuns)
            q = overdue ? q.filter(\.$state ~~ running).filter(\.$dueAt < now)
                : q.group(.or) { $0.filter(\.$state !~ running).filter(\.$dueAt >= now) }
        }
        if let s = f.subject { q = q.filter(\.$subjectCode == s) }
        if let supervised = f.supervised { q = supervised ? q.filter(\.$supervisorOrgID == root.id!) : q.filter(\.$supervisorOrgID == nil) }
        if let days = f.olderThanDays { q = q.filter(\.$receivedAt <= now.addingTimeInterval(-Double(days) * 86_400)) }
        if let text = f.q {
            if let number = TrackingNumber.parse(text) { q = q.filter(\.$trackingNumber == number) } else if let phone = try? PhoneNumber(parsing: text) {
                q = q.filter(\.$phone == phone.value)
            } else { q = try await q.matching(text, .appeals) }
        }
        return q
    }

    /// `org_id IN (the ids of the subtree)`, for queries on appeals.
    static func inSubtree(_ root: Organization) -> DatabaseQuery.Filter {
        .sql(embed: "\(ident: Appeal.schema).\(ident: "org_id") IN (SELECT \(ident: "id") FROM \(ident: Organization.schema) WHERE \(ident: "path") >= \(bind: root.path) AND \(ident: "path") < \(bind: root.treePath.upperBound))")
    }

    func page(_ f: Filter, _ paging: PageRequest) async throws -> Paged<AppealDTO> {
        try await Self.sweep(on: db, now: Date(), throttle: true)
        let q = try await query(f)
        let total = try await q.count()
        let rows = try await q.sort(\.$dueAt).sort(\.$id).range(paging.offset..<(paging.offset + paging.per)).all()
        let orgs = try await ApplicationService.orgNames(rows.map(\.orgID), on: db)
        let subjects = Dictionary(uniqueKeysWithValues: try await AppealSubject.query(on: db).all().map { ($0.id ?? "", $0) })
        var items: [AppealDTO] = []
        for a in rows { items.append(try await dto(a, whole: false, events: false, names: orgs, subjects: subjects)) }
        return Paged(items: items, page: paging.page, per: paging.per, total: total)
    }
}

extension Normalize {
    /// Text with line breaks kept: trimmed, control characters other than newlines removed.
    static func multiLine(_ text: String) -> String {
        let kept = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 == "\n" || $0.properties.generalCategory != .control }))
        return kept.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
