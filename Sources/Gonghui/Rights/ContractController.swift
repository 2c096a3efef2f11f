import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

struct ContractInput: Content {
    var kind: String?
    var orgId: Int?
    var title: String?
    var enterpriseIds: [Int]?
}

struct CreatedDTO: Content {
    let id: Int
    let state: String
}

struct DeadlineDTO: Content {
    let clock: String
    let dueOn: String
    let rule: String
    let warnFrom: String?
}

struct ContractDTO: Content {
    let id: Int
    let orgId: Int
    let orgName: String?
    let kind: String
    let title: String
    let state: String
    let version: Int
    let previousId: Int?
    let successorId: Int?
    let offerOn: String?
    let offerBy: String?
    let replyDueOn: String?
    let repliedOn: String?
    let rounds: Int
    let draftOn: String?
    let resolutionId: Int?
    let votedOn: String?
    let signedOn: String?
    let termYears: Int?
    let filingDueOn: String?
    let filedOn: String?
    let filingLate: Bool
    let reviewEndsOn: String?
    let objectedOn: String?
    let inForceOn: String?
    let publishDueOn: String?
    let publishedOn: String?
    let expiresOn: String?
    let renewalFrom: String?
    let endedOn: String?
    let wageRisePercent: Decimal?
    let lowestWageYuan: Decimal?
    let topics: [String]
    let workersCovered: Int?
    let enterpriseIds: [Int]?
    let deadlines: [DeadlineDTO]?
    let events: [EventDTO]?

    struct EventDTO: Content {
        let action: String
        let date: String
        let note: String?
    }

    init(_ c: CollectiveContract, orgName: String?, today: CalendarDate, enterprises: [Int]? = nil, deadlines: [Deadline]? = nil,
         events: [ContractEvent]? = nil) {
        id = c.id ?? 0
        orgId = c.orgID
        self.orgName = orgName
        kind = c.kind.rawValue
        title = c.title
        state = c.state.rawValue
        version = c.version
        previousId = c.previousID
        successorId = c.successorID
        offerOn = c.offerOn
        offerBy = c.offerBy
        replyDueOn = c.replyDueOn
        repliedOn = c.repliedOn
        rounds = c.rounds
        draftOn = c.draftOn
        resolutionId = c.resolutionID
        votedOn = c.votedOn
        signedOn = c.signedOn
        termYears = c.termYears
        filingDueOn = c.filingDueOn
        filedOn = c.filedOn
        filingLate = c.filingLate(today: today)
        reviewEndsOn = c.reviewEndsOn
        objectedOn = c.objectedOn
        inForceOn = c.inForceOn
        publishDueOn = c.publishDueOn
        publishedOn = c.publishedOn
        expiresOn = c.expiresOn
        renewalFrom = c.expiresOn.flatMap { try? CalendarDate(parsing: $0) }?.adding(months: -RightsRules.renewalMonths).description
        endedOn = c.endedOn
        wageRisePercent = c.wageRiseBP.map { Decimal($0) / 100 }
        lowestWageYuan = c.lowestWageFen.map { Decimal(fen: $0) }
        topics = (c.topics ?? "").split(separator: ",").map(String.init)
        workersCovered = c.workersCovered
        enterpriseIds = enterprises
        self.deadlines = deadlines?.map { DeadlineDTO(clock: $0.clock, dueOn: $0.dueOn, rule: $0.rule, warnFrom: $0.warnFrom) }
        self.events = events?.map { EventDTO(action: $0.action, date: $0.onDay, note: $0.note) }
    }
}

