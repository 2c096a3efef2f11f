import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The console's archive: the list of files with filters and export, and the filing form.
struct HouseholdPages: RouteCollection {
    /// People rows the filing form offers besides the subject.
    static let personRows = 4

    func boot(routes: any RoutesBuilder) throws {
        let files = routes.grouped("console", "assistance")
        files.get(use: list)
        files.get("export", use: export)
        files.get("new", use: new)
        files.post("new", use: create)
        files.get(":id", use: HouseholdDetailPages.show)
        files.post(":id", use: HouseholdDetailPages.act)
        files.post(":id", "answer", use: HouseholdDetailPages.answer)
        files.upload(":id", "files", use: HouseholdDetailPages.upload)
        files.get(":id", "files", ":fileId", use: HouseholdDetailPages.download)
    }

    static func registerNav(_ app: Application) {
        app.consoleNav.add(.init(labelKey: "nav.assistance", href: "/console/assistance", visible: { $0.filesHouseholds }))
    }

    struct Row: Encodable {
        let id: Int
        let fileNumber: String
        let name: String
        let category: String
        let orgName: String
        let state: String
        let perCapita: String
        let migrant: Bool
    }

    struct ListPage: Encodable {
        let page: PageContext
        let total: String
        let query: String
        let q: String
        let filters: [FormField]
        let rows: [Row]
        let prevHref: String?
        let nextHref: String?
    }

