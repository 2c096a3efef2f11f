import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

/// Communication meetings: plan, record, the firms visited and their outcomes, follow-up tasks.
struct MeetingService {
    let request: Request
    var db: any Database { request.db }

    func find(_ id: Int) async throws -> Meeting {
        let scope = try request.scope
        try scope.require(scope.role.readsLedger || scope.role.keepsMembers)
        guard let m = try await scope.records(Meeting.self, orgField: \.$orgID, on: db).filter(\.$id == id).first() else {
            throw AppError.notFound
        }
        return m
    }

    func create(_ input: MeetingInput) async throws -> Meeting {
        let scope = try request.scope
        try scope.require(scope.role.keepsLedger)
        var v = Validator()
        let m = Meeting()
        m.consultations = 0
        m.recordsCollected = 0
        m.createdBy = scope.staffID
        var kind: MeetingKind?
        if let raw = input.kind, !raw.isEmpty {
            kind = MeetingKind(rawValue: raw)
            if kind == nil { v.add("kind", "unknown", "error.field.oneOf", ["values": MeetingKind.allCases.map(\.rawValue).joined(separator: ", ")]) }
        } else { v.add("kind", "required") }
        var organiser: Organization?
        if let orgID = input.orgId {
            if let org = try? await scope.org(orgID, on: db) {
                if org.kind.isGrassroots { v.add("orgId", "kind", "error.meeting.organiserKind") } else { organiser = org }
            } else { v.add("orgId", "notFound") }
        } else { v.add("orgId", "required") }
        if let kind { m.kind = kind }
        if let organiser { m.orgID = organiser.id ?? 0 }
        let series = parseSeries(input.series, kind: kind, organiser: organiser, &v)
        if let series { m.series = series }
        if input.startsAt == nil { v.add("startsAt", "required") }
        if input.place == nil { v.add("place", "required") }
        try applyDetails(input, to: m, creating: true, &v)
        var visits: [Enterprise] = []
        if let ids = input.enterpriseIds, !ids.isEmpty {
            if kind != .enterprise { v.add("enterpriseIds", "kind", "error.meeting.visitsNeedEnterpriseMeeting") }
            for id in Set(ids) {
                if let e = try? await EnterpriseService(request: request).find(id) { visits.append(e) } else {
                    v.add("enterpriseIds", "notFound", "error.meeting.enterpriseUnknown", ["id": String(id)])
                }
            }
        }
        try v.check()
        let firms = visits
        let host = organiser
        try await db.transaction { tx in
            try await m.create(on: tx)
            for e in firms { try await addVisit(m, e, outcome: .pending, services: [], note: nil, on: tx) }
            try await request.audit.record("meeting.create", targetType: "meeting", targetID: m.id, org: host,
                                           details: ["kind": m.kind.rawValue, "heldOn": m.heldOn], on: tx)
        }
        return m
    }

    func update(_ id: Int, _ input: MeetingInput) async throws -> Meeting {
        let scope = try request.scope
        try scope.require(scope.role.keepsLedger)
        let m = try await find(id)
        var v = Validator()
        if let raw = input.kind, raw != m.kind.rawValue { v.add("kind", "fixed", "error.meeting.kindFixed") }
        if let raw = input.series {
            if let series = MeetingSeries(rawValue: raw), series.fits(m.kind) { m.series = series } else {
                v.add("series", "unknown", "error.field.oneOf", ["values": MeetingSeries.allCases.filter { $0.fits(m.kind) }.map(\.rawValue).joined(separator: ", ")])
            }
        }
        if let orgID = input.orgId, orgID != m.orgID {
            if let org = try? await scope.org(orgID, on: db), !org.kind.isGrassroots { m.orgID = orgID } else { v.add("orgId", "notFound") }
        }
        try applyDetails(input, to: m, creating: false, &v)
        try v.check()
        let org = try await Organization.find(m.orgID, on: db)
        try await db.transaction { tx in
            try await m.save(on: tx)
            try await request.audit.record("meeting.update", targetType: "meeting", targetID: id, org: org, on: tx)
        }
        return m
    }

    private func parseSeries(_ raw: String?, kind: MeetingKind?, organiser: Organization?, _ v: inout Validator) -> MeetingSeries? {
        guard let kind else { return nil }
        if let raw, !raw.isEmpty {
            guard let series = MeetingSeries(rawValue: raw), series.fits(kind) else {
                v.add("series", "unknown", "error.field.oneOf", ["values": MeetingSeries.allCases.filter { $0.fits(kind) }.map(\.rawValue).joined(separator: ", ")])
                return nil
            }
            return series
        }
        if kind == .enterprise { return .visit }
        switch organiser?.kind {
        case .city?: return .citywide
        case .district?: return .districtDay
        default: return .weekly
        }
    }

