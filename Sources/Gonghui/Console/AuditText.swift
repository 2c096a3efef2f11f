import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The audit log as people read it: who by name, what by its label, the record by its name or
/// number, the details as labelled pairs; the codes stay in the titles and the CSV's own columns.
struct AuditLine: Encodable {
    let time: String
    let actor: String
    let actorUsername: String
    let action: String
    let actionLabel: String
    let target: String
    let ip: String
    let details: String

    /// The lines for a page of events, with the names they mention read in one query per kind.
    static func lines(_ events: [AuditEvent], _ req: Request) async throws -> [AuditLine] {
        let db = req.db
        func ids(_ types: Set<String>) -> Set<Int> {
            Set(events.filter { types.contains($0.targetType ?? "") }.compactMap { $0.targetID.flatMap { Int($0) } })
        }
        var details: [[String: String]] = events.map { decodeDetails($0.details) }
        let orgKeys: Set<String> = ["orgId", "parentId", "unionOrgId", "to", "from"]
        var orgIDs = ids(["org", "organization"])
        for d in details { for (k, v) in d where orgKeys.contains(k) { if let id = Int(v) { orgIDs.insert(id) } } }
        let staffIDs = ids(["staff"]).union(events.compactMap(\.actorID))
        let staff = staffIDs.isEmpty ? [:] : Dictionary(uniqueKeysWithValues: try await StaffUser.query(on: db).filter(\.$id ~~ staffIDs).all()
            .map { ($0.id ?? 0, $0.displayName) })
        let orgs = try await ApplicationService.orgNames(Array(orgIDs), on: db)
        let appealIDs = ids(["appeal"])
        let appeals = appealIDs.isEmpty ? [:] : Dictionary(uniqueKeysWithValues: try await Appeal.query(on: db).filter(\.$id ~~ appealIDs).all()
            .map { ($0.id ?? 0, TrackingNumber.display($0.trackingNumber)) })
        let siteIDs = ids(["site"])
        let sites = siteIDs.isEmpty ? [:] : Dictionary(uniqueKeysWithValues: try await Site.query(on: db).filter(\.$id ~~ siteIDs).all()
            .map { ($0.id ?? 0, $0.name) })
        let firmIDs = ids(["enterprise"])
        let firms = firmIDs.isEmpty ? [:] : Dictionary(uniqueKeysWithValues: try await Enterprise.query(on: db).filter(\.$id ~~ firmIDs).all()
            .map { ($0.id ?? 0, $0.name) })

        return events.enumerated().map { index, event in
            let label = req.t("audit.action.\(event.action)")
            var target = ""
            if let type = event.targetType {
                let typeLabel = req.t("ux.audit.target.\(type)")
                let kind = typeLabel.hasPrefix("ux.audit.target.") ? type : typeLabel
                let id = event.targetID.flatMap { Int($0) }
                let name: String? = switch type {
                case "staff": id.flatMap { staff[$0] }
                case "org", "organization": id.flatMap { orgs[$0]?.name }
                case "appeal": id.flatMap { appeals[$0] }
                case "site": id.flatMap { sites[$0] }
                case "enterprise": id.flatMap { firms[$0] }
                default: nil
                }
                target = kind + " " + (name ?? event.targetID.map { "#" + $0 } ?? "")
            }
            for (k, v) in details[index] where orgKeys.contains(k) {
                if let id = Int(v), let org = orgs[id] { details[index][k] = org.name }
            }
            let pairs = details[index].sorted { $0.key < $1.key }.map { key, value -> String in
                if key.isEmpty { return value }
                let name = req.t("ux.audit.detail.\(key)")
                var shown = value
                if key == "role" { shown = req.t("role.\(value)") }
                return (name.hasPrefix("ux.audit.detail.") ? key : name) + "：" + shown
            }
            return AuditLine(
                time: ShanghaiClock.format(event.occurredAt),
                actor: event.actorID.flatMap { staff[$0] } ?? event.actorUsername ?? req.t("ux.audit.system"),
                actorUsername: event.actorUsername ?? "",
                action: event.action, actionLabel: label.hasPrefix("audit.action.") ? event.action : label,
                target: target.trimmingCharacters(in: .whitespaces), ip: event.ip ?? "", details: pairs.joined(separator: "；"))
        }
    }

    /// The stored JSON object; anything else shown as it is.
    static func decodeDetails(_ text: String?) -> [String: String] {
        guard let text, !text.isEmpty else { return [:] }
        guard let data = text.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return ["": text]
        }
        return object.mapValues { "\($0)" }
    }

    struct Choice: Encodable {
        let value: String
        let label: String
        let selected: Bool
    }

    /// Every action with a label, by label; a value typed in an old link is kept as it was.
    static func actionChoices(_ req: Request, selected: String) -> [Choice] {
        let keys = req.application.localizer.keys(req.lang).filter { $0.hasPrefix("audit.action.") }
        var choices = keys.map { key -> Choice in
            let code = String(key.dropFirst("audit.action.".count))
            return Choice(value: code, label: req.t(key), selected: code == selected)
        }.sorted { ($0.value.split(separator: ".").first ?? "", $0.label) < ($1.value.split(separator: ".").first ?? "", $1.label) }
        if !selected.isEmpty && !choices.contains(where: \.selected) {
            choices.insert(Choice(value: selected, label: selected, selected: true), at: 0)
        }
        return [Choice(value: "", label: req.t("ux.audit.allActions"), selected: selected.isEmpty)] + choices
    }

    static func targetChoices(_ req: Request, selected: String) -> [Choice] {
        let types = ["org", "staff", "member", "memberApplication", "memberTransfer", "importJob", "enterprise", "meeting",
                     "serviceItem", "site", "appeal"]
        var choices = types.map { Choice(value: $0, label: req.t("ux.audit.target.\($0)"), selected: $0 == selected) }
        if !selected.isEmpty && !choices.contains(where: \.selected) {
            choices.insert(Choice(value: selected, label: selected, selected: true), at: 0)
        }
        return [Choice(value: "", label: req.t("ux.audit.allTypes"), selected: selected.isEmpty)] + choices
    }
}
