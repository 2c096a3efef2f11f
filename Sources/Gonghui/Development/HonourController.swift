import Fluent
import FluentSQL
import Foundation
import GonghuiCore
import Vapor

struct HonourTitleDTO: Content {
    let code: String
    let name: String
    let level: String
    let nominee: String
    let cycleYears: Int
    let sentUp: Bool
    let prizeYuan: Decimal
    let noticeDays: Int
    let noticeDayRule: String
}

struct HonourAwardDTO: Content {
    let id: Int
    let honour: String
    let honourName: String
    let year: Int
    let name: String
    let employer: String
    let category: String
    let awardedOn: String
    let prizeYuan: Decimal?
    let revoked: Bool
    let revokedOn: String?
    let revokeReason: String?
    let memberId: Int?
    let orgId: Int?

    /// The public roll: name, employer, title and year; no prize, no member or union ids.
    static func publicRow(_ a: HonourAward) -> HonourAwardDTO {
        HonourAwardDTO(id: a.id ?? 0, honour: a.honourCode, honourName: a.honourName, year: a.year, name: a.name, employer: a.employer,
                       category: a.category, awardedOn: a.awardedOn, prizeYuan: nil, revoked: a.revokedOn != nil, revokedOn: nil,
                       revokeReason: nil, memberId: nil, orgId: nil)
    }

    static func staffRow(_ a: HonourAward) -> HonourAwardDTO {
        HonourAwardDTO(id: a.id ?? 0, honour: a.honourCode, honourName: a.honourName, year: a.year, name: a.name, employer: a.employer,
                       category: a.category, awardedOn: a.awardedOn, prizeYuan: Decimal(fen: a.prizeFen), revoked: a.revokedOn != nil,
                       revokedOn: a.revokedOn, revokeReason: a.revokeReason, memberId: a.memberID, orgId: a.orgID)
    }
}

struct CloseCampaignInput: Content {
    var overrideReason: String?
}

