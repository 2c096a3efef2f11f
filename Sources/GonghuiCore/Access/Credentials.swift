/// The rules for sign-in names, passwords and lock-out.
public enum Credentials {
    public static let usernameLength = 3...32
    public static let passwordLength = 8...72 // bcrypt reads at most 72 bytes

    public enum UsernameError: Error, Equatable, Sendable { case length, characters }
    public enum PasswordError: Error, Equatable, Sendable { case length, tooSimple }

    /// Lower case ASCII letters, digits and `. _ -`; folded to lower case.
    public static func username(_ raw: String) throws(UsernameError) -> String {
        let text = Normalize.halfWidth(raw).trimmingSpaces().lowercased()
        guard usernameLength.contains(text.count) else { throw .length }
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw .characters
        }
        return text
    }

    /// At least 8 bytes, at most 72, not one repeated character, letters and digits both present.
    public static func checkPassword(_ password: String) throws(PasswordError) {
        guard passwordLength.contains(password.utf8.count) else { throw .length }
        let hasLetter = password.contains { $0.isLetter }
        let hasDigit = password.contains { $0.isNumber }
        guard hasLetter, hasDigit, Set(password).count > 2 else { throw .tooSimple }
    }

    /// Failed sign-ins in a row before an account locks, and for how long.
    public static let maxFailedAttempts = 5
    public static let lockoutSeconds: Double = 15 * 60

    public struct LockState: Equatable, Sendable {
        public var failedAttempts: Int
        public var lockedUntil: Double?
        public init(failedAttempts: Int, lockedUntil: Double?) {
            self.failedAttempts = failedAttempts
            self.lockedUntil = lockedUntil
        }

        public func isLocked(at now: Double) -> Bool { (lockedUntil ?? -.infinity) > now }

        /// The state after one more failure at `now`: the fifth failure locks the account.
        public func failing(at now: Double) -> LockState {
            let count = (lockedUntil.map { $0 <= now } ?? false) ? 1 : failedAttempts + 1
            let lock = count >= maxFailedAttempts ? now + lockoutSeconds : nil
            return LockState(failedAttempts: lock == nil ? count : 0, lockedUntil: lock)
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
