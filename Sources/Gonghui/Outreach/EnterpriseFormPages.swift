import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The enterprise form of the console ledger: a new enterprise and an edit, with every field named on error.
extension EnterprisePages {
    static func input(from form: [String: String]) -> EnterpriseInput {
        var input = EnterpriseInput()
        input.creditCode = form.text("creditCode")
        input.name = form["name"]
        input.type = form.text("type")
        input.size = form.text("size") ?? ""
        input.headcount = form.int("headcount")
        input.industry = form.text("industry") ?? ""
        input.orgId = form.int("orgId")
        input.address = form.text("address")
        input.lat = form.double("lat")
        input.lng = form.double("lng")
        input.influence = form.text("influence")
        input.relations = form.text("relations")
        input.unionStatus = form.text("unionStatus")
        input.contactName = form.text("contactName")
        input.contactPhone = form.text("contactPhone")
        input.present = ["creditCode", "name", "type", "size", "headcount", "industry", "orgId", "address", "lat", "lng",
                         "influence", "relations", "unionStatus", "contactName", "contactPhone"]
        return input
    }

    func fields(_ req: Request, _ f: [String: String], _ errors: [String: String], places: [FormField.Choice]) -> [FormField] {
        [
            FormField("name", req.t("ledger.field.name"), value: f["name"], required: true, errors: errors),
            FormField("creditCode", req.t("field.creditCode"), value: f["creditCode"], required: true, errors: errors),
            FormField("orgId", req.t("ledger.field.orgId"), type: "select", value: nil,
                      choices: places.map { .init(value: $0.value, label: $0.label, selected: $0.value == f["orgId"]) }, required: true, errors: errors),
            FormField("type", req.t("field.type"), type: "select", value: nil,
                      choices: FormField.choices(EnterpriseType.self, prefix: "enterprise.type", selected: f["type"] ?? "privateOwned", req), errors: errors),
            FormField("headcount", req.t("field.headcount"), type: "number", value: f["headcount"], required: true, errors: errors),
            FormField("size", req.t("field.size"), type: "select", value: nil,
                      choices: FormField.choices(EnterpriseSize.self, prefix: "enterprise.size", selected: f["size"], blank: req.t("ledger.sizeAuto"), req), errors: errors),
            FormField("industry", req.t("field.industry"), type: "select", value: nil,
                      choices: FormField.choices(IndustrySection.self, prefix: "industry", selected: f["industry"], blank: "—", req), errors: errors),
            FormField("unionStatus", req.t("field.unionStatus"), type: "select", value: nil,
                      choices: FormField.choices(UnionStatus.self, prefix: "unionStatus", selected: f["unionStatus"] ?? "none", req), errors: errors),
            FormField("influence", req.t("field.influence"), type: "select", value: nil,
                      choices: FormField.choices(SocialInfluence.self, prefix: "influence", selected: f["influence"] ?? "ordinary", req), errors: errors),
            FormField("relations", req.t("field.relations"), type: "select", value: nil,
                      choices: FormField.choices(LabourRelations.self, prefix: "relations", selected: f["relations"] ?? "stable", req), errors: errors),
            FormField("address", req.t("field.address"), value: f["address"], wide: true, errors: errors),
            FormField("lat", req.t("field.lat"), value: f["lat"], hint: "WGS-84", errors: errors),
            FormField("lng", req.t("field.lng"), value: f["lng"], hint: "WGS-84", errors: errors),
            FormField("contactName", req.t("field.contactName"), value: f["contactName"], errors: errors),
            FormField("contactPhone", req.t("field.contactPhone"), type: "tel", value: f["contactPhone"], errors: errors),
        ]
    }

    @Sendable func newForm(req: Request) async throws -> View {
        let scope = try req.scope
        try scope.require(scope.role.keepsLedger)
        let places = try await Self.places(req, selected: nil)
        let defaults = ["orgId": req.query[String.self, at: "orgId"] ?? (places.first.map(\.value) ?? "")]
        return try await req.renderForm(title: req.t("ledger.new"), action: "/console/enterprises/new", cancel: "/console/enterprises") {
            fields(req, defaults, $0, places: places)
        }
    }

    @Sendable func create(req: Request) async throws -> Response {
        let form = try req.formFields()
        do {
            let e = try await EnterpriseService(request: req).create(Self.input(from: form))
            return req.redirect(to: "/console/enterprises/\(e.id ?? 0)?done=created")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            let places = try await Self.places(req, selected: nil)
            return try await req.renderForm(title: req.t("ledger.new"), action: "/console/enterprises/new", cancel: "/console/enterprises", error: error) {
                fields(req, form, $0, places: places)
            }.encodeResponse(status: error.status, for: req)
        }
    }

    @Sendable func editForm(req: Request) async throws -> View {
        let id = try req.idParameter()
        let e = try await EnterpriseService(request: req).find(id)
        try req.scope.require(try req.scope.role.keepsLedger)
        let values: [String: String] = [
            "name": e.name, "creditCode": e.creditCode, "orgId": String(e.orgID), "type": e.type.rawValue, "headcount": String(e.headcount),
            "size": e.size.rawValue, "industry": e.industry?.rawValue ?? "", "unionStatus": e.unionStatus.rawValue, "influence": e.influence.rawValue,
            "relations": e.relations.rawValue, "address": e.address ?? "", "lat": e.lat.map { String($0) } ?? "", "lng": e.lng.map { String($0) } ?? "",
            "contactName": e.contactName ?? "", "contactPhone": e.contactPhone ?? "",
        ]
        let places = try await Self.places(req, selected: e.orgID)
        return try await req.renderForm(title: e.name, action: "/console/enterprises/\(id)/edit", cancel: "/console/enterprises/\(id)") {
            fields(req, values, $0, places: places)
        }
    }

    @Sendable func update(req: Request) async throws -> Response {
        let id = try req.idParameter()
        let form = try req.formFields()
        do {
            _ = try await EnterpriseService(request: req).update(id, Self.input(from: form))
            return req.redirect(to: "/console/enterprises/\(id)?done=saved")
        } catch let error as AppError where error.status == .unprocessableEntity || error.status == .conflict {
            let places = try await Self.places(req, selected: nil)
            return try await req.renderForm(title: form["name"] ?? "", action: "/console/enterprises/\(id)/edit", cancel: "/console/enterprises/\(id)", error: error) {
                fields(req, form, $0, places: places)
            }.encodeResponse(status: error.status, for: req)
        }
    }
}
