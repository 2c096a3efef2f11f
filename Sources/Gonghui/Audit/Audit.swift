import Fluent
import Foundation
import Vapor

/// Writes the audit log. Call it inside the same transaction as the change it records,
/// so a change and its audit line stand or fall together.
struct Audit {
    let request: Request

    /// Records `action` (`org.create`, `auth.login.failed`, `audit.export` …) on a target.
    func record(
        _ action: String,
        targetType: String? = nil,
        targetID: Int? = nil,
        org: Organization? = nil,
        actor: (id: Int, username: String)? = nil,
        details: [String: String] = [:],
        on db: (any Database)? = nil
    ) async throws {
        let scope = request.optionalScope
        try await Self.write(
            action, targetType: targetType, targetID: targetID, org: org,
            actor: actor ?? scope.map { ($0.staffID, $0.username) },
            ip: request.clientAddress, requestID: String(request.id.prefix(64)), details: details,
            on: db ?? request.db)
    }

    /// Writes one event; commands run outside a request call this directly.
    static func write(
        _ action: String, targetType: String?, targetID: Int?, org: Organization?,
        actor: (id: Int, username: String)?, ip: String?, requestID: String?,
        details: [String: String], on db: any Database
    ) async throws {
        let event = AuditEvent()
        event.occurredAt = Date()
        event.actorID = actor?.id
        event.actorUsername = actor?.username
        event.action = action
        event.targetType = targetType
        event.targetID = targetID.map(String.init)
        event.orgID = org?.id
        event.orgPath = org?.path
        event.ip = ip
        event.requestID = requestID
        if !details.isEmpty, let data = try? JSONEncoder().encodeSorted(details) {
            event.details = String(decoding: data, as: UTF8.self)
        }
        try await event.create(on: db)
    }
}

extension Request {
    var audit: Audit { Audit(request: self) }

    /// The peer's address, or, behind a configured proxy, the client it forwarded for (`ClientAddress`).
    var clientAddress: String? {
        ClientAddress.resolve(remote: remoteAddress?.ipAddress, forwardedFor: headers[.xForwardedFor],
                              trusted: application.gonghui.trustedProxies)
    }
}

extension JSONEncoder {
    func encodeSorted<T: Encodable>(_ value: T) throws -> Data {
        outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encode(value)
    }
}
