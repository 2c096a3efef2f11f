import Crypto
import Fluent
import Foundation
import NIOCore
import Vapor

/// Files of a record (a home visit's photos, an admission letter, a wage slip): PDF, JPEG or PNG,
/// the type read from the bytes, 10 MB at most. Stored once per content under `GONGHUI_FILES_DIR`
/// (`ab/cd/<sha256>`, written to a private temporary file and renamed into place), and read only
/// through the routes of the record they belong to, under that record's scope; every download is
/// audited. The table row says whose file it is; the same bytes for two records are stored once.
final class Attachment: Model, @unchecked Sendable {
    static let schema = "attachments"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    /// The owning record's kind (`appeal`, `hardshipVisit` …) and id.
    @Field(key: "owner_kind") var ownerKind: String
    @Field(key: "owner_id") var ownerID: Int
    /// The owning record's organisation when uploaded, for scope and audit.
    @Field(key: "org_id") var orgID: Int
    @Field(key: "sha256") var sha256: String
    @Field(key: "size") var size: Int
    @Field(key: "media_type") var mediaType: String
    @Field(key: "file_name") var fileName: String
    @OptionalField(key: "staff_id") var staffID: Int?
    @OptionalField(key: "member_id") var memberID: Int?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

struct CreateAttachments: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Attachment.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("owner_kind", .string, .required)
            .field("owner_id", .int64, .required)
            .field("org_id", .int64, .required, .references(Organization.schema, "id"))
            .field("sha256", .string, .required)
            .field("size", .int64, .required)
            .field("media_type", .string, .required)
            .field("file_name", .string, .required)
            .field("staff_id", .int64)
            .field("member_id", .int64)
            .field("created_at", .datetime)
            .create()
        try await database.createIndex("ix_attachments_owner", on: Attachment.schema, ["owner_kind", "owner_id"])
        try await database.createIndex("ix_attachments_sha", on: Attachment.schema, ["sha256"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Attachment.schema).delete()
    }
}

enum Attachments {
    static let maxBytes = 10 * 1024 * 1024

    /// The media type the first bytes prove, or nil: a name or a Content-Type header proves nothing.
    static func sniff(_ bytes: some Collection<UInt8>) -> String? {
        let head = Array(bytes.prefix(8))
        if head.starts(with: Array("%PDF-".utf8)) { return "application/pdf" }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        return nil
    }

    /// Checks and stores one file for a record; the caller has checked the record's scope.
    static func save(_ body: ByteBuffer, fileName raw: String?, ownerKind: String, ownerID: Int, orgID: Int,
                     staffID: Int?, memberID: Int?, app: Application, on db: any Database) async throws -> Attachment {
        guard body.readableBytes > 0 else { throw AppError.invalid([FieldIssue("file", "required")]) }
        guard body.readableBytes <= maxBytes else {
            throw AppError.invalid([FieldIssue("file", "tooBig", "error.attachment.tooBig", ["max": "10 MB"])])
        }
        let bytes = body.readableBytesView
        guard let mediaType = sniff(bytes) else {
            throw AppError.invalid([FieldIssue("file", "type", "error.attachment.type")])
        }
        let digest = SHA256.hash(data: Data(bytes)).map { String(format: "%02x", $0) }.joined()
        try await app.threadPool.runIfActive {
            try FileStore(root: app.gonghui.filesDirectory).put(Data(bytes), sha256: digest)
        }
        let a = Attachment()
        a.ownerKind = ownerKind
        a.ownerID = ownerID
        a.orgID = orgID
        a.sha256 = digest
        a.size = body.readableBytes
        a.mediaType = mediaType
        a.fileName = displayName(raw, mediaType: mediaType)
        a.staffID = staffID
        a.memberID = memberID
        try await a.create(on: db)
        return a
    }

    /// The file as a download, audited; `X-Content-Type-Options: nosniff` so a browser never runs it.
    static func download(_ a: Attachment, req: Request) async throws -> Response {
        let path = FileStore(root: req.application.gonghui.filesDirectory).path(for: a.sha256)
        guard FileManager.default.fileExists(atPath: path) else { throw AppError.notFound }
        try await req.audit.record("attachment.download", targetType: "attachment", targetID: a.id,
                                   details: ["owner": "\(a.ownerKind):\(a.ownerID)", "file": a.fileName])
        let response = try await req.fileio.asyncStreamFile(at: path)
        response.headers.replaceOrAdd(name: .contentType, value: a.mediaType)
        response.headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        let encoded = a.fileName.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "file"
        response.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"file\"; filename*=UTF-8''\(encoded)")
        response.headers.replaceOrAdd(name: .cacheControl, value: "private, no-store")
        return response
    }

    /// One line, no control or direction characters, the extension its type proves.
    static func displayName(_ raw: String?, mediaType: String) -> String {
        let ext = ["application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"][mediaType] ?? "bin"
        var name = RosterImports.displayName(raw ?? "")
        if name == "upload" { name = "file" }
        if let dot = name.lastIndex(of: "."), !name[name.index(after: dot)...].contains(" ") { name = String(name[..<dot]) }
        return String(name.prefix(150)) + "." + ext
    }
}