/// `/api/v1/honour-campaigns`, `/api/v1/nominations`, `/api/v1/honour-registry`, `/api/v1/craftsman-pool`.
struct HonourController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("honour-titles", use: titles)
        let campaigns = routes.grouped("honour-campaigns")
        campaigns.post(use: create)
        campaigns.get(use: list)
        campaigns.get(":id", use: show)
        campaigns.post(":id", "nominations", use: nominate)
        campaigns.get(":id", "nominations", use: nominations)
        campaigns.post(":id", "notice", use: noticeAll)
        campaigns.post(":id", "close", use: close)
        routes.get("nominations", ":id", use: nomination)
        routes.post("nominations", ":id", "actions", use: act)
        routes.get("honour-registry", use: registry)
        routes.get("craftsman-pool", use: pool)
    }

    /// The public roll, no account: `GET /api/v1/honours?year=&honour=`.
    static func publicRoll(_ req: Request) async throws -> [HonourAwardDTO] {
        var v = Validator()
        let year = req.query[String.self, at: "year"].flatMap { $0.isEmpty ? nil : $0 }
        let yearValue = year.flatMap(Int.init)
        if year != nil && (yearValue == nil || !(1950...2100).contains(yearValue!)) { v.add("year", "range", "error.field.range", ["min": "1950", "max": "2100"]) }
        let honour = req.query[String.self, at: "honour"].flatMap { $0.isEmpty ? nil : String($0.prefix(40)) }
        try v.check()
        var q = HonourAward.query(on: req.db).filter(\.$revokedOn == nil)
        if let yearValue { q = q.filter(\.$year == yearValue) }
        if let honour { q = q.filter(\.$honourCode == honour) }
        return try await q.sort(\.$year, .descending).sort(\.$honourCode).sort(\.$id).limit(1000).all().map(HonourAwardDTO.publicRow)
    }

    @Sendable func titles(req: Request) async throws -> [HonourTitleDTO] {
        try await HonourTitle.query(on: req.db).sort(\.$id).all().map {
            HonourTitleDTO(code: $0.code, name: $0.name, level: $0.level, nominee: $0.nominee, cycleYears: $0.cycleYears, sentUp: $0.sentUp,
                           prizeYuan: Decimal(fen: $0.prizeFen), noticeDays: $0.noticeDays, noticeDayRule: $0.dayRule)
        }
    }

    @Sendable func create(req: Request) async throws -> Response {
        let c = try await HonourCampaigns.create(req, try req.content.decode(HonourCampaignInput.self))
        let org = try await Organization.find(c.orgID, on: req.db)
        return try await HonourCampaigns.dto(c, org: org, on: req.db).encodeResponse(status: .created, for: req)
    }

    /// Campaigns run at or above the caller's node (to nominate into) and inside the subtree.
    static func visibleCampaigns(_ req: Request) async throws -> [HonourCampaign] {
        let scope = try req.scope
        let ancestors = scope.root.ids
        let inside = try await scope.records(HonourCampaign.self, orgField: \.$orgID, on: req.db).all()
        let above = try await HonourCampaign.query(on: req.db).filter(\.$orgID ~~ ancestors).all()
        var seen = Set<Int>()
        return (above + inside).filter { seen.insert($0.id ?? 0).inserted }.sorted { ($0.year, $0.id ?? 0) > ($1.year, $1.id ?? 0) }
    }

    @Sendable func list(req: Request) async throws -> [HonourCampaignDTO] {
        let all = try await Self.visibleCampaigns(req)
        let orgs = try await ApplicationService.orgNames(all.map(\.orgID), on: req.db)
        var out: [HonourCampaignDTO] = []
        for c in all.prefix(200) { out.append(try await HonourCampaigns.dto(c, org: orgs[c.orgID], on: req.db)) }
        return out
    }

    @Sendable func show(req: Request) async throws -> HonourCampaignDTO {
        let (c, org) = try await HonourCampaigns.visible(req, try req.idParameter())
        return try await HonourCampaigns.dto(c, org: org, on: req.db)
    }

    @Sendable func nominate(req: Request) async throws -> Response {
        let (c, org) = try await HonourCampaigns.visible(req, try req.idParameter())
        let n = try await Nominations.create(req, campaign: c, campaignOrg: org, try req.content.decode(NominationInput.self))
        let name = try await Organization.find(n.orgID, on: req.db)?.name
        return try await Nominations.dto(n, orgName: name, on: req.db).encodeResponse(status: .created, for: req)
    }

    /// The nominations the caller may see: all of them for the organiser, its own subtree's otherwise.
    static func nominationList(_ req: Request, _ c: HonourCampaign, _ org: Organization) async throws -> [NominationDTO] {
        let scope = try req.scope
        var q = HonourNomination.query(on: req.db).filter(\.$campaignID == (try c.requireID()))
        if !HonourCampaigns.runs(scope, org) {
            q = q.join(Organization.self, on: \HonourNomination.$orgID == \Organization.$id)
                .filter(Organization.self, \.$path >= scope.root.value).filter(Organization.self, \.$path < scope.root.upperBound)
        }
        let list = try await q.sort(\.$id).limit(5000).all()
        let names = try await ApplicationService.orgNames(list.map(\.orgID), on: req.db)
        var out: [NominationDTO] = []
        for n in list { out.append(try await Nominations.dto(n, orgName: names[n.orgID]?.name, on: req.db)) }
        return out
    }

    @Sendable func nominations(req: Request) async throws -> [NominationDTO] {
        let (c, org) = try await HonourCampaigns.visible(req, try req.idParameter())
        return try await Self.nominationList(req, c, org)
    }

    /// Every city-reviewed nomination into notice at once.
    @Sendable func noticeAll(req: Request) async throws -> HonourCampaignDTO {
        let (c, org) = try await HonourCampaigns.visible(req, try req.idParameter())
        let scope = try req.scope
        guard HonourCampaigns.runs(scope, org) else { throw AppError.forbidden }
        guard c.state == .open else { throw NominationActions.conflict("honour.error.closed") }
        let ready = try await HonourNomination.query(on: req.db).filter(\.$campaignID == c.requireID()).filter(\.$state == .cityReviewed).all()
        guard !ready.isEmpty else { throw NominationActions.conflict("honour.error.noneReviewed") }
        try await req.db.transaction { tx in
            try await NominationActions.putInNotice(c, org, ready, today: ShanghaiClock.today(), on: tx)
            try await req.audit.record("honour.notice", targetType: "honourCampaign", targetID: c.id, org: org, details: ["count": String(ready.count)], on: tx)
        }
        return try await HonourCampaigns.dto(c, org: org, on: req.db)
    }

    @Sendable func close(req: Request) async throws -> HonourCampaignDTO {
        let (c, org) = try await HonourCampaigns.visible(req, try req.idParameter())
        let input = (try? req.content.decode(CloseCampaignInput.self)) ?? CloseCampaignInput()
        try await HonourCampaigns.close(req, c, org: org, override: input.overrideReason)
        return try await HonourCampaigns.dto(c, org: org, on: req.db)
    }

    @Sendable func nomination(req: Request) async throws -> NominationDTO {
        let (n, _, _) = try await Nominations.find(req, try req.idParameter())
        return try await Nominations.dto(n, orgName: try await Organization.find(n.orgID, on: req.db)?.name, on: req.db)
    }

    @Sendable func act(req: Request) async throws -> NominationDTO {
        let (n, c, org) = try await Nominations.find(req, try req.idParameter())
        try await NominationActions.perform(req, n, c, org, try req.content.decode(NominationActionInput.self))
        return try await Nominations.dto(n, orgName: try await Organization.find(n.orgID, on: req.db)?.name, on: req.db)
    }

    /// Everyone awarded in the subtree, revoked ones shown as revoked.
    @Sendable func registry(req: Request) async throws -> Response {
        let rows = try await Self.registryRows(req)
        if let format = req.query[String.self, at: "format"], !format.isEmpty {
            guard format == "xlsx" || format == "csv" else { throw AppError.invalid([FieldIssue("format", "unknown", "error.field.oneOf", ["values": "xlsx, csv"])]) }
            try await req.audit.record("honour.registry.export", details: ["format": format, "rows": String(rows.count)])
            let header = ["honour.field.honour", "field.year", "field.name", "honour.field.employer", "honour.field.category", "honour.field.prize",
                          "honour.field.awardedOn", "honour.field.revokedOn", "field.reason"].map { req.t($0) }
            return try await RosterFiles.download(req, name: "honours", format: format, header: header, widths: [18, 8, 12, 30, 10, 12, 12, 12, 30]) { add in
                for a in rows {
                    try add([.text(a.honourName), .integer(Int64(a.year)), .text(a.name), .text(a.employer), .text(req.t("honour.category.\(a.category)")),
                             .number(Double(a.prizeFen) / 100), .text(a.awardedOn), .text(a.revokedOn ?? ""), .text(a.revokeReason ?? "")])
                }
            }
        }
        return try await rows.map(HonourAwardDTO.staffRow).encodeResponse(for: req)
    }

    static func registryRows(_ req: Request) async throws -> [HonourAward] {
        let scope = try req.scope
        var v = Validator()
        let yearText = req.query[String.self, at: "year"].flatMap { $0.isEmpty ? nil : $0 }
        let year = yearText.flatMap(Int.init)
        if yearText != nil && year == nil { v.add("year", "format") }
        let honour = req.query[String.self, at: "honour"].flatMap { $0.isEmpty ? nil : String($0.prefix(40)) }
        try v.check()
        var q = scope.records(HonourAward.self, orgField: \.$orgID, on: req.db)
        if let year { q = q.filter(\.$year == year) }
        if let honour { q = q.filter(\.$honourCode == honour) }
        return try await q.sort(\.$year, .descending).sort(\.$id).limit(20_000).all()
    }

    /// 北京工匠人才库: everyone ever nominated for 北京大工匠 in the subtree, whatever became of the nomination.
    @Sendable func pool(req: Request) async throws -> [NominationDTO] {
        let scope = try req.scope
        let campaigns = try await HonourCampaign.query(on: req.db).filter(\.$honourCode == "bjCraftsman").all().compactMap(\.id)
        guard !campaigns.isEmpty else { return [] }
        let list = try await scope.records(HonourNomination.self, orgField: \.$orgID, on: req.db).filter(\.$campaignID ~~ campaigns)
            .sort(\.$id).limit(5000).all()
        let names = try await ApplicationService.orgNames(list.map(\.orgID), on: req.db)
        var out: [NominationDTO] = []
        for n in list { out.append(try await Nominations.dto(n, orgName: names[n.orgID]?.name, on: req.db)) }
        return out
    }
}