    private func applyDetails(_ input: MeetingInput, to m: Meeting, creating: Bool, _ v: inout Validator) throws {
        if let raw = input.startsAt {
            if let date = MeetingTime.parse(raw) {
                m.startsAt = date
                m.heldOn = MeetingTime.day(date).description
            } else { v.add("startsAt", "format", "error.field.dateTime") }
        }
        if let raw = input.endsAt {
            if raw.isEmpty { m.endsAt = nil } else if let date = MeetingTime.parse(raw) {
                if creating && input.startsAt.flatMap(MeetingTime.parse) == nil { /* start already reported */ } else if date <= m.startsAt {
                    v.add("endsAt", "beforeStart", "error.meeting.endsBeforeStart")
                } else if date.timeIntervalSince(m.startsAt) > 86_400 {
                    v.add("endsAt", "tooLong", "error.meeting.tooLong")
                } else { m.endsAt = date }
            } else { v.add("endsAt", "format", "error.field.dateTime") }
        }
        if input.place != nil, let place = v.text(input.place, "place", required: true, max: 200) { m.place = place }
        if input.title != nil { m.title = v.text(input.title, "title", required: false, max: 100) }
        if input.note != nil { m.note = v.text(input.note, "note", required: false, max: 1000) }
        if input.lat != nil || input.lng != nil {
            if let lat = input.lat, let lng = input.lng {
                if !(-90...90).contains(lat) { v.add("lat", "range", nil, ["min": "-90", "max": "90"]) }
                if !(-180...180).contains(lng) { v.add("lng", "range", nil, ["min": "-180", "max": "180"]) }
                m.lat = lat
                m.lng = lng
            } else { v.add(input.lat == nil ? "lat" : "lng", "required", "error.field.coordinatePair") }
        }
        if let staff = input.staffPresent {
            let names = staff.map { Normalize.singleLine($0) }.filter { !$0.isEmpty }
            if names.count > 100 || names.contains(where: { $0.count > 50 }) { v.add("staffPresent", "tooLong", nil, ["max": "50"]) } else {
                m.staffPresent = names.isEmpty ? nil : names.joined(separator: "、")
            }
        }
        for (value, field, path) in [(input.consultations, "consultations", \Meeting.consultations),
                                     (input.recordsCollected, "recordsCollected", \Meeting.recordsCollected)] {
            guard let value else { continue }
            if (0...100_000).contains(value) { m[keyPath: path] = value } else { v.add(field, "range", nil, ["min": "0", "max": "100000"]) }
        }
    }

    // MARK: enterprise visits

    func recordVisit(_ id: Int, _ input: VisitInput) async throws -> MeetingEnterprise {
        let scope = try request.scope
        try scope.require(scope.role.keepsLedger)
        let m = try await find(id)
        var v = Validator()
        if m.kind != .enterprise { throw AppError.conflict("error.meeting.visitsNeedEnterpriseMeeting") }
        var firm: Enterprise?
        if let eid = input.enterpriseId {
            firm = try? await EnterpriseService(request: request).find(eid)
            if firm == nil { v.add("enterpriseId", "notFound") }
        } else { v.add("enterpriseId", "required") }
        var outcome = VisitOutcome.pending
        if let raw = input.outcome, !raw.isEmpty {
            if let o = VisitOutcome(rawValue: raw) { outcome = o } else {
                v.add("outcome", "unknown", "error.field.oneOf", ["values": VisitOutcome.allCases.map(\.rawValue).joined(separator: ", ")])
            }
        }
        let services = Array(Set(input.services ?? [])).sorted()
        if !services.isEmpty {
            let known = try await ServiceItem.query(on: db).filter(\.$id ~~ services).count()
            if known != services.count { v.add("services", "unknown", "error.meeting.serviceUnknown") }
        }
        let note = v.text(input.note, "note", required: false, max: 500)
        if outcome == .founded, let firm, firm.unionOrgID == nil, !firm.unionStatus.isCovered {
            v.add("outcome", "notFounded", "error.meeting.foundedNeedsElection")
        }
        try v.check()
        guard let firm else { throw AppError.notFound }
        let result = outcome
        let org = try await Organization.find(m.orgID, on: db)
        return try await db.transaction { tx in
            let visit = try await addVisit(m, firm, outcome: result, services: services, note: note, on: tx)
            try await request.audit.record("meeting.visit", targetType: "meeting", targetID: id, org: org,
                                           details: ["enterpriseId": String(firm.id ?? 0), "outcome": result.rawValue], on: tx)
            return visit
        }
    }

