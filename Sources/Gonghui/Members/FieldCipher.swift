import Crypto
import Foundation
import Vapor

/// Encrypts resident ID numbers at rest and makes their blind index.
///
/// Two keys are derived from `GONGHUI_DATA_KEY` with HKDF-SHA256, one per purpose, so the index
/// key never touches the cipher and vice versa:
/// - AES-256-GCM, a fresh 12-byte nonce per value, the purpose bound as associated data;
///   stored as nonce ‖ ciphertext ‖ tag.
/// - HMAC-SHA256 of the canonical number, the first 16 bytes in hex: equal numbers give equal
///   indexes, so uniqueness and exact search work without decrypting anything.
struct FieldCipher: Sendable {
    private let encryptionKey: SymmetricKey
    /// HMAC keyed once; each index starts from a copy (the key's two blocks are not hashed again).
    private let keyedIndex: HMAC<SHA256>
    private static let purpose = Data("gonghui.resident-id.v1".utf8)

    init(dataKey: [UInt8]) {
        let master = SymmetricKey(data: dataKey)
        encryptionKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data("gonghui/aes-gcm/resident-id".utf8), outputByteCount: 32)
        let indexKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data("gonghui/hmac/resident-id".utf8), outputByteCount: 32)
        keyedIndex = HMAC<SHA256>(key: indexKey)
    }

    func seal(_ plaintext: String) throws -> Data {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: encryptionKey, authenticating: Self.purpose)
        guard let combined = box.combined else { throw Abort(.internalServerError) }
        return combined
    }

    func open(_ sealed: Data) throws -> String {
        let box = try AES.GCM.SealedBox(combined: sealed)
        return String(decoding: try AES.GCM.open(box, using: encryptionKey, authenticating: Self.purpose), as: UTF8.self)
    }

    /// 32 hex characters.
    func blindIndex(_ canonical: String) -> String {
        var hmac = keyedIndex
        var text = canonical
        text.withUTF8 { hmac.update(data: UnsafeRawBufferPointer($0)) }
        let mac = hmac.finalize()
        return mac.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: 32) { out in
                for index in 0..<16 {
                    out[index * 2] = Self.hexDigits[Int(bytes[index] >> 4)]
                    out[index * 2 + 1] = Self.hexDigits[Int(bytes[index] & 0x0F)]
                }
                return 32
            }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

extension Application {
    private struct CipherKey: StorageKey { typealias Value = FieldCipher }

    /// Set by `configure` from `GONGHUI_DATA_KEY`.
    var fieldCipher: FieldCipher {
        get {
            guard let cipher = storage[CipherKey.self] else { fatalError("configure() sets the field cipher") }
            return cipher
        }
        set { storage[CipherKey.self] = newValue }
    }
}

extension Request {
    var fieldCipher: FieldCipher { application.fieldCipher }
}
