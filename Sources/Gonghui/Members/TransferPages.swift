import Fluent
import Foundation
import GonghuiCore
import Vapor

/// The console's transfers in and out.
extension MemberPages {
    // MARK: transfers

    struct TransferRow: Encodable {
        let id: Int
        let memberName: String
        let fromOrgName: String
        let toOrgName: String
        let reason: String
        let status: String
        let canDecide: Bool
    }

    struct TransfersPage: Encodable {
        let page: PageContext
        let incoming: Bool
        let rows: [TransferRow]
        let flash: String?
        let alert: String?
    }

    func renderTransfers(_ req: Request, alert: String? = nil, status: HTTPStatus = .ok) async throws -> Response {
        let scope = try req.scope
        try scope.require(scope.role.keepsMembers)
        let incoming = req.query[String.self, at: "direction"] != "outgoing"
        let rows = try await scope.records(MemberTransfer.self, orgField: incoming ? \.$toOrgID : \.$fromOrgID, on: req.db)
            .sort(\.$id, .descending).limit(200).all()
        var items: [TransferRow] = []
        for row in rows {
            let dto = try await Transfers.dto(row, on: req.db)
            items.append(TransferRow(id: dto.id, memberName: dto.memberName, fromOrgName: dto.fromOrgName ?? "", toOrgName: dto.toOrgName ?? "",
                                     reason: dto.reason ?? "", status: req.t("transfer.status.\(dto.status.rawValue)"),
                                     canDecide: incoming && dto.status == .pending))
        }
        return try await req.view.render("members/transfers", TransfersPage(page: req.pageContext(), incoming: incoming, rows: items,
                                                                             flash: req.query[String.self, at: "done"].flatMap { ["accepted", "declined"].contains($0) ? req.t("transfers.done.\($0)") : nil },
                                                                             alert: alert)).encodeResponse(status: status, for: req)
    }

    @Sendable func transfers(req: Request) async throws -> Response {
        try await renderTransfers(req)
    }

    @Sendable func acceptTransfer(req: Request) async throws -> Response {
        do {
            _ = try await Transfers.decide(try req.idParameter(), accept: true, note: nil, on: req)
            return req.redirect(to: "/console/transfers?done=accepted")
        } catch let error as AppError where error.status == .conflict {
            return try await renderTransfers(req, alert: error.detailKey.map { req.t($0) }, status: error.status)
        }
    }

    @Sendable func declineTransfer(req: Request) async throws -> Response {
        let form = try req.content.decode(StatusForm.self)
        do {
            _ = try await Transfers.decide(try req.idParameter(), accept: false, note: form.reason, on: req)
            return req.redirect(to: "/console/transfers?done=declined")
        } catch let error as AppError where error.status == .conflict || error.status == .unprocessableEntity {
            let message = error.fields.isEmpty ? error.detailKey.map { req.t($0) } : error.fields.map { req.message(for: $0) }.joined(separator: "；")
            return try await renderTransfers(req, alert: message, status: error.status)
        }
    }
}
