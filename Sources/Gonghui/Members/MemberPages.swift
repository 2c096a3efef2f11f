import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The console's member pages: the application queue, the booth screen, the roster, imports, transfers.
struct MemberPages: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let console = routes.grouped("console")
        console.get("applications", use: applications)
        console.get("applications", ":id", use: application)
        console.post("applications", ":id", "approve", use: approve)
        console.post("applications", ":id", "decide", use: decide)
        console.post("applications", ":id", "assign", use: assign)
        console.get("booth", use: booth)
        console.get("booth", "feed", use: boothFeed)
        console.get("members", use: members)
        console.get("members", "export", use: export)
        console.get("members", "import", use: importForm)
        console.get("members", "import", "template", use: template)
        console.on(.POST, "members", "import", body: .collect(maxSize: RosterFiles.maxUpload), use: importUpload)
        console.get("imports", ":id", use: job)
        console.get("imports", ":id", "status", use: jobStatus)
        console.get("imports", ":id", "problems", use: problems)
        console.get("members", ":id", use: member)
        console.post("members", ":id", "reveal", use: reveal)
        console.post("members", ":id", "status", use: changeStatus)
        console.post("members", ":id", "card", use: card)
        console.post("members", ":id", "transfer", use: transfer)
        console.get("transfers", use: transfers)
        console.post("transfers", ":id", "accept", use: acceptTransfer)
        console.post("transfers", ":id", "decline", use: declineTransfer)
    }

    static func registerNav(_ app: Application) {
        app.consoleNav.add(.init(labelKey: "nav.applications", href: "/console/applications", visible: { $0.keepsMembers }))
        app.consoleNav.add(.init(labelKey: "nav.members", href: "/console/members", visible: { $0.keepsMembers }))
        app.consoleNav.add(.init(labelKey: "nav.transfers", href: "/console/transfers", visible: { $0.keepsMembers }))
    }

    struct Option: Encodable {
        let value: String
        let label: String
        let selected: Bool
    }

    struct UnionChoice: Encodable {
        let id: Int
        let name: String
        let selected: Bool
    }

    static func sexAge(_ req: Request, sex: String, age: Int) -> String {
        req.t("member.sex.\(sex)") + " · " + req.t("members.age", ["age": String(age)])
    }

    /// The unions a union picker starts from (see `OrgPicker.choices`).
    static func unions(under org: Organization, selected: Int? = nil, matching: String? = nil, on db: any Database) async throws -> [UnionChoice] {
        try await OrgPicker.choices(.unions, under: org, selected: selected, matching: matching, on: db)
            .map { UnionChoice(id: $0.id, name: $0.name, selected: $0.id == selected) }
    }
}

extension Calendar {
    static var shanghai: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = ShanghaiClock.zone
        return calendar
    }
}
