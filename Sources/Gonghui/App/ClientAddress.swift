import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An address or a block of addresses (`10.0.0.0/8`, `192.168.1.5`, `::1`, `fd00::/8`).
public struct IPRange: Sendable, Equatable, CustomStringConvertible {
    let bytes: [UInt8]
    let prefix: Int
    public let description: String

    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let address = Self.parse(String(parts[0])) else { return nil }
        let bits = address.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard let number = Int(parts[1]), (0...bits).contains(number) else { return nil }
            prefix = number
        }
        bytes = address
        self.prefix = prefix
        description = text.trimmingCharacters(in: .whitespaces)
    }

    public func contains(_ address: [UInt8]) -> Bool {
        guard address.count == bytes.count else { return false }
        var left = prefix
        for (a, b) in zip(address, bytes) {
            guard left > 0 else { return true }
            let mask: UInt8 = left >= 8 ? 0xFF : ~(0xFF >> UInt8(left))
            if a & mask != b & mask { return false }
            left -= 8
        }
        return true
    }

    /// 4 bytes for IPv4 (an IPv4-mapped IPv6 address too), 16 for IPv6; nil for anything else.
    public static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return Array(bytes[12...]) }
        return bytes
    }

    /// The canonical text of an address (so `::ffff:10.0.0.1` and `10.0.0.1` count as one).
    public static func canonical(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var v6 = in6_addr()
        withUnsafeMutableBytes(of: &v6) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        guard inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count)) != nil else { return "" }
        return String(cString: buffer)
    }
}

/// Who sent a request. `X-Forwarded-For` is believed only when the connection comes from one of
/// the configured proxies (`GONGHUI_TRUSTED_PROXIES`), and then only up to the first hop that is
/// not one of them: anyone else could write any address there, forging the audit log's addresses
/// and slipping past every per-address limit.
enum ClientAddress {
    static func resolve(remote: String?, forwardedFor: [String], trusted: [IPRange]) -> String? {
        guard let remote, let remoteBytes = IPRange.parse(remote) else { return remote }
        let direct = IPRange.canonical(remoteBytes)
        guard trusted.contains(where: { $0.contains(remoteBytes) }) else { return direct }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var client = direct
        for hop in hops.reversed() {
            guard let bytes = IPRange.parse(hop) else { break } // a hop that is not an address: trust nothing beyond it
            client = IPRange.canonical(bytes)
            if !trusted.contains(where: { $0.contains(bytes) }) { break }
        }
        return client
    }
}