/// `/api/v1/collective-contracts`: make a contract, take it through bargaining to force, list them.
struct ContractController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let c = routes.grouped("collective-contracts")
        c.post(use: create)
        c.get(use: list)
        c.get(":id", use: show)
        c.post(":id", "actions", use: act)
    }

    /// A contract inside the caller's subtree, brought up to today by its clocks.
    static func contract(_ req: Request, _ id: Int) async throws -> CollectiveContract {
        let scope = try req.scope
        guard let c = try await CollectiveContract.find(id, on: req.db) else { throw AppError.notFound }
        _ = try await scope.org(c.orgID, on: req.db)
        if c.state == .underReview || c.state == .inForce {
            try await req.db.transaction { tx in
                try await tx.lock("contract:\(id)")
                guard let fresh = try await CollectiveContract.find(id, on: tx) else { return }
                if try await ContractClock.settle(fresh, today: ShanghaiClock.today(), on: tx) { c.state = fresh.state }
            }
            return try await CollectiveContract.find(id, on: req.db) ?? c
        }
        return c
    }

    @Sendable func create(req: Request) async throws -> Response {
        let c = try await Self.make(req, try req.content.decode(ContractInput.self))
        return try await CreatedDTO(id: c.requireID(), state: c.state.rawValue).encodeResponse(status: .created, for: req)
    }

    static func make(_ req: Request, _ input: ContractInput) async throws -> CollectiveContract {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        var v = Validator()
        let kind = input.kind.flatMap(ContractKind.init(rawValue:))
        if input.kind == nil { v.add("kind", "required") } else if kind == nil {
            v.add("kind", "unknown", "error.field.oneOf", ["values": ContractKind.allCases.map(\.rawValue).joined(separator: ", ")])
        }
        let title = v.text(input.title, "title", required: true, max: 200)
        try v.check()
        let org = try await scope.org(input.orgId ?? scope.rootID, on: req.db)
        var enterprises = Set(input.enterpriseIds ?? [])
        if enterprises.count > 5000 { throw AppError.invalid([FieldIssue("enterpriseIds", "tooMany", nil, ["max": "5000"])]) }
        if !enterprises.isEmpty {
            let found = try await scope.records(Enterprise.self, orgField: \.$orgID, on: req.db).filter(\.$id ~~ Array(enterprises)).all()
            let missing = enterprises.subtracting(found.compactMap(\.id)).sorted()
            if !missing.isEmpty {
                throw AppError.invalid([FieldIssue("enterpriseIds", "notFound", "rights.error.contract.enterprises", ["ids": missing.map(String.init).joined(separator: ", ")])])
            }
        }
        if org.kind.holdsUnions || !org.kind.isGrassroots {
            // A regional or industry contract lists the enterprises it covers.
            if enterprises.isEmpty { throw AppError.invalid([FieldIssue("enterpriseIds", "required", "rights.error.contract.regional")]) }
        } else {
            for e in try await Enterprise.query(on: req.db).filter(\.$unionOrgID == org.requireID()).all() { enterprises.insert(try e.requireID()) }
        }
        let c = CollectiveContract()
        c.orgID = try org.requireID()
        c.kind = kind!
        c.title = title!
        c.state = .preparing
        c.version = 1
        c.rounds = 0
        c.staffID = scope.staffID
        let covered = enterprises.sorted()
        try await req.db.transaction { tx in
            try await c.create(on: tx)
            for e in covered { try await ContractEnterprise(contractID: c.requireID(), enterpriseID: e).create(on: tx) }
            try await ContractEvent(contractID: c.requireID(), action: "create", on: ShanghaiClock.today().description, staffID: scope.staffID).create(on: tx)
            try await req.audit.record("rights.contract.create", targetType: "collectiveContract", targetID: c.id, org: org,
                                       details: ["kind": c.kind.rawValue], on: tx)
        }
        return c
    }

    @Sendable func show(req: Request) async throws -> ContractDTO {
        let c = try await Self.contract(req, try req.idParameter())
        let id = try c.requireID()
        let org = try await Organization.find(c.orgID, on: req.db)
        let enterprises = try await ContractEnterprise.query(on: req.db).filter(\.$contractID == id).all().map(\.enterpriseID)
        let clocks = try await Deadlines.open(c.subject, on: req.db)
        let events = try await ContractEvent.query(on: req.db).filter(\.$contractID == id).sort(\.$id).all()
        return ContractDTO(c, orgName: org?.name, today: ShanghaiClock.today(), enterprises: enterprises, deadlines: clocks, events: events)
    }

    @Sendable func act(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let successor = try await Self.perform(req, id, try req.content.decode(ContractActionInput.self))
        let dto = try await show(req: req)
        if let successor {
            guard let next = try await CollectiveContract.find(successor, on: req.db) else { throw AppError.notFound }
            return try await ContractDTO(next, orgName: dto.orgName, today: ShanghaiClock.today()).encodeResponse(status: .created, for: req)
        }
        return try await dto.encodeResponse(for: req)
    }

    /// One step on one contract, under its lock, audited; the new version's id for renew and amend.
    static func perform(_ req: Request, _ id: Int, _ input: ContractActionInput) async throws -> Int? {
        let scope = try req.scope
        try scope.require(scope.role.editsOwnOrg)
        _ = try await Self.contract(req, id)
        let calendar = try await AppealService.calendar(on: req.db)
        let today = ShanghaiClock.today()
        let successor = try await req.db.transaction { tx -> Int? in
            try await tx.lock("contract:\(id)")
            guard let c = try await CollectiveContract.find(id, on: tx) else { throw AppError.notFound }
            let next = try await ContractActions.apply(input, to: c, staffID: scope.staffID, today: today, calendar: calendar, on: tx)
            try await req.audit.record("rights.contract.\(input.action ?? "")", targetType: "collectiveContract", targetID: id,
                                       org: try await Organization.find(c.orgID, on: tx), details: ["state": c.state.rawValue], on: tx)
            return next
        }
        return successor
    }

    @Sendable func list(req: Request) async throws -> Paged<ContractDTO> {
        let scope = try req.scope
        var v = Validator()
        let orgID = req.optionalID("orgId", &v)
        let paging = PageRequest(from: req, &v)
        let within = req.query[String.self, at: "expiringWithinDays"].flatMap { $0.isEmpty ? nil : $0 }
        var days: Int?
        if let within { if let n = Int(within), (0...3650).contains(n) { days = n } else { v.add("expiringWithinDays", "range", nil, ["min": "0", "max": "3650"]) } }
        let state = req.query[String.self, at: "state"].flatMap { $0.isEmpty ? nil : $0 }
        if let state, ContractState(rawValue: state) == nil {
            v.add("state", "unknown", "error.field.oneOf", ["values": ContractState.allCases.map(\.rawValue).joined(separator: ", ")])
        }
        try v.check()
        let root = try await scope.org(orgID ?? scope.rootID, on: req.db)
        let today = ShanghaiClock.today()
        try await req.application.scheduledJobs.runOne("rights.contracts", on: req.db, today: today)
        var q = CollectiveContract.query(on: req.db).join(Organization.self, on: \CollectiveContract.$orgID == \Organization.$id).joinedUnder(root)
        if let days {
            q = q.filter(\.$state == .inForce).filter(\.$expiresOn <= today.adding(days: days).description).filter(\.$successorID == nil)
        } else if let state { q = q.filter(\.$state == ContractState(rawValue: state)!) }
        let total = try await q.count()
        q = days == nil ? q.sort(\.$id, .descending) : q.sort(\.$expiresOn).sort(\.$id)
        let rows = try await q
            .range(paging.offset..<(paging.offset + paging.per)).all()
        let names = try await ApplicationService.orgNames(rows.map(\.orgID), on: req.db)
        return Paged(items: rows.map { ContractDTO($0, orgName: names[$0.orgID]?.name, today: today) }, page: paging.page, per: paging.per, total: total)
    }
}