    struct Filter {
        var state: HouseholdState?
        var category: HouseholdCategory?
        var q: String?
        var query: String {
            [state.map { "state=\($0.rawValue)" }, category.map { "category=\($0.rawValue)" },
             q.map { "q=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }].compactMap { $0 }.joined(separator: "&")
        }
    }

    static func filter(_ req: Request, _ v: inout Validator) -> Filter {
        Filter(state: v.code(req.query[String.self, at: "state"], "state", HouseholdState.self, required: false),
               category: v.code(req.query[String.self, at: "category"], "category", HouseholdCategory.self, required: false),
               q: v.text(req.query[String.self, at: "q"], "q", required: false, max: 50))
    }

    @Sendable func list(req: Request) async throws -> View {
        var v = Validator()
        let filter = Self.filter(req, &v)
        let paging = PageRequest(from: req, &v)
        try v.check()
        let result = try await HouseholdService(request: req).list(state: filter.state, category: filter.category, orgID: nil, q: filter.q, paging: paging)
        let all = req.t("common.all")
        let filters = [
            FormField("state", req.t("field.state"), type: "select", value: nil,
                      choices: FormField.choices(HouseholdState.self, prefix: "assistance.state", selected: filter.state?.rawValue, blank: all, req), errors: [:]),
            FormField("category", req.t("assistance.categoryLabel"), type: "select", value: nil,
                      choices: FormField.choices(HouseholdCategory.self, prefix: "assistance.category", selected: filter.category?.rawValue, blank: all, req), errors: [:]),
        ]
        let rows = result.items.map {
            Row(id: $0.id, fileNumber: $0.fileNumber, name: $0.subjectName, category: req.t("assistance.category.\($0.category.rawValue)"),
                orgName: $0.orgName ?? "", state: req.t("assistance.state.\($0.state.rawValue)"),
                perCapita: MoneyText.yuan(NSDecimalNumber(decimal: $0.perCapitaMonthlyIncomeYuan).doubleValue), migrant: $0.migrantWorker)
        }
        let base = "/console/assistance?" + filter.query + (filter.query.isEmpty ? "" : "&")
        let pages = (result.total + paging.per - 1) / paging.per
        return try await req.view.render("assistance/list", ListPage(
            page: req.pageContext(), total: result.total.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US"))),
            query: filter.query, q: filter.q ?? "", filters: filters, rows: rows,
            prevHref: paging.page > 1 ? base + "page=\(paging.page - 1)" : nil,
            nextHref: paging.page < pages ? base + "page=\(paging.page + 1)" : nil))
    }

    @Sendable func export(req: Request) async throws -> Response {
        var v = Validator()
        let filter = Self.filter(req, &v)
        try v.check()
        let format = try RosterFiles.format(req)
        let service = HouseholdService(request: req)
        try await req.audit.record("household.export", details: ["format": format, "filter": filter.query])
        let header = ["assistance.fileNumber", "field.subjectName", "assistance.categoryLabel", "assistance.union", "field.state", "field.householdSize",
                      "assistance.perCapita", "field.causes"].map { req.t($0) }
        return try await RosterFiles.download(req, name: "households", format: format, header: header, widths: [16, 10, 10, 28, 10, 8, 14, 30]) { add in
            var page = 1
            while true {
                let batch = try await service.list(state: filter.state, category: filter.category, orgID: nil, q: filter.q,
                                                   paging: PageRequest(page: page, per: PageRequest.maxPer))
                for h in batch.items {
                    try add([.text(h.fileNumber), .text(h.subjectName), .text(req.t("assistance.category.\(h.category.rawValue)")), .text(h.orgName ?? ""),
                             .text(req.t("assistance.state.\(h.state.rawValue)")), .text(String(h.householdSize)), .text("\(h.perCapitaMonthlyIncomeYuan)"),
                             .text(h.causes.map { req.t("assistance.cause.\($0)") }.joined(separator: "、"))])
                }
                if batch.items.count < PageRequest.maxPer { break }
                page += 1
            }
        }
    }

    @Sendable func new(req: Request) async throws -> View {
        let scope = try req.scope
        try scope.require(scope.role.filesHouseholds)
        return try await Self.form(req, values: [:], errors: [:], summary: nil)
    }

    /// The form's fields; people rows are m0_name, m0_relation … (the API's members[0].name).
    static func form(_ req: Request, values: [String: String], errors: [String: String], summary: String?) async throws -> View {
        let scope = try req.scope
        let streets = OrgOrder.sorted(try await scope.orgs(on: req.db).filter(\.$kind == .street).sort(\.$path).limit(500).all())
        func f(_ name: String, _ type: String = "text", required: Bool = false, wide: Bool = false, hint: String? = nil,
               choices: [FormField.Choice] = [], label: String? = nil) -> FormField {
            FormField(name, label ?? req.fieldLabel(name), type: type, value: values[name], choices: choices, required: required, wide: wide, hint: hint, errors: errors)
        }
        let blank = req.t("common.optional")
        var fields = [
            FormField("memberKey", req.t("assistance.memberKey"), value: values["memberKey"], wide: true, hint: req.t("assistance.memberKeyHint"), errors: errors),
            f("subjectName"), f("subjectIdNumber"),
            f("orgId", "select", choices: [.init(value: "", label: blank, selected: true)]
                + streets.map { .init(value: String($0.id ?? 0), label: $0.name, selected: values["orgId"] == String($0.id ?? 0)) }),
            f("category", "select", required: true, choices: FormField.choices(HouseholdCategory.self, prefix: "assistance.category", selected: values["category"], req), label: req.t("assistance.categoryLabel")),
            f("categoryReason", hint: req.t("assistance.categoryReasonHint")),
            FormField("causes", req.t("field.causes"), type: "checks", value: nil, choices: HouseholdCause.allCases.map {
                .init(value: $0.rawValue, label: req.t("assistance.cause.\($0.rawValue)"), selected: values["causes_\($0.rawValue)"] != nil)
            }, required: true, wide: true, errors: errors),
            f("migrantWorker", "checkbox"), f("singleParent", "checkbox"),
            f("householdSize", "number", required: true), f("annualIncomeYuan", required: true),
            f("medicalYuan"), f("disabilityYuan"), f("schoolingYuan"), f("housingYuan"), f("otherExpenseYuan"),
            f("housingType", "select", choices: FormField.choices(HousingType.self, prefix: "assistance.housing", selected: values["housingType"], blank: blank, req)),
            f("floorArea"),
        ]
        for n in 0..<personRows {
            func p(_ key: String, _ type: String = "text", choices: [FormField.Choice] = []) -> FormField {
                let name = "m\(n)_\(key)"
                return FormField(name, req.fieldLabel("members[\(n)].\(key)"), type: type, value: values[name], choices: choices, errors: errors)
            }
            fields += [p("name"), p("relation", "select", choices: FormField.choices(HouseholdRelation.self, prefix: "assistance.relation", selected: values["m\(n)_relation"], blank: blank, req)),
                       p("idNumber"), p("schoolGrade", "select", choices: FormField.choices(SchoolGrade.self, prefix: "assistance.grade", selected: values["m\(n)_schoolGrade"], blank: blank, req))]
        }
        return try await req.view.render("outreach/form", FormPage(page: req.pageContext(), title: req.t("assistance.new.title"), action: "/console/assistance/new",
                                                                   cancel: "/console/assistance", summary: summary, fields: fields))
    }

    @Sendable func create(req: Request) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.filesHouseholds)
        let values = try req.formFields()
        do {
            let input = try await Self.input(req, values, scope: scope)
            let h = try await HouseholdService(request: req).create(input)
            return req.redirect(to: "/console/assistance/\(try h.requireID())")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            var errors: [String: String] = [:]
            for issue in error.fields { errors[Self.formName(issue.field)] = errors[Self.formName(issue.field)] ?? req.message(for: issue) }
            if errors["memberId"] != nil { errors["memberKey"] = errors["memberId"] }
            let summary = req.t(error.fields.isEmpty ? (error.detailKey ?? error.titleKey) : "error.invalid.detail", error.args)
            return try await Self.form(req, values: values, errors: errors, summary: summary).encodeResponse(status: error.status, for: req)
        }
    }

