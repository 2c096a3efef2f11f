import FluentKit
import Foundation
import SQLKit

/// The data key is checked against the database before anything is served: a server started
/// with another `GONGHUI_DATA_KEY` would not read a single ID number and would file every
/// re-imported member twice (the blind indexes differ). The first start stores a check value (an
/// HMAC of a fixed text under the index key: it reveals nothing of the key); every later start
/// compares. A database from before the check is verified by opening one stored ID number.
enum KeyCheck {
    static let table = "gonghui_key_check"

    static func verify(_ db: any SQLDatabase, cipher: FieldCipher) async throws {
        let expected = cipher.blindIndex("gonghui/key-check/v1")
        if let stored = try? await db.raw("SELECT check_value FROM \(ident: table) WHERE id = 1").first() {
            guard try stored.decode(column: "check_value", as: String.self) == expected else { throw wrongKey }
            return
        }
        try await db.raw("CREATE TABLE IF NOT EXISTS \(ident: table) (id INTEGER PRIMARY KEY, check_value TEXT NOT NULL)").run()
        // No check value yet: a database that already holds ID numbers must open one with this key.
        if let sealed = try await oneStoredIDNumber(db) {
            guard (try? cipher.open(sealed)) != nil else { throw wrongKey }
        }
        try await db.raw("INSERT INTO \(ident: table) (id, check_value) VALUES (1, \(bind: expected)) ON CONFLICT (id) DO NOTHING").run()
        if let row = try await db.raw("SELECT check_value FROM \(ident: table) WHERE id = 1").first(),
           try row.decode(column: "check_value", as: String.self) != expected {
            throw wrongKey // another process stored another key's value in the same instant
        }
    }

    private static func oneStoredIDNumber(_ db: any SQLDatabase) async throws -> Data? {
        do {
            return try await db.raw("SELECT id_cipher FROM members LIMIT 1").first()?.decode(column: "id_cipher", as: Data.self)
        } catch {
            return nil // no members table yet: a new database
        }
    }

    static let wrongKey = GonghuiConfig.Problem(
        variable: "GONGHUI_DATA_KEY",
        message: "is not the key this database was created with: its ID numbers cannot be read and re-imported members would be filed twice. Start with the original key (or restore the database that belongs to this key)."
    )
}