    /// Adds (or updates) one firm's visit: its timeline gets the meeting, a first contact moves it to
    /// "contacted", an intent moves it to "intent" (never backwards).
    @discardableResult
    private func addVisit(_ m: Meeting, _ e: Enterprise, outcome: VisitOutcome, services: [Int], note: String?, on tx: any Database) async throws -> MeetingEnterprise {
        let scope = try request.scope
        let meetingID = try m.requireID()
        let eid = try e.requireID()
        let visit = try await MeetingEnterprise.query(on: tx).filter(\.$meetingID == meetingID).filter(\.$enterpriseID == eid).first() ?? {
            let row = MeetingEnterprise()
            row.meetingID = meetingID
            row.enterpriseID = eid
            row.statusBefore = e.unionStatus
            return row
        }()
        visit.outcome = outcome
        visit.services = services.map(String.init).joined(separator: ",")
        visit.note = note
        try await visit.save(on: tx)
        let before = e.unionStatus
        let order = UnionStatus.allCases
        var next = before == .none ? UnionStatus.contacted : before
        if let reached = outcome.unionStatus, order.firstIndex(of: reached)! > order.firstIndex(of: next)! { next = reached }
        e.unionStatus = next
        if e.lastContactAt.map({ $0 < m.startsAt }) ?? true { e.lastContactAt = min(m.startsAt, Date()) }
        try await e.save(on: tx)
        let text = [request.t("visit.outcome.\(outcome.rawValue)"), note].compactMap { $0 }.joined(separator: " · ")
        try await EnterpriseContact(enterpriseID: eid, kind: "meeting", note: text, meetingID: meetingID, staffID: scope.staffID, at: min(m.startsAt, Date())).create(on: tx)
        if before != next {
            try await EnterpriseContact(enterpriseID: eid, kind: "status", from: before, to: next, meetingID: meetingID, staffID: scope.staffID).create(on: tx)
        }
        return visit
    }

    // MARK: follow-up tasks

    func addTask(_ id: Int, _ input: TaskInput) async throws -> FollowUpTask {
        let scope = try request.scope
        try scope.require(scope.role.keepsLedger)
        let m = try await find(id)
        var v = Validator()
        let title = v.text(input.title, "title", required: true, max: 200)
        var due: CalendarDate?
        if let raw = input.dueOn, !raw.isEmpty {
            if let d = try? CalendarDate(parsing: raw) { due = d } else { v.add("dueOn", "format", "error.field.date") }
        } else { v.add("dueOn", "required") }
        if let eid = input.enterpriseId {
            let visited = try await MeetingEnterprise.query(on: db).filter(\.$meetingID == id).filter(\.$enterpriseID == eid).count() > 0
            if !visited { v.add("enterpriseId", "notVisited", "error.meeting.taskFirmNotVisited") }
        }
        if let owner = input.ownerStaffId {
            if let staff = try await StaffUser.find(owner, on: db), let org = try await Organization.find(staff.orgID, on: db), scope.contains(org.path) {} else {
                v.add("ownerStaffId", "notFound")
            }
        }
        try v.check()
        let task = FollowUpTask()
        task.meetingID = id
        task.enterpriseID = input.enterpriseId
        task.orgID = m.orgID
        task.title = title ?? ""
        task.ownerStaffID = input.ownerStaffId ?? scope.staffID
        task.dueOn = due?.description ?? ""
        task.createdBy = scope.staffID
        let org = try await Organization.find(m.orgID, on: db)
        try await db.transaction { tx in
            try await task.create(on: tx)
            try await request.audit.record("meeting.task", targetType: "meeting", targetID: id, org: org, details: ["task": String(task.id ?? 0)], on: tx)
        }
        return task
    }

    func completeTask(_ taskID: Int, done: Bool) async throws -> FollowUpTask {
        let scope = try request.scope
        try scope.require(scope.role.keepsLedger)
        guard let task = try await scope.records(FollowUpTask.self, orgField: \.$orgID, on: db).filter(\.$id == taskID).first() else {
            throw AppError.notFound
        }
        task.doneAt = done ? (task.doneAt ?? Date()) : nil
        try await task.save(on: db)
        return task
    }

    // MARK: reading

