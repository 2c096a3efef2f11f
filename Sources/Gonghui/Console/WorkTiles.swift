import Fluent
import GonghuiCore
import Vapor

/// The home page's tiles of the first five services. Each tile's link is a list filtered to the
/// queue it counts, and each is shown only to roles that may open that list.
enum WorkTiles {
    static func register(_ app: Application) {
        let work = app.consoleWork
        // Members: the grassroots union sees its roster and its import first.
        work.add(.init(labelKey: "home.work.applications", hintKey: "home.work.applications.hint", href: "/console/applications?status=open",
                       visible: { $0.keepsMembers }, count: { req in
                           let scope = try req.scope
                           return try await ConsoleWork.bounded(scope.records(MemberApplication.self, orgField: \.$orgID, on: req.db)
                               .filter(\.$status ~~ [ApplicationStatus.pending, .needsInfo]))
                       }, urgent: true))
        work.add(.init(labelKey: "home.work.members", hintKey: "home.work.members.hint", href: "/console/members",
                       visible: { $0 == .unionAdmin }, count: { req in
                           var filter = MemberQuery.Filter()
                           filter.status = .active
                           return try await ConsoleWork.bounded(MemberQuery(request: req).query(filter))
                       }))
        work.add(.init(labelKey: "home.work.import", hintKey: "home.work.import.hint", href: "/console/members/import",
                       visible: { $0 == .unionAdmin }, count: nil))
        // Appeals: the queue, what is late, what a lower unit let slip.
        let running = AppealState.allCases.filter(\.clockRuns)
        work.add(.init(labelKey: "home.work.appealsOpen", hintKey: "home.work.appealsOpen.hint", href: "/console/appeals",
                       visible: { $0.worksAppeals }, count: { req in
                           var f = AppealService.Filter()
                           f.states = running
                           return try await ConsoleWork.bounded(AppealService(request: req).query(f))
                       }))
        work.add(.init(labelKey: "home.work.appealsOverdue", hintKey: "home.work.appealsOverdue.hint", href: "/console/appeals?overdue=true",
                       visible: { $0.worksAppeals }, count: { req in
                           var f = AppealService.Filter()
                           f.overdue = true
                           return try await ConsoleWork.bounded(AppealService(request: req).query(f))
                       }, urgent: true))
        work.add(.init(labelKey: "home.work.appealsSupervised", hintKey: "home.work.appealsSupervised.hint", href: "/console/appeals?supervised=true",
                       visible: { $0.managesOrgs }, count: { req in
                           var f = AppealService.Filter()
                           f.supervised = true
                           f.states = running
                           return try await ConsoleWork.bounded(AppealService(request: req).query(f))
                       }, urgent: true))
        // Outreach: today's meetings, firms nobody has called on in 90 days.
        work.add(.init(labelKey: "home.work.meetingsToday", hintKey: "home.work.meetingsToday.hint",
                       href: "/console/meetings?from=today&to=today", visible: { $0.keepsLedger }, count: { req in
                           var f = MeetingService.ListFilter()
                           f.from = ShanghaiClock.today()
                           f.to = f.from
                           return try await ConsoleWork.bounded(MeetingService(request: req).query(f))
                       }))
        work.add(.init(labelKey: "home.work.enterprisesStale", hintKey: "home.work.enterprisesStale.hint",
                       href: "/console/enterprises?stale=true", visible: { $0.keepsLedger }, count: { req in
                           var f = EnterpriseService.Filter()
                           f.stale = true
                           return try await ConsoleWork.bounded(EnterpriseService(request: req).query(f))
                       }))
        // Sites: what nobody has checked in 90 days.
        work.add(.init(labelKey: "home.work.sitesStale", hintKey: "home.work.sitesStale.hint", href: "/console/sites?stale=true",
                       visible: { $0.tendsSites }, count: { req in
                           var f = SiteService.Filter()
                           f.stale = true
                           return try await ConsoleWork.bounded(SiteService(request: req).query(f))
                       }))
    }
}
