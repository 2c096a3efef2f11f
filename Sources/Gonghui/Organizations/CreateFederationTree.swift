import Fluent
import FluentSQL
import Foundation
import GonghuiCore

/// The city federation and its district-level federations, from the divisions CSV
/// (`code,name_zh,name_en`; the code may be empty, as for a development zone).
struct FederationSeed: Sendable {
    struct District: Sendable, Equatable {
        let code: String?
        let name: String
    }

    let cityName: String
    let cityCode: String
    let districts: [District]

    enum LoadError: Error, CustomStringConvertible {
        case unreadable(String)
        case badLine(Int, String)
        var description: String {
            switch self {
            case let .unreadable(path): "cannot read the divisions file \(path)"
            case let .badLine(line, reason): "divisions file line \(line): \(reason)"
            }
        }
    }

    static func load(path: String, cityName: String, cityCode: String) throws -> FederationSeed {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw LoadError.unreadable(path) }
        var districts: [District] = []
        for (index, line) in text.split(whereSeparator: \.isNewline).enumerated() where index > 0 {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count >= 2, !cells[1].isEmpty else { throw LoadError.badLine(index + 1, "expected code,name_zh,name_en") }
            let code = cells[0].isEmpty ? nil : cells[0]
            if let code, (try? DivisionCode(parsing: code)) == nil {
                throw LoadError.badLine(index + 1, "\(code) is not a GB/T 2260 code")
            }
            let name = cells[1].hasSuffix("总工会") ? cells[1] : cells[1] + "总工会"
            districts.append(District(code: code, name: name))
        }
        return FederationSeed(cityName: cityName, cityCode: cityCode, districts: districts)
    }
}

/// The first migration: the tree's table and its top two levels.
struct CreateFederationTree: AsyncMigration {
    let seed: FederationSeed

    func prepare(on database: any Database) async throws {
        // PostgreSQL's default collations ignore '/' when sorting; the subtree range needs bytes.
        let pathType: DatabaseSchema.DataType = database.isPostgres ? .sql(unsafeRaw: "TEXT COLLATE \"C\"") : .string
        try await database.schema(Organization.schema)
            .field("id", .int64, .identifier(auto: true))
            .field("kind", .string, .required)
            .field("name", .string, .required)
            .field("parent_id", .int64, .references(Organization.schema, "id"))
            .field("path", pathType, .required)
            .field("depth", .int, .required)
            .field("division_code", .string)
            .field("credit_code", .string)
            .field("founded_on", .string)
            .field("chair_name", .string)
            .field("contact_name", .string)
            .field("contact_phone", .string)
            .field("address", .string)
            .field("term_ends_on", .string)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "credit_code")
            .create()
        try await database.createIndex("organizations_path", on: Organization.schema, ["path"])
        try await database.createIndex("organizations_parent", on: Organization.schema, ["parent_id", "name"])

        try await database.transaction { db in
            let city = Organization(kind: .city, name: seed.cityName, parentID: nil)
            city.divisionCode = seed.cityCode
            try await OrgTree.insert(city, under: nil, on: db)
            for district in seed.districts {
                let node = Organization(kind: .district, name: district.name, parentID: city.id)
                node.divisionCode = district.code
                try await OrgTree.insert(node, under: city, on: db)
            }
        }
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Organization.schema).delete()
    }
}

extension Database {
    var isPostgres: Bool { (self as? any SQLDatabase)?.dialect.name == "postgresql" }

    var sql: any SQLDatabase {
        guard let sql = self as? any SQLDatabase else { fatalError("Gonghui runs on SQL databases only") }
        return sql
    }

    /// A plain (non-unique) index; Fluent's schema builder only makes unique ones.
    func createIndex(_ name: String, on table: String, _ columns: [String]) async throws {
        var builder = sql.create(index: name).on(table)
        for column in columns { builder = builder.column(column) }
        try await builder.run()
    }
}