    func detail(_ m: Meeting) async throws -> MeetingDTO {
        let org = try await Organization.find(m.orgID, on: db)
        var dto = MeetingDTO(m, orgName: org?.name)
        let id = try m.requireID()
        let visits = try await MeetingEnterprise.query(on: db).filter(\.$meetingID == id).sort(\.$id).all()
        let firms = visits.isEmpty ? [:] : Dictionary(uniqueKeysWithValues: try await Enterprise.query(on: db).filter(\.$id ~~ visits.map(\.enterpriseID)).all().map { ($0.id ?? 0, $0) })
        dto.enterprises = visits.compactMap { v in
            firms[v.enterpriseID].map { .init(enterpriseId: v.enterpriseID, name: $0.name, creditCode: $0.creditCode, statusBefore: v.statusBefore,
                                              unionStatus: $0.unionStatus, outcome: v.outcome, services: v.serviceIDs, note: v.note) }
        }
        let tasks = try await FollowUpTask.query(on: db).filter(\.$meetingID == id).sort(\.$dueOn).all()
        let ownerIDs = Array(Set(tasks.compactMap(\.ownerStaffID)))
        let owners = ownerIDs.isEmpty ? [:] : Dictionary(uniqueKeysWithValues: try await StaffUser.query(on: db).filter(\.$id ~~ ownerIDs).all().map { ($0.id ?? 0, $0.displayName) })
        let today = ShanghaiClock.today().description
        dto.tasks = tasks.map { .init(id: $0.id ?? 0, title: $0.title, enterpriseId: $0.enterpriseID, ownerStaffId: $0.ownerStaffID,
                                      ownerName: $0.ownerStaffID.flatMap { owners[$0] }, dueOn: $0.dueOn, done: $0.doneAt != nil,
                                      overdue: $0.doneAt == nil && $0.dueOn < today) }
        dto.stats = try await stats(m)
        return dto
    }

    func stats(_ m: Meeting) async throws -> MeetingStatsDTO {
        let id = try m.requireID()
        let apps = try await db.sql.raw("""
            SELECT status, COUNT(*) AS n FROM member_applications WHERE meeting_id = \(bind: id) GROUP BY status
            """).all()
        var byStatus: [String: Int] = [:]
        for row in apps { byStatus[try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int.self) }
        let visits = try await MeetingEnterprise.query(on: db).filter(\.$meetingID == id).all()
        let founded = try await UnionElection.query(on: db).filter(\.$enterpriseID ~~ visits.map(\.enterpriseID))
            .filter(\.$heldOn >= m.heldOn).count()
        return MeetingStatsDTO(
            applications: byStatus.values.reduce(0, +), approved: byStatus["approved"] ?? 0,
            pending: (byStatus["pending"] ?? 0) + (byStatus["needsInfo"] ?? 0), rejected: byStatus["rejected"] ?? 0,
            consultations: m.consultations, recordsCollected: m.recordsCollected,
            staffPresent: (m.staffPresent ?? "").split(separator: "、").count,
            enterprises: visits.count, withoutUnion: visits.filter { !$0.statusBefore.isCovered }.count,
            intents: visits.filter { $0.outcome == .intent }.count, founded: founded)
    }

    struct ListFilter {
        var kind: MeetingKind?
        var orgID: Int?
        var from: CalendarDate?
        var to: CalendarDate?
    }

    static func filter(from req: Request, _ v: inout Validator) -> ListFilter {
        var f = ListFilter()
        f.kind = EnterpriseService.choice(req, "kind", &v)
        f.orgID = req.optionalID("orgId", &v)
        for name in ["from", "to"] {
            guard let raw = req.query[String.self, at: name], !raw.isEmpty else { continue }
            // `today` in Beijing: the home page's link to today's meetings stays right after midnight.
            if let date = raw == "today" ? ShanghaiClock.today() : try? CalendarDate(parsing: raw) {
                if name == "from" { f.from = date } else { f.to = date }
            } else { v.add(name, "format", "error.field.date") }
        }
        return f
    }

    func query(_ f: ListFilter) async throws -> QueryBuilder<Meeting> {
        let scope = try request.scope
        try scope.require(scope.role.readsLedger || scope.role.keepsMembers)
        var query = scope.records(Meeting.self, orgField: \.$orgID, on: db)
        if let orgID = f.orgID {
            let org = try await scope.org(orgID, on: db)
            query = query.filter(Organization.self, \.$path >= org.path).filter(Organization.self, \.$path < org.treePath.upperBound)
        }
        if let kind = f.kind { query = query.filter(\.$kind == kind) }
        if let from = f.from { query = query.filter(\.$heldOn >= from.description) }
        if let to = f.to { query = query.filter(\.$heldOn <= to.description) }
        return query
    }

    func page(_ f: ListFilter, _ paging: PageRequest) async throws -> Paged<MeetingDTO> {
        let query = try await query(f)
        let total = try await query.count()
        let rows = try await query.sort(\.$startsAt, .descending).sort(\.$id, .descending).range(paging.offset..<(paging.offset + paging.per)).all()
        let orgs = try await ApplicationService.orgNames(rows.map(\.orgID), on: db)
        return Paged(items: rows.map { MeetingDTO($0, orgName: orgs[$0.orgID]?.name) }, page: paging.page, per: paging.per, total: total)
    }
}