    /// members[2].idNumber → m2_idNumber; causes[0] → causes.
    static func formName(_ field: String) -> String {
        if field.hasPrefix("causes[") { return "causes" }
        guard field.hasPrefix("members["), let close = field.firstIndex(of: "]") else { return field }
        let n = field[field.index(field.startIndex, offsetBy: 8)..<close]
        return "m\(n)_" + field[field.index(after: close)...].drop { $0 == "." }
    }

    /// The form as the API's input: the member found by card or ID number in the caller's scope.
    static func input(_ req: Request, _ values: [String: String], scope: Scope) async throws -> HouseholdInput {
        func value(_ key: String) -> String? { values[key].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 } }
        var input = HouseholdInput()
        if let key = value("memberKey") {
            let normal = Normalize.identifier(key)
            var query = scope.records(Member.self, orgField: \.$orgID, on: req.db)
            if let id = try? ResidentID(parsing: normal, today: ShanghaiClock.today(), minimumAge: 0) {
                query = query.filter(\.$idIndex == req.fieldCipher.blindIndex(id.value))
            } else { query = query.filter(\.$cardNumber == normal) }
            guard let member = try await query.first() else {
                throw AppError.invalid([FieldIssue("memberId", "notFound")])
            }
            input.memberId = member.id
        } else {
            input.orgId = value("orgId").flatMap(Int.init)
            input.subjectName = value("subjectName")
            input.subjectIdNumber = value("subjectIdNumber")
        }
        input.category = value("category")
        input.categoryReason = value("categoryReason")
        input.migrantWorker = values["migrantWorker"] == "true"
        input.singleParent = values["singleParent"] == "true"
        input.causes = HouseholdCause.allCases.map(\.rawValue).filter { values["causes_\($0)"] != nil }
        input.householdSize = value("householdSize").map { Int($0) ?? -1 }
        input.annualIncomeYuan = value("annualIncomeYuan").map(YuanInput.init)
        input.medicalYuan = value("medicalYuan").map(YuanInput.init)
        input.disabilityYuan = value("disabilityYuan").map(YuanInput.init)
        input.schoolingYuan = value("schoolingYuan").map(YuanInput.init)
        input.housingYuan = value("housingYuan").map(YuanInput.init)
        input.otherExpenseYuan = value("otherExpenseYuan").map(YuanInput.init)
        input.housingType = value("housingType")
        input.floorArea = value("floorArea").map { Double($0) ?? -1 }
        input.members = (0..<personRows).compactMap { n in
            guard value("m\(n)_name") != nil || value("m\(n)_idNumber") != nil else { return nil }
            return HouseholdInput.Person(name: value("m\(n)_name"), relation: value("m\(n)_relation"), idNumber: value("m\(n)_idNumber"),
                                         schoolGrade: value("m\(n)_schoolGrade"))
        }
        return input
    }
}