/// Files named by their SHA-256 under one folder. Written with mode 0600 to a temporary name in
/// the same folder and renamed, so a reader never sees half a file and a crash leaves no stub.
struct FileStore {
    let root: String

    func path(for sha256: String) -> String {
        let a = sha256.prefix(2), b = sha256.dropFirst(2).prefix(2)
        return "\(root)/\(a)/\(b)/\(sha256)"
    }

    func put(_ data: Data, sha256: String) throws {
        let target = path(for: sha256)
        let fm = FileManager.default
        if fm.fileExists(atPath: target) { return }
        let folder = (target as NSString).deletingLastPathComponent
        try fm.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let temporary = folder + "/.\(sha256).\(UUID().uuidString).part"
        guard fm.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw AppError(.insufficientStorage, "error.attachment.store")
        }
        if rename(temporary, target) != 0 {
            try? fm.removeItem(atPath: temporary)
            if !fm.fileExists(atPath: target) { throw AppError(.insufficientStorage, "error.attachment.store") }
        }
    }
}

struct AttachmentDTO: Content {
    let id: Int
    let fileName: String
    let mediaType: String
    let size: Int
    let sha256: String
    let createdAt: Date?

    init(_ a: Attachment) {
        id = a.id ?? 0
        fileName = a.fileName
        mediaType = a.mediaType
        size = a.size
        sha256 = a.sha256
        createdAt = a.createdAt
    }
}

/// The three routes a record's files need, mounted under the record's own path with its own
/// scope check: `authorize` answers the record's organisation, or throws 404 out of scope.
enum AttachmentRoutes {
    typealias Authorize = @Sendable (Request, Int) async throws -> Organization

    static func mount(_ routes: any RoutesBuilder, path: PathComponent, ownerKind: String, authorize: @escaping Authorize) {
        let files = routes.grouped(path, ":id", "attachments")
        files.on(.POST, body: .collect(maxSize: ByteCount(value: Attachments.maxBytes + 64 * 1024))) { req async throws -> Response in
            let ownerID = try req.idParameter()
            let org = try await authorize(req, ownerID)
            let (body, name) = try upload(req)
            let a = try await req.db.transaction { tx in
                let a = try await Attachments.save(body, fileName: name, ownerKind: ownerKind, ownerID: ownerID, orgID: org.requireID(),
                                                   staffID: req.optionalScope?.staffID, memberID: req.signedInMember?.id, app: req.application, on: tx)
                try await req.audit.record("attachment.upload", targetType: ownerKind, targetID: ownerID, org: org,
                                           details: ["file": a.fileName, "sha256": a.sha256], on: tx)
                return a
            }
            return try await AttachmentDTO(a).encodeResponse(status: .created, for: req)
        }
        files.get { req async throws -> [AttachmentDTO] in
            let ownerID = try req.idParameter()
            _ = try await authorize(req, ownerID)
            return try await Attachment.query(on: req.db).filter(\.$ownerKind == ownerKind).filter(\.$ownerID == ownerID)
                .sort(\.$id).all().map(AttachmentDTO.init)
        }
        files.get(":attachmentId") { req async throws -> Response in
            let ownerID = try req.idParameter()
            _ = try await authorize(req, ownerID)
            let fileID = try req.idParameter("attachmentId")
            guard let a = try await Attachment.find(fileID, on: req.db), a.ownerKind == ownerKind, a.ownerID == ownerID else {
                throw AppError.notFound
            }
            return try await Attachments.download(a, req: req)
        }
    }

    /// The file from a multipart form (field `file`) or the raw body (name in `X-File-Name`).
    static func upload(_ req: Request) throws -> (ByteBuffer, String?) {
        if req.headers.contentType?.type == "multipart" {
            try MultipartGuard.check(req)
            struct Form: Decodable { let file: File }
            guard let form = try? req.content.decode(Form.self) else { throw AppError.invalid([FieldIssue("file", "required")]) }
            return (form.file.data, form.file.filename)
        }
        guard let body = req.body.data else { throw AppError.invalid([FieldIssue("file", "required")]) }
        return (body, req.headers.first(name: "X-File-Name").map { $0.removingPercentEncoding ?? $0 })
    }
}
